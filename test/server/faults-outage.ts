/**
 * A PostgreSQL outage: a throwaway cluster (initdb, pg_ctl) stopped (immediate mode: a crash) and
 * started again mid-ingest: 503 with Retry-After meanwhile, recovery without a restart.
 *
 * It needs the PostgreSQL server binaries (EVIDENT_TEST_PG_BIN, else /usr/lib/postgresql/N/bin)
 * and is skipped, with a message, without them.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { describe, test } from 'node:test';
import { type PgCluster, postgresBinDir, startPgCluster, withSchema } from './cluster.ts';
import {
  assertAlive,
  delays,
  finish,
  firstAcks,
  loadUntil,
  sleep,
  startCluster,
  suiteHooks,
  tally,
} from './faults-support.ts';
import { secs } from './load.ts';

export function outageFaults(): void {
  describe('faults: a PostgreSQL outage (a throwaway cluster stopped and restarted)', () => {
    const bin = postgresBinDir();
    const runuser =
      process.getuid?.() !== 0 || existsSync('/usr/sbin/runuser') || existsSync('/sbin/runuser');
    if (!bin || !runuser) {
      test('PostgreSQL outage', (t) => {
        t.skip(
          `needs the PostgreSQL server binaries (initdb, pg_ctl: set EVIDENT_TEST_PG_BIN)${runuser ? '' : ' and runuser (as root)'}: skipped`,
        );
      });
      return;
    }
    let pgc: PgCluster | undefined;
    const suite = suiteHooks(async () => {
      await pgc?.destroy();
    });

    test('stopped (immediate) for 3 s mid-ingest: 503 with Retry-After, never 500; recovers without a restart', {
      timeout: 300_000,
    }, async (t) => {
      const t0 = Date.now();
      pgc = await startPgCluster(bin);
      t.diagnostic(`initdb + start of a cluster on port ${pgc.port}: ${secs(Date.now() - t0)}`);
      const c = await startCluster(suite.dir, withSchema(pgc.url, 'evident_outage'), 'outage.test');
      const { servers } = c;
      const urls = servers.map((s) => s.url);
      const { load, running } = await loadUntil(t, { urls, key: c.ingestKey, seed: 17 }, 0.3);
      const downAt = Date.now() - load.started;
      await pgc.stop('immediate');
      const stoppedAt = Date.now() - load.started;
      await sleep(1500);
      const ready = await Promise.all(
        servers.map((s) =>
          fetch(`${s.url}/readyz`).then(
            async (r) => `${r.status} ${((await r.json()) as { code?: string }).code}`,
            () => 'no answer',
          ),
        ),
      );
      await sleep(1500);
      const startAt = Date.now() - load.started;
      await pgc.start();
      const upAt = Date.now() - load.started;
      const readyAfter = await Promise.all(
        servers.map((s) => fetch(`${s.url}/readyz`).then((r) => r.status)),
      );
      await running;

      // (a margin after the stop: an answer already on its way when the database went down)
      const outage = load.answers.filter((a) => a.t > stoppedAt + 100 && a.t <= startAt);
      const recovered = firstAcks(load, servers, upAt);
      t.diagnostic(
        `stop -m immediate at ${secs(downAt)} (done ${secs(stoppedAt)}), start at ${secs(startAt)} (up ${secs(upAt)}); ` +
          `answers while down: ${JSON.stringify(tally(outage))}`,
      );
      t.diagnostic(`/readyz while down: ${ready.join(', ')}; once up: ${readyAfter.join(', ')}`);
      t.diagnostic(`first 201 after the restart, per process: ${delays(recovered, upAt)}`);
      await assertAlive(servers);
      assert.ok(outage.length > 0, 'requests arrived during the outage');
      assert.ok(
        outage.every((a) => a.status === 503),
        `only 503 while the database is down: ${JSON.stringify(tally(outage))}`,
      );
      assert.deepEqual(
        ready,
        ['503 STORE_BUSY', '503 STORE_BUSY', '503 STORE_BUSY'],
        '/readyz says not ready while the database is down, with the code requests get',
      );
      assert.deepEqual(readyAfter, [200, 200, 200], '/readyz ready again');
      assert.ok(
        recovered.every((a) => a !== undefined),
        'every process recovered by itself',
      );
      await finish(t, c, load, servers);
    });
  });
}
