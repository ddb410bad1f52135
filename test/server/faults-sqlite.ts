/** SQLite: the one process SIGKILLed mid-ingest and restarted on the same file. */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { initLogs, startServe } from './cluster.ts';
import { finish, loadUntil, sleep, suiteHooks, tally } from './faults-support.ts';
import { secs } from './load.ts';

export function sqliteFaults(): void {
  describe('faults: evident serve on SQLite', () => {
    const suite = suiteHooks();

    test('kill -9 mid-ingest, restart on the same file: every acknowledged event is there, verify passes', {
      timeout: 300_000,
    }, async (t) => {
      const { dir } = suite;
      const db = join(dir, 'audit.db');
      const logs = ['default'];
      const { keyFile, ingestKey } = await initLogs(dir, db, logs, 'sqlite.test');
      const first = await startServe({ name: 'serve', cwd: dir, db, key: keyFile });
      const { load, running } = await loadUntil(t, { urls: [first.url], key: ingestKey, logs, seed: 3 }, 0.4);
      const killedAt = Date.now() - load.started;
      first.child.kill('SIGKILL');
      assert.equal((await first.exit).signal, 'SIGKILL');
      await sleep(500); // clients meanwhile meet a closed port
      const second = await startServe({
        name: 'serve (restarted)',
        cwd: dir,
        db,
        key: keyFile,
        port: first.port,
      });
      const upAt = Date.now() - load.started;
      await running;

      const refused = load.answers.filter((a) => a.status === 0);
      const firstOk = load.answers.find((a) => a.t >= upAt && a.status === 201);
      t.diagnostic(
        `killed at ${secs(killedAt)} with ${load.answers.filter((a) => a.t < killedAt && a.status === 201).length} batches acknowledged; ` +
          `restarted at ${secs(upAt)}; first 201 after restart ${firstOk ? secs(firstOk.t - upAt) : 'never'} later`,
      );
      t.diagnostic(`connection errors meanwhile: ${JSON.stringify(tally(refused))}`);
      assert.ok(refused.length > 0, 'the kill was felt by the clients');
      await finish(t, { dir, db, keyFile }, load, [second]);
    });
  });
}
