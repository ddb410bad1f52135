/**
 * evident query never cuts its answer silently: a cut is said on stderr (text) or by a last
 * JSON line {"truncated":true,"next_cursor":N} (--json); --all streams every match.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { buildFixture, type Fixture } from './fixture.ts';
import { ensureBuilt, errorOf, event, jsonLines, lines, removeTempDirs, run, tempDir } from './helpers.ts';

let fx: Fixture;
let big: string;
const BIG = 230;
before(async () => {
  ensureBuilt();
  fx = await buildFixture();
  big = tempDir();
  assert.equal((await run(['init', '--origin', 'test.example/default'], { cwd: big })).code, 0);
  const events = Array.from({ length: BIG }, (_, i) => event(i, { resource: 'p-9' }));
  const r = await run(['append'], { cwd: big, input: lines(events) });
  assert.equal(r.code, 0, r.stderr);
});
after(removeTempDirs);

type Line = { index?: number; truncated?: boolean; next_cursor?: number };
const entries = (ls: Line[]) => ls.filter((l) => l.index !== undefined).map((l) => l.index);

describe('evident query: no silent cut', { concurrency: 4 }, () => {
  it('--json ends a cut answer with {"truncated":true,"next_cursor":N}; the cursor continues it', async () => {
    const r = await run(['query', '--json', '--limit', '5'], { cwd: fx.dir });
    assert.equal(r.code, 0, r.stderr);
    const out = jsonLines<Line>(r.stdout);
    assert.deepEqual(entries(out), [0, 1, 2, 3, 4]);
    assert.deepEqual(out.at(-1), { truncated: true, next_cursor: 5 });
    const next = jsonLines<Line>(
      (await run(['query', '--json', '--limit', '100', '--from-index', '5'], { cwd: fx.dir })).stdout,
    );
    assert.equal(entries(next).length, 15);
    assert.equal(next.at(-1)?.truncated, undefined, 'a complete answer has no trailer');
  });

  it('the default (100) says so when more match: on stderr in text mode', async () => {
    const text = await run(['query', '--resource-id', 'p-9'], { cwd: big });
    assert.equal(text.code, 0, text.stderr);
    assert.equal(text.stdout.trimEnd().split('\n').length, 101, 'header and 100 rows');
    assert.match(text.stderr, /--from-index 100\b/);
    assert.match(text.stderr, /--all/);
    const json = jsonLines<Line>((await run(['query', '--json'], { cwd: big })).stdout);
    assert.equal(entries(json).length, 100);
    assert.deepEqual(json.at(-1), { truncated: true, next_cursor: 100 });
  });

  it('--all streams every match, in text and JSON, and says nothing of a cut', async () => {
    const json = await run(['query', '--json', '--all', '--resource-id', 'p-9'], { cwd: big });
    assert.equal(json.code, 0, json.stderr);
    const out = jsonLines<Line>(json.stdout);
    assert.deepEqual(
      entries(out),
      Array.from({ length: BIG }, (_, i) => i),
    );
    const text = await run(['query', '--all'], { cwd: big });
    assert.equal(text.stdout.trimEnd().split('\n').length, BIG + 1);
    assert.equal(text.stderr, '');
    const both = await run(['query', '--json', '--all', '--limit', '3'], { cwd: big });
    assert.equal(both.code, 2);
    assert.equal(errorOf(both).field, '--all');
  });

  it('--newest-first (and its alias --desc) pages backwards; next_cursor is the next lower index', async () => {
    for (const flag of ['--newest-first', '--desc']) {
      const out = jsonLines<Line>(
        (await run(['query', '--json', flag, '--limit', '3'], { cwd: fx.dir })).stdout,
      );
      assert.deepEqual(entries(out), [19, 18, 17]);
      assert.deepEqual(out.at(-1), { truncated: true, next_cursor: 16 });
    }
    const all = jsonLines<Line>(
      (await run(['query', '--json', '--newest-first', '--all'], { cwd: big })).stdout,
    );
    assert.deepEqual(
      entries(all),
      Array.from({ length: BIG }, (_, i) => BIG - 1 - i),
    );
  });
});
