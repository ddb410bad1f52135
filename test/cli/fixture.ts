/**
 * One log shared by the read-only tests, built once per test file with the real bin:
 * 5 events (a JSON array; a checkpoint of size 5), then 15 more (JSON Lines; size 20), in
 * time order. Event i is about patient_record/p-i from 10.0.0.i unless said otherwise.
 *   0-2   bob is denied 3 times, 30 days ago
 *   3-8   carol reads patient_record/p-shared, 3 days ago
 *   9-14  mallory fails or is denied 6 times, two hours ago
 *   15-19 alice reads, an hour ago
 */
import assert from 'node:assert/strict';
import { copyFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { event, lines, run, tempDir } from './helpers.ts';

export const ORIGIN = 'test.example/default';

export interface Fixture {
  dir: string;
  /** A copy of the log when it held only the first 5 entries (an "old backup"). */
  backup: string;
  vkey: string;
  /** The signed checkpoint of size 20, as printed by `evident checkpoint`. */
  note: string;
}

export async function buildFixture(): Promise<Fixture> {
  const dir = tempDir();
  const init = await run(['init', '--origin', ORIGIN, '--json'], { cwd: dir });
  assert.equal(init.code, 0, init.stderr);
  const vkey = JSON.parse(init.stdout).vkey as string;
  const all = [
    ...[0, 1, 2].map((i) => event(i, { actor: 'bob', result: 'denied', hoursAgo: 720 })),
    ...[3, 4, 5, 6, 7, 8].map((i) => event(i, { actor: 'carol', resource: 'p-shared', hoursAgo: 72 })),
    ...[9, 10, 11, 12, 13, 14].map((i) =>
      event(i, { actor: 'mallory', result: i % 2 ? 'failure' : 'denied', hoursAgo: 2 }),
    ),
    ...[15, 16, 17, 18, 19].map((i) => event(i, { actor: 'alice', hoursAgo: 1 })),
  ];
  const first = await run(['append'], { cwd: dir, input: JSON.stringify(all.slice(0, 5)) });
  assert.equal(first.code, 0, first.stderr);
  const backup = tempDir();
  for (const f of ['evident.db', 'evident.db-wal', 'evident.key']) {
    if (existsSync(join(dir, f))) copyFileSync(join(dir, f), join(backup, f));
  }
  const second = await run(['append'], { cwd: dir, input: lines(all.slice(5)) });
  assert.equal(second.code, 0, second.stderr);
  const cp = await run(['checkpoint'], { cwd: dir });
  assert.equal(cp.code, 0, cp.stderr);
  return { dir, backup, vkey, note: cp.stdout };
}
