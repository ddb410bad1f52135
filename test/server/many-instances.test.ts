/**
 * Many `evident serve` processes on one PostgreSQL database (the issue's requirement): three
 * real processes, three logs, sixteen concurrent clients spreading 50,000 events over every
 * process and log. Sequencing happens in the database (the head row lock), so whatever process
 * answers, each log stays one chain: afterwards every receipt's index holds its event, no event
 * is stored twice, each log's indexes run 0..n-1 once each, and `evident verify` passes.
 *
 * EVIDENT_MANY_EVENTS sets the number of events (default 50,000); EVIDENT_TEST_PG the server.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { ensureBuilt, removeTempDirs, tempDir } from '../cli/helpers.ts';
import { dropSchema, PG_URL, randomName, withPostgres } from '../store/pg-support.ts';
import { initLogs, killAll, type Served, startServe, stopServe, verifyLog, withSchema } from './cluster.ts';
import { checkLogs, Load, secs } from './load.ts';

const TOTAL = Number(process.env['EVIDENT_MANY_EVENTS'] ?? 50_000);
const SERVERS = 3;
const CLIENTS = 16;
const LOGS = ['orders', 'billing', 'access'];

await withPostgres('evident serve: many instances on one PostgreSQL', suite);

function suite(): void {
  describe('evident serve: many instances on one PostgreSQL', () => {
    const schema = randomName('evident_many_');
    const db = withSchema(PG_URL, schema);
    let dir: string;
    const servers: Served[] = [];

    before(() => {
      ensureBuilt();
      dir = tempDir();
    });
    after(async () => {
      killAll();
      await dropSchema(schema);
      removeTempDirs();
    });

    test(`${SERVERS} processes, ${CLIENTS} clients, ${TOTAL} events over ${LOGS.length} logs: one chain per log`, {
      timeout: 600_000,
    }, async (t) => {
      const t0 = Date.now();
      const { keyFile, ingestKey, readKey } = await initLogs(dir, db, LOGS, 'many.test');
      servers.push(
        ...(await Promise.all(
          Array.from({ length: SERVERS }, (_, i) =>
            startServe({ name: `serve-${i}`, cwd: dir, db, key: keyFile }),
          ),
        )),
      );
      const setupMs = Date.now() - t0;

      const load = new Load({
        urls: servers.map((s) => s.url),
        key: ingestKey,
        logs: LOGS,
        total: TOTAL,
        concurrency: CLIENTS,
        batch: [50, 200],
        seed: 7,
      });
      t.after(() => load.stop());
      await load.run();
      const rate = Math.round(TOTAL / (load.elapsedMs / 1000));
      t.diagnostic(`setup (3 x init, 2 keys, ${SERVERS} servers): ${secs(setupMs)}`);
      t.diagnostic(
        `ingest: ${TOTAL} events in ${secs(load.elapsedMs)} (${rate} events/s); planned ${JSON.stringify(load.planned)}`,
      );
      t.diagnostic(
        `answers: ${JSON.stringify(load.summary())}; retried batches ${load.retriedBatches}; duplicate receipts ${load.duplicates}`,
      );

      assert.deepEqual(load.unexpected, [], 'every request was answered 201 (or retried)');
      assert.deepEqual(load.lost, [], 'every batch was acknowledged');
      assert.deepEqual(load.receiptFaults, []);
      assert.equal(load.ackedCount, TOTAL, 'every event acknowledged, each id once');
      const answered = servers.map((s) => s.statuses.get(201) ?? 0);
      assert.ok(
        answered.every((n) => n > 0),
        `every process took part: ${answered}`,
      );

      // What the database holds, read back directly.
      const t1 = Date.now();
      const checks = await checkLogs(db, load);
      t.diagnostic(
        `read back and checked ${checks.map((c) => `${c.log}=${c.size}`).join(', ')} in ${secs(Date.now() - t1)}`,
      );
      for (const c of checks) {
        assert.deepEqual(c.faults, [], c.log);
        assert.equal(c.distinctIds, c.size);
      }
      assert.equal(
        checks.reduce((n, c) => n + c.size - c.own, 0),
        TOTAL,
      );

      // A retry is idempotent whichever process takes it: the original receipts, nothing appended.
      assert.deepEqual(
        await load.replay(12),
        [],
        'replayed batches are answered with their original receipts',
      );
      const again = await checkLogs(db, load);
      assert.deepEqual(
        again.map((c) => [c.size, c.faults]),
        checks.map((c) => [c.size, []]),
        'replays appended nothing',
      );

      // Any process serves any event with its proof (a few, through each process).
      const sample = [...load.acked].filter((_, i) => i % Math.max(1, Math.floor(TOTAL / 12)) === 0);
      for (const [i, [id, ack]] of sample.entries()) {
        const s = servers[i % servers.length]!;
        const res = await fetch(`${s.url}/v1/logs/${ack.log}/events/${id}`, {
          headers: { authorization: `Bearer ${readKey}` },
        });
        assert.equal(res.status, 200, `${s.name} GET ${ack.log}/${id}`);
        const body = (await res.json()) as { entry: { id: string; index: number; hash: string } };
        assert.deepEqual([body.entry.id, body.entry.index, body.entry.hash], [id, ack.index, ack.hash]);
      }

      // Graceful stop: each process commits, signs a last checkpoint and exits 0.
      const exits = await Promise.all(servers.map(stopServe));
      for (const [i, e] of exits.entries())
        assert.deepEqual(e, { code: 0, signal: null }, servers[i]!.tail());
      for (const s of servers) {
        t.diagnostic(
          `${s.name} answered ${JSON.stringify(Object.fromEntries(s.statuses))} (its request log)`,
        );
        assert.deepEqual(s.errors, [], `${s.name} logged no error`);
      }

      const t2 = Date.now();
      const verified = await Promise.all(LOGS.map((log) => verifyLog(dir, db, keyFile, log)));
      t.diagnostic(`evident verify of ${LOGS.length} logs (in parallel): ${secs(Date.now() - t2)}`);
      for (const [i, v] of verified.entries()) {
        assert.equal(v.code, 0, `${LOGS[i]}: ${v.out}`);
        assert.equal(v.report?.ok, true);
        // the entries read over HTTP above are themselves audited (one access event each)
        assert.equal(v.report?.verified_size, v.report?.entries, 'the last checkpoint covers every entry');
      }
      t.diagnostic(`total: ${secs(Date.now() - t0)}`);
    });
  });
}
