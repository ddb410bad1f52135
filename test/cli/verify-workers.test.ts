/**
 * `evident verify --workers N` and `evident verify-bundle --workers N`, run from the built
 * package (dist/, where the worker threads start verify-worker.js): the same report and exit
 * code as on the main thread alone, for an intact log and a tampered one; a bad N is a usage error.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { buildFixture, type Fixture } from './fixture.ts';
import { copyLog, ensureBuilt, errorOf, removeTempDirs, run } from './helpers.ts';

let fx: Fixture;
before(async () => {
  ensureBuilt();
  fx = await buildFixture();
});
after(removeTempDirs);

async function both(cwd: string, args: string[]): Promise<{ code: number; stdout: string }> {
  const one = await run([...args, '--json', '--workers', '1'], { cwd });
  const two = await run([...args, '--json', '--workers', '2'], { cwd });
  assert.ok(one.code === 0 || one.code === 1, one.stderr);
  assert.equal(two.code, one.code, two.stderr);
  assert.deepEqual(JSON.parse(two.stdout), JSON.parse(one.stdout));
  return one;
}

describe('--workers', { concurrency: 2 }, () => {
  it('verify: the same report with 1 and 2 threads, intact and tampered', async () => {
    const cwd = copyLog(fx.dir);
    assert.equal((await both(cwd, ['verify'])).code, 0);
    const db = new Database(join(cwd, 'evident.db'));
    db.exec("DROP TRIGGER entries_no_update; UPDATE entries SET ip_address = '6.6.6.6' WHERE idx = 5;");
    db.close();
    const r = await both(cwd, ['verify']);
    assert.equal(r.code, 1);
    assert.equal(JSON.parse(r.stdout).first_bad_index, 5);
  });

  it('verify-bundle: the same report with 1 and 2 threads', async () => {
    const cwd = copyLog(fx.dir);
    const exported = await run(['export', '--out', 'b.jsonl'], { cwd });
    assert.equal(exported.code, 0, exported.stderr);
    assert.equal((await both(cwd, ['verify-bundle', 'b.jsonl'])).code, 0);
  });

  it('refuses --workers 0 and a word with USAGE', async () => {
    const cwd = copyLog(fx.dir);
    for (const bad of ['0', 'many', '-1']) {
      const r = await run(['verify', '--json', '--workers', bad], { cwd });
      assert.equal(r.code, 2, r.stderr);
      assert.equal(errorOf(r).code, 'USAGE');
    }
  });
});
