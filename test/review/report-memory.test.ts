/**
 * evident report in bounded memory: a log of 200,000 entries (50,000 distinct actors, 300
 * distinct actions) reported by the built CLI in a child process whose V8 heap is capped at 40 MB
 * (--max-old-space-size): holding the entries, or a map of every actor, would not fit. The
 * counts that stay exact (results, entries) must be exact; actions past the cap go under
 * "(other)"; top actors are flagged approximate.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, it } from 'node:test';
import { BIN, ensureBuilt, removeTempDirs, run, tempDir } from '../cli/helpers.ts';

const N = 200_000;
let dir: string;
before(async () => {
  ensureBuilt();
  dir = tempDir();
  await run(['init'], { cwd: dir });
  const start = Date.UTC(2026, 10, 1);
  const out: string[] = [];
  for (let i = 0; i < N; i++) {
    out.push(
      JSON.stringify({
        timestamp: new Date(start + i * 12_000).toISOString(),
        actor_id: `u${i % 50_000}`,
        actor_type: 'user',
        action: `a${i % 300}`,
        resource_type: 'r',
        resource_id: `x${i}`,
        result: i % 10 === 0 ? 'failure' : 'success',
        ip_address: '10.0.0.1',
      }),
    );
  }
  writeFileSync(join(dir, 'events.jsonl'), `${out.join('\n')}\n`);
  const r = await new Promise<number>((resolve) => {
    const c = execFile('sh', ['-c', `node ${JSON.stringify(BIN)} append < events.jsonl > /dev/null`], {
      cwd: dir,
    });
    c.on('exit', (code) => resolve(code ?? -1));
  });
  assert.equal(r, 0);
});
after(removeTempDirs);

it('reports a 200,000-entry log in a 40 MB heap, exact where it says so', { timeout: 300_000 }, async () => {
  const code = await new Promise<{ code: number; stderr: string }>((resolve) => {
    const c = execFile(
      process.execPath,
      [
        '--max-old-space-size=40',
        BIN,
        'report',
        '--period',
        '2026-11',
        '--format',
        'json',
        '--out',
        'r.json',
      ],
      { cwd: dir },
      (_e, _o, stderr) => resolve({ code: c.exitCode ?? -1, stderr }),
    );
  });
  assert.equal(code.code, 0, code.stderr);
  const f = JSON.parse(readFileSync(join(dir, 'r.json'), 'utf8')).figures;
  assert.equal(f.entries, N);
  assert.deepEqual(f.by_result, { success: N - N / 10, failure: N / 10 });
  assert.equal(f.failures.count, N / 10);
  assert.equal(f.failures.latest.length, 100);
  assert.equal(Object.keys(f.by_action).length, 201);
  // The first 200 actions seen are counted one by one; the other 100 go under "(other)".
  assert.ok(f.by_action['(other)'] > 60_000);
  assert.equal(
    Object.values(f.by_action as Record<string, number>).reduce((a, b) => a + b, 0),
    N,
  );
  assert.equal(f.top_actors_exact, false);
  assert.equal(
    f.per_day.reduce((a: number, d: { total: number }) => a + d.total, 0),
    N,
  );
});
