/**
 * `evident witness` on PostgreSQL (--db postgres://...): a real process cosigns, answers 409
 * from a stale old size, and after SIGKILL and restart on the same schema still holds the size
 * it cosigned (its state is the database's, not the process's). Skipped without a PostgreSQL
 * server, except under CI=true, where that fails.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { post, TestLog } from '../server/witness-support.ts';
import { dropSchema, PG_URL, randomName, withPostgres } from '../store/pg-support.ts';
import { BIN, ensureBuilt, removeTempDirs, run, tempDir } from './helpers.ts';

function startWitness(
  cwd: string,
  args: string[],
): Promise<{ child: ChildProcess; url: string; exit: Promise<unknown> }> {
  const env = { ...process.env };
  for (const k of Object.keys(env)) if (k.startsWith('EVIDENT_')) delete env[k];
  const child = spawn(process.execPath, [BIN, 'witness', ...args], {
    cwd,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  const exit = new Promise((r) => child.on('exit', r));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`witness did not start: ${out}`)), 15_000);
    const onData = (d: Buffer) => {
      out += d;
      const m = /witness listening at (http:\/\/127\.0\.0\.1:\d+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve({ child, url: m[1]!, exit });
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`witness exited ${code}: ${out}`));
    });
  });
}

await withPostgres('evident witness on PostgreSQL', () =>
  describe('evident witness on PostgreSQL', () => {
    const schema = randomName('evident_wit_');
    after(async () => {
      await dropSchema(schema);
      removeTempDirs();
    });

    it('cosigns, refuses a stale old size, and keeps its state across SIGKILL', async () => {
      ensureBuilt();
      const dir = tempDir();
      const log = new TestLog('audit.test/pg').grow(12);
      assert.equal(
        (await run(['witness', 'init', '--name', 'witness.test/pg', '--key', 'w.key'], { cwd: dir })).code,
        0,
      );
      writeFileSync(join(dir, 'logs.policy'), `log ${log.vkey}\n`);
      const args = [
        '--config',
        'logs.policy',
        '--key',
        'w.key',
        '--db',
        `${PG_URL}?schema=${schema}`,
        '--port',
        '0',
      ];
      let w = await startWitness(dir, args);
      assert.equal((await post(w.url, log.request(0, 7))).status, 200);
      const stale = await post(w.url, log.request(0, 9));
      assert.deepEqual([stale.status, stale.text], [409, '7\n']);
      w.child.kill('SIGKILL');
      await w.exit;
      w = await startWitness(dir, args);
      try {
        const after = await post(w.url, log.request(0, 12));
        assert.deepEqual([after.status, after.text], [409, '7\n'], 'the state survived the kill');
        assert.equal((await post(w.url, log.request(7, 12))).status, 200);
      } finally {
        w.child.kill('SIGTERM');
        await w.exit;
      }
    });
  }),
);
