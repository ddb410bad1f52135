/** evident erase that would erase nothing is refused (exit 2) unless --record-empty. */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { buildFixture, type Fixture } from './fixture.ts';
import { copyLog, ensureBuilt, errorOf, removeTempDirs, run } from './helpers.ts';

let fx: Fixture;
before(async () => {
  ensureBuilt();
  fx = await buildFixture();
});
after(removeTempDirs);

async function size(cwd: string): Promise<number> {
  const r = await run(['logs', '--json'], { cwd });
  assert.equal(r.code, 0, r.stderr);
  return JSON.parse(r.stdout).size as number;
}

/** A copy of the fixture's log with an erasure key of its own (erasure.key). */
async function withErasureKey(): Promise<string> {
  const cwd = copyLog(fx.dir);
  const k = await run(['key', '--erasure-key', 'erasure.key', '--create'], { cwd });
  assert.equal(k.code, 0, k.stderr);
  return cwd;
}

const ERASE = (...args: string[]) => ['erase', ...args, '--erasure-key', 'erasure.key', '--json'];

describe('evident erase with nothing to erase', { concurrency: 4 }, () => {
  it('a subject with no entries: NOT_FOUND, exit 2, and nothing is appended', async () => {
    const cwd = await withErasureKey();
    for (const subject of [
      ['--actor-id', 'nobody'],
      ['--resource-type', 'patient_record', '--resource-id', 'p-none'],
    ]) {
      const r = await run(ERASE(...subject, '--reason', 'request #7'), { cwd });
      assert.equal(r.code, 2, r.stderr);
      const e = errorOf(r);
      assert.equal(e.code, 'NOT_FOUND');
      assert.equal(e['field'], '--record-empty');
      assert.equal(e['entries'], 0);
    }
    assert.equal(await size(cwd), 20);
  });

  it('a subject already erased: refused the second time; --record-empty records it anyway', async () => {
    const cwd = await withErasureKey();
    const first = await run(ERASE('--actor-id', 'alice', '--reason', 'request #8'), { cwd });
    assert.equal(first.code, 0, first.stderr);
    assert.equal(JSON.parse(first.stdout).values, 5);
    const again = await run(ERASE('--actor-id', 'alice', '--reason', 'request #8'), { cwd });
    assert.equal(again.code, 2);
    assert.equal(errorOf(again)['entries'], 5, 'the entries matched, but hold no value left to erase');
    assert.equal(await size(cwd), 21);
    const recorded = await run(
      ERASE('--actor-id', 'nobody', '--reason', 'request #9: nothing held', '--record-empty'),
      { cwd },
    );
    assert.equal(recorded.code, 0, recorded.stderr);
    assert.equal(JSON.parse(recorded.stdout).values, 0);
    assert.equal(await size(cwd), 22);
    const verify = await run(['verify', '--json'], { cwd });
    assert.equal(verify.code, 0, verify.stdout);
  });
});
