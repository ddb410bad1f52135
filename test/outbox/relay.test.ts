/**
 * The relay on a real PostgreSQL outbox, into a ledger on a real SQLite file and on PostgreSQL:
 * exactly the committed events, in order, once each; late commits of lower seqs; rejected rows
 * set aside with their reason; two relays at once; pushback and a lost connection retried;
 * `evident verify` passes at the end.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import pg from 'pg';
import { ErrorCode } from '../../src/core/errors.ts';
import { Ledger } from '../../src/ledger/ledger.ts';
import { createLog } from '../../src/ledger/open.ts';
import { recordInTransaction } from '../../src/outbox/record.ts';
import { type OutboxRelay, type RelayReport, startOutboxRelay } from '../../src/outbox/relay.ts';
import { requeueRejected } from '../../src/outbox/requeue.ts';
import { openPostgresStore } from '../../src/store/postgres/store.ts';
import { ensureBuilt } from '../cli/helpers.ts';
import { verifyLog } from '../server/cluster.ts';
import { admin, PG_URL, postgresUnreachable, probePostgres } from '../store/pg-support.ts';
import {
  type AppDb,
  appDb,
  assertExactly,
  type LedgerKind,
  type LedgerSide,
  ledgerSide,
  patientEvent,
  updatePatient,
} from './support.ts';

const unreachable = await probePostgres();
if (unreachable !== undefined) postgresUnreachable('outbox relay', unreachable);
else for (const kind of ['sqlite', 'postgres'] as const) suite(kind);

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until(what: string, cond: () => Promise<boolean>, ms = 20_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) assert.fail(`timed out waiting for ${what}`);
    await sleep(25);
  }
}

function suite(kind: LedgerKind): void {
  describe(`relay into a ledger on ${kind}`, () => {
    let app: AppDb;
    let side: LedgerSide;
    const relays: OutboxRelay[] = [];
    /** Every id committed to the outbox for each log, in commit order. */
    const expected = new Map<string, string[]>([
      ['default', []],
      ['billing', []],
    ]);

    const start = async (
      o: {
        batchSize?: number;
        reports?: RelayReport[];
        onReport?: (r: RelayReport) => void;
        ledgerFor?: (log: string) => Promise<Ledger>;
      } = {},
    ) => {
      const r = await startOutboxRelay({
        pool: app.pool,
        schema: app.schema,
        ledgerFor: o.ledgerFor ?? side.ledgerFor,
        pollIntervalMs: 200,
        minBackoffMs: 20,
        maxBackoffMs: 200,
        ...(o.batchSize ? { batchSize: o.batchSize } : {}),
        onReport: (x: RelayReport) => {
          o.reports?.push(x);
          o.onReport?.(x);
        },
      });
      relays.push(r);
      return r;
    };
    const ids = async (log: string) => (await side.entries(log)).map((e) => e['id'] as string);

    before(async () => {
      ensureBuilt();
      app = await appDb();
      side = await ledgerSide(kind);
    });
    after(async () => {
      for (const r of relays) await r.stop();
      await side.close();
      await app.close();
    });

    test('20 concurrent transactions, some rolled back: exactly the committed events, with their fields', async () => {
      const relay = await start();
      const outcomes = await Promise.all(
        Array.from({ length: 20 }, (_, i) => updatePatient(app, i, { fail: i % 4 === 1 })),
      );
      const committed = outcomes.filter((x): x is string => x !== undefined);
      assert.equal(committed.length, 15);
      expected.get('default')!.push(...committed);
      await relay.drained();
      assert.equal(await app.outboxCount(), 0);
      const entries = await side.entries('default');
      assertExactly(entries, committed);
      const e3 = entries.find((e) => e['resource_id'] === 'p-3')!;
      assert.equal(e3['actor_id'], 'nurse-3');
      assert.equal(e3['action'], 'update');
      assert.equal(e3['ip_address'], '10.1.3.9');
      assert.deepEqual(e3['new_values'], { name: 'Patient 3' });
      assert.equal(relay.stats.moved, 15);
      await relay.stop();
      // the order of the log is the order of commit: read it back for the later checks
      expected.set('default', await ids('default'));
    });

    test('a row with a lower seq that commits after higher ones were relayed is relayed too', async () => {
      const relay = await start();
      const late = await app.pool.connect();
      let lateId: string;
      try {
        await late.query('BEGIN');
        lateId = (await recordInTransaction(late, patientEvent(50), { log: 'default', schema: app.schema }))
          .id;
        const early = (await updatePatient(app, 51))!;
        await relay.drained();
        assert.deepEqual((await ids('default')).slice(-1), [early]);
        await late.query('COMMIT');
        expected.get('default')!.push(early, lateId);
      } finally {
        late.release();
      }
      await relay.drained();
      assert.deepEqual((await ids('default')).slice(-2), expected.get('default')!.slice(-2));
      assert.equal(await app.outboxCount(), 0);
      await relay.stop();
    });

    test('a resent row (same event) is appended once: the log answers with the original receipt', async () => {
      const relay = await start();
      const client = await app.pool.connect();
      try {
        await client.query('BEGIN');
        const ev = patientEvent(60, {
          id: '01890a5d-ac96-774b-bcce-b302099a8060',
          timestamp: new Date().toISOString(),
        });
        await recordInTransaction(client, ev, { log: 'default', schema: app.schema });
        await recordInTransaction(client, ev, { log: 'default', schema: app.schema });
        await client.query('COMMIT');
        expected.get('default')!.push(ev['id'] as string);
      } finally {
        client.release();
      }
      await relay.drained();
      assert.equal(relay.stats.moved, 2);
      assert.equal(relay.stats.duplicates, 1);
      assert.deepEqual(await ids('default'), expected.get('default'));
      await relay.stop();
    });

    test('rows the log refuses for good go to the rejected table with their code; the rest pass, in order', async () => {
      const reports: RelayReport[] = [];
      const relay = await start({ reports });
      const good: string[] = [];
      const client = await app.pool.connect();
      try {
        await client.query('BEGIN');
        const add = async (i: number, o: Record<string, unknown> = {}, log = 'default') =>
          (await recordInTransaction(client, patientEvent(i, o), { log, schema: app.schema })).id;
        good.push(await add(70));
        await client.query(
          `INSERT INTO "${app.schema}".evident_outbox (log, event) VALUES ('default', '{not json')`,
        );
        good.push(await add(71));
        // bypassing recordInTransaction: an event the log's validator refuses
        await client.query(`INSERT INTO "${app.schema}".evident_outbox (log, event) VALUES ('default', $1)`, [
          JSON.stringify({ ...patientEvent(72), result: 'maybe' }),
        ]);
        const taken = good[0]!;
        good.push(await add(73));
        // the same id with other content: ID_CONFLICT
        await add(74, { id: taken });
        await add(75, {}, 'nosuchlog');
        good.push(await add(76, {}, 'billing'));
        good.push(await add(77));
        await client.query('COMMIT');
      } finally {
        client.release();
      }
      await relay.drained();
      assert.equal(await app.outboxCount(), 0);
      const rejected = await app.rejected();
      assert.deepEqual(
        rejected.map((r) => [r.log, r.code]),
        [
          ['default', ErrorCode.JSON_INVALID],
          ['default', ErrorCode.VALIDATION_FAILED],
          ['default', ErrorCode.ID_CONFLICT],
          ['nosuchlog', ErrorCode.NOT_FOUND],
        ],
      );
      const issues = JSON.parse(rejected[1]!.detail).issues;
      assert.deepEqual(
        issues.map((x: { field: string; rule: string }) => [x.field, x.rule]),
        [['result', 'enum']],
      );
      assert.equal(relay.stats.rejected, 4);
      assert.equal(reports.filter((r) => r.type === 'rejected').length, 4);
      const batch = reports.find((r) => r.type === 'batch');
      assert.ok(batch && batch.moved + batch.rejected > 0 && batch.oldest_ms >= 0 && batch.ms >= 0);
      const defaults = good.filter((_, i) => i !== 3);
      expected.get('default')!.push(...defaults);
      expected.get('billing')!.push(good[3]!);
      assert.deepEqual(await ids('default'), expected.get('default'));
      assert.deepEqual(await ids('billing'), expected.get('billing'));

      // the unknown log is created: its row goes back in the queue and through
      await createLog(side.store, { name: 'nosuchlog', origin: 'outbox.test/nosuchlog', signer: side.ring });
      const back = await requeueRejected(app.pool, [rejected[3]!.seq], { schema: app.schema });
      assert.equal(back.length, 1);
      await relay.drained();
      assert.equal((await ids('nosuchlog')).length, 1);
      assert.equal((await app.rejected()).length, 3);
      await relay.stop();
    });

    test('two relays at once: one active, one standby; no duplicate, no reorder; the standby takes over', async () => {
      const reports: [RelayReport[], RelayReport[]] = [[], []];
      const r1 = await start({ batchSize: 7, reports: reports[0] });
      const r2 = await start({ batchSize: 7, reports: reports[1] });
      const produced: string[] = [];
      let stopped = false;
      const producer = (async () => {
        for (let i = 0; i < 150; i++) {
          produced.push((await updatePatient(app, 1000 + i))!);
          if (i === 75) {
            // stop whichever is active; the other must carry on
            const active = reports[0].some((r) => r.type === 'active') ? r1 : r2;
            await active.stop();
            stopped = true;
          }
        }
      })();
      await producer;
      assert.ok(stopped);
      await until('the outbox to empty', async () => (await app.outboxCount()) === 0);
      expected.get('default')!.push(...produced);
      assert.deepEqual(await ids('default'), expected.get('default'));
      const roles = reports.map((rs) =>
        rs.filter((r) => r.type === 'active' || r.type === 'standby').map((r) => r.type),
      );
      assert.ok(roles.flat().includes('standby'), `a relay waited as standby: ${JSON.stringify(roles)}`);
      await r1.stop();
      await r2.stop();
      assert.equal(r1.stats.duplicates + r2.stats.duplicates, 0);
      assert.equal(r1.stats.moved + r2.stats.moved, 150);
    });

    test('a lost connection is retried: the relay reconnects and nothing is lost or repeated', async () => {
      const reports: RelayReport[] = [];
      const relay = await startOutboxRelay({
        connectionString: `${app.url}&application_name=relay_${app.schema}`,
        ledgerFor: side.ledgerFor,
        pollIntervalMs: 200,
        minBackoffMs: 20,
        maxBackoffMs: 200,
        onReport: (r) => reports.push(r),
      });
      relays.push(relay);
      const first = (await updatePatient(app, 2000))!;
      await relay.drained();
      const killed = await admin(
        async (c) =>
          (
            await c.query(
              `SELECT pg_terminate_backend(pid) AS ok FROM pg_stat_activity
                WHERE application_name = $1`,
              [`relay_${app.schema}`],
            )
          ).rows.length,
      );
      assert.equal(killed, 1);
      const second = (await updatePatient(app, 2001))!;
      await until('the second event', async () => (await ids('default')).includes(second));
      expected.get('default')!.push(first, second);
      assert.deepEqual(await ids('default'), expected.get('default'));
      await relay.stop();
    });

    if (kind === 'postgres') {
      test('pushback from the log (STORE_BUSY) is retried with backoff until the log takes the events', async () => {
        // a store whose writers give up after 100 ms waiting for a log's head lock
        const store = await openPostgresStore(side.db, { lockTimeoutMs: 100 });
        const ledger = await Ledger.open({ store, log: 'billing', signer: side.ring });
        const reports: RelayReport[] = [];
        const relay = await start({ reports, ledgerFor: async () => ledger });
        const c = new pg.Client({ connectionString: PG_URL });
        await c.connect();
        await c.query('BEGIN');
        await c.query(`SELECT size FROM "${store.schema}".logs WHERE name = 'billing' FOR UPDATE`);
        const id = (await updatePatient(app, 3000, { log: 'billing' }))!;
        await until('a STORE_BUSY retry', async () =>
          reports.some((r) => r.type === 'retry' && r.code === ErrorCode.STORE_BUSY),
        );
        assert.equal(await app.outboxCount(), 1, 'the row waits in the outbox');
        await c.query('COMMIT');
        await c.end();
        await relay.drained();
        expected.get('billing')!.push(id);
        assert.deepEqual(await ids('billing'), expected.get('billing'));
        await relay.stop();
        await ledger.close();
      });
    }

    test('stop() in the middle of a backlog finishes the pass in flight: each event in the log or queued, never both', async () => {
      const client = await app.pool.connect();
      const queued: string[] = [];
      try {
        await client.query('BEGIN');
        for (let i = 0; i < 1000; i++) {
          queued.push(
            (await recordInTransaction(client, patientEvent(i), { log: 'billing', schema: app.schema })).id,
          );
        }
        await client.query('COMMIT');
      } finally {
        client.release();
      }
      let stopping: Promise<void> | undefined;
      let relay: OutboxRelay | undefined;
      relay = await start({
        batchSize: 100,
        onReport: (r) => {
          if (r.type === 'batch') stopping ??= relay?.stop();
        },
      });
      await until('the stop', async () => stopping !== undefined);
      await stopping;
      const left = await app.outboxCount();
      const inLog = (await ids('billing')).filter((id) => queued.includes(id));
      assert.ok(left > 0 && left < 1000, `moved ${1000 - left} of 1000 before stopping`);
      assert.equal(inLog.length + left, 1000);
      assert.deepEqual(inLog, queued.slice(0, inLog.length));
      // the rest, by a new relay
      const next = await start();
      await next.drained();
      expected.get('billing')!.push(...queued);
      assert.deepEqual(await ids('billing'), expected.get('billing'));
      await next.stop();
    });

    test('throughput, and evident verify passes on every log at the end', async (t) => {
      const n = 5000;
      const client = await app.pool.connect();
      const fresh: string[] = [];
      try {
        await client.query('BEGIN');
        for (let i = 0; i < n; i++) {
          fresh.push(
            (await recordInTransaction(client, patientEvent(i), { log: 'default', schema: app.schema })).id,
          );
        }
        await client.query('COMMIT');
      } finally {
        client.release();
      }
      const t0 = performance.now();
      const relay = await start();
      await relay.drained();
      const s = (performance.now() - t0) / 1000;
      t.diagnostic(`relayed ${n} events into ${kind} in ${s.toFixed(2)} s: ${Math.round(n / s)} events/s`);
      expected.get('default')!.push(...fresh);
      const got = await ids('default');
      const want = expected.get('default')!;
      const at = got.findIndex((x, i) => x !== want[i]);
      assert.equal(
        at,
        -1,
        `first difference at ${at} of ${got.length} (want ${want.length}): ${got.slice(at - 2, at + 3)} vs ${want.slice(at - 2, at + 3)}`,
      );
      assert.deepEqual(got, want);
      await relay.stop();
      await side.closeLedgers();
      for (const log of ['default', 'billing', 'nosuchlog']) {
        const v = await verifyLog(side.dir, side.db, side.keyPath, log);
        assert.equal(v.code, 0, v.out);
        assert.equal(v.report?.ok, true);
      }
      const sizes = await Promise.all(['default', 'billing'].map(async (l) => (await ids(l)).length));
      assert.deepEqual(sizes, [expected.get('default')!.length, expected.get('billing')!.length]);
    });
  });
}
