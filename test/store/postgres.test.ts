/**
 * What only PostgreSQL has: append-only rules in the database (triggers, a generated time
 * column, the service role's privileges), tampering by the owner with the triggers disabled
 * (which verification must name), and the plans of the three compliance queries.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type pg from 'pg';
import { FaultKind, type VerifyReport } from '../../src/core/verify/report.ts';
import { createKeyFile, type KeyRing, loadKeyRing } from '../../src/ledger/keyfile.ts';
import { Ledger } from '../../src/ledger/ledger.ts';
import { createLog } from '../../src/ledger/open.ts';
import { createApiKey } from '../../src/server/api-keys.ts';
import { openStore } from '../../src/store/open.ts';
import { RuleViolation } from '../../src/store/postgres/errors.ts';
import { openPostgresStore, type PostgresStore } from '../../src/store/postgres/store.ts';
import { ERASURE_KEY, fullEvent, summary } from '../ledger/support.ts';
import { admin, dropSchema, PG_URL, randomName, urlAs, withPostgres } from './pg-support.ts';

await withPostgres('PostgreSQL store', suite);

/** The SQLSTATE a statement fails with (it must fail). */
async function refused(c: pg.ClientBase, sql: string, values: unknown[] = []): Promise<string> {
  try {
    await c.query('SAVEPOINT probe');
    await c.query(sql, values);
  } catch (e) {
    await c.query('ROLLBACK TO SAVEPOINT probe');
    return (e as { code: string }).code;
  }
  return assert.fail(`not refused: ${sql}`);
}

function suite(): void {
  const schema = randomName('evident_pgtest_');
  const s = `"${schema}"`;
  let store: PostgresStore;
  let ring: KeyRing;
  let dir: string;

  before(async () => {
    store = (await openStore(`${PG_URL}?schema=${schema}`)) as PostgresStore;
    assert.equal(store.kind, 'postgres', 'openStore dispatches postgres:// URLs');
    assert.equal(store.schema, schema);
    dir = mkdtempSync(join(tmpdir(), 'evident-pg-'));
    await createKeyFile(join(dir, 'signing.key'), 'pg.test/default');
    ring = await loadKeyRing(join(dir, 'signing.key'));
  });

  after(async () => {
    await store.close();
    await dropSchema(schema);
    rmSync(dir, { recursive: true, force: true });
  });

  /** A log of n full events (erasable values included), checkpointed every 10. */
  async function seeded(name: string, n: number, on: PostgresStore = store): Promise<Ledger> {
    await createLog(on, { name, origin: `pg.test/${name}`, signer: ring });
    const l = await Ledger.open({
      store: on,
      log: name,
      signer: ring,
      ownsStore: false,
      checkpointIntervalMs: 3_600_000,
    });
    for (let i = 0; i < n; i += 10) {
      await l.appendMany(Array.from({ length: Math.min(10, n - i) }, (_, k) => fullEvent(i + k)));
      await l.checkpoint();
    }
    return l;
  }

  /** Runs fn as the owner in a transaction with every trigger of the table disabled; commits. */
  async function withoutTriggers(table: string, fn: (c: pg.Client) => Promise<unknown>): Promise<void> {
    await admin(async (c) => {
      await c.query('BEGIN');
      await c.query(`ALTER TABLE ${s}.${table} DISABLE TRIGGER ALL`);
      await fn(c);
      await c.query(`ALTER TABLE ${s}.${table} ENABLE TRIGGER ALL`);
      await c.query('COMMIT');
    });
  }

  function detected(r: VerifyReport, kind: string, index: number): void {
    assert.equal(r.ok, false, summary(r));
    assert.deepEqual([r.faults[0]!.kind, r.faults[0]!.index], [kind, index], summary(r));
  }

  describe('append-only in the database', () => {
    let l: Ledger;
    before(async () => {
      l = await seeded('rules', 20);
      await l.erase({ erasureKey: ERASURE_KEY, actor_id: 'user-1', reason: 'test' });
      await createApiKey(store, { logs: ['*'], scopes: ['read'] });
    });

    test('triggers refuse UPDATE, DELETE and TRUNCATE, even to the owner', async () => {
      const id = l.log.id;
      await admin(async (c) => {
        await c.query('BEGIN');
        for (const t of [
          'entries',
          'tree_nodes',
          'checkpoints',
          'erasures',
          'pruned_ranges',
          'pruned_leaves',
        ]) {
          assert.equal(
            await refused(c, `UPDATE ${s}.${t} SET log_id = log_id`),
            RuleViolation.APPEND_ONLY,
            t,
          );
          // entries leave only through a pruned range named by a prune event (migration 6)
          assert.equal(
            await refused(c, `DELETE FROM ${s}.${t} WHERE log_id = $1`, [id]),
            t === 'entries' ? RuleViolation.PRUNE_UNRECORDED : RuleViolation.APPEND_ONLY,
            t,
          );
          assert.equal(await refused(c, `TRUNCATE ${s}.${t}`), RuleViolation.APPEND_ONLY, t);
        }
        const secrets = `${s}.entry_secrets`;
        assert.equal(await refused(c, `UPDATE ${secrets} SET value = '{}'`), RuleViolation.APPEND_ONLY);
        assert.equal(await refused(c, `TRUNCATE ${secrets}`), RuleViolation.APPEND_ONLY);
        // a value goes only with a recorded erasure, and an erasure names an erasure event
        assert.equal(
          await refused(c, `DELETE FROM ${secrets} WHERE log_id = $1 AND idx = 0`, [id]),
          RuleViolation.ERASURE_UNRECORDED,
        );
        assert.equal(
          await refused(c, `INSERT INTO ${s}.erasures VALUES ($1, 0, 'old_values', 1)`, [id]),
          RuleViolation.ERASURE_UNRECORDED,
        );
        // the head only grows, and a log keeps its name, origin and key
        const logs = `${s}.logs`;
        assert.equal(await refused(c, `UPDATE ${logs} SET size = size - 1 WHERE log_id = $1`, [id]), 'EV002');
        assert.equal(await refused(c, `UPDATE ${logs} SET vkey = 'x' WHERE log_id = $1`, [id]), 'EV002');
        assert.equal(await refused(c, `DELETE FROM ${logs}`), RuleViolation.APPEND_ONLY);
        assert.equal(await refused(c, `TRUNCATE ${logs}`), RuleViolation.APPEND_ONLY);
        // API keys: revoked once, never changed otherwise, never deleted
        const keys = `${s}.api_keys`;
        assert.equal(
          await refused(c, `UPDATE ${keys} SET scopes = '{admin}'`),
          RuleViolation.API_KEY_REVOKE_ONLY,
        );
        assert.equal(
          await refused(c, `UPDATE ${keys} SET revoked_at = 'y', logs = '{x}'`),
          RuleViolation.API_KEY_REVOKE_ONLY,
        );
        assert.equal(await refused(c, `DELETE FROM ${keys}`), RuleViolation.APPEND_ONLY);
        await c.query('ROLLBACK');
      });
      assert.ok((await l.verify()).ok);
    });

    test('the time column is generated from the hashed timestamp: never written apart from it', async () => {
      await admin(async (c) => {
        await c.query('BEGIN');
        await c.query(`ALTER TABLE ${s}.entries DISABLE TRIGGER ALL`);
        // 428C9: generated_always, whatever the triggers
        assert.equal(await refused(c, `UPDATE ${s}.entries SET ts = now()`), '428C9');
        const r = await c.query(
          `UPDATE ${s}.entries SET "timestamp" = '2020-02-29T01:02:03.456789999Z' WHERE log_id = $1 AND idx = 3
             RETURNING extract(epoch FROM ts)::float8 AS s`,
          [l.log.id],
        );
        assert.equal(r.rows[0].s, Date.UTC(2020, 1, 29, 1, 2, 3) / 1000 + 0.456789, 'ts moved with the text');
        await c.query('ROLLBACK');
      });
    });
  });

  describe('tampering by the owner, triggers disabled, is found by verify()', () => {
    const TARGET = 17;
    let l: Ledger;
    before(async () => {
      l = await seeded('tamper', 30);
      const r = await l.verify();
      assert.ok(r.ok, summary(r));
    });

    const edits: Record<string, string> = {
      actor_id: 'mallory',
      action: 'delete',
      result: 'denied',
      ip_address: '10.9.9.9',
      reason: 'nothing to see',
      metadata: '{"request":0}',
      timestamp: '2020-01-01T00:00:00.000Z',
      received_at: '2020-01-01T00:00:00.000Z',
      hash: 'f'.repeat(64),
    };
    for (const [column, value] of Object.entries(edits)) {
      test(`edit ${column} of entry ${TARGET} → entry_modified at ${TARGET}`, async () => {
        let original: unknown;
        await withoutTriggers('entries', async (c) => {
          const q = `UPDATE ${s}.entries SET "${column}" = $3 WHERE log_id = $1 AND idx = $2`;
          original = (
            await c.query(`SELECT "${column}" AS v FROM ${s}.entries WHERE log_id = $1 AND idx = $2`, [
              l.log.id,
              TARGET,
            ])
          ).rows[0].v;
          assert.notEqual(original, value);
          assert.equal((await c.query(q, [l.log.id, TARGET, value])).rowCount, 1);
        });
        // hash edits break the chain link of the next entry as well; the first fault is here
        detected(await l.verify(), FaultKind.ENTRY_MODIFIED, TARGET);
        await withoutTriggers('entries', (c) =>
          c.query(`UPDATE ${s}.entries SET "${column}" = $3 WHERE log_id = $1 AND idx = $2`, [
            l.log.id,
            TARGET,
            original,
          ]),
        );
        assert.ok((await l.verify()).ok, 'restored');
      });
    }

    test(`edit an erasable value (entry_secrets) → entry_modified at ${TARGET}`, async () => {
      await withoutTriggers('entry_secrets', (c) =>
        c.query(`UPDATE ${s}.entry_secrets SET value = '{"name":"forged"}' WHERE log_id = $1 AND idx = $2`, [
          l.log.id,
          TARGET,
        ]),
      );
      detected(await l.verify(), FaultKind.ENTRY_MODIFIED, TARGET);
    });

    test(`delete entry ${TARGET} → entry_missing at ${TARGET}`, async () => {
      const l2 = await seeded('tamper-delete', 30);
      await withoutTriggers('entries', (c) =>
        c.query(`DELETE FROM ${s}.entries WHERE log_id = $1 AND idx = $2`, [l2.log.id, TARGET]),
      );
      detected(await l2.verify(), FaultKind.ENTRY_MISSING, TARGET);
    });
  });

  describe('the service role', () => {
    const role = randomName('evident_svc_');
    let svc: PostgresStore;

    before(async () => {
      await admin((c) => c.query(`CREATE ROLE "${role}" LOGIN`));
      await store.grantServiceRole(role);
      // as the service role, on a current schema: opening migrates nothing and needs no DDL right
      svc = await openPostgresStore(urlAs(role), { schema });
    });

    after(async () => {
      await svc?.close();
      await admin(async (c) => {
        await c.query(`DROP OWNED BY "${role}"`);
        await c.query(`DROP ROLE "${role}"`);
      });
    });

    test("can append, sign and erase with its privileges; keys are the owner's to create and revoke", async () => {
      const l = await seeded('service', 20, svc);
      const r = await l.erase({ erasureKey: ERASURE_KEY, actor_id: 'user-2', reason: 'request #7' });
      assert.equal(r.receipt.index, 20);
      await l.checkpoint();
      // The service role could mint (and backdate) a key; now only read them
      await assert.rejects(
        svc.createApiKey({
          id: 'svc-k',
          secretHash: '11',
          logs: ['service'],
          scopes: ['ingest'],
          createdAt: 'x',
        }),
        (e: { details: { sqlstate: string } }) => e.details.sqlstate === '42501',
      );
      const v = await l.verify();
      assert.ok(v.ok, summary(v));
      assert.equal(v.verified_size, 21);
    });

    test('cannot UPDATE, DELETE or TRUNCATE the record, disable triggers, or change the schema (42501)', async () => {
      // the owner disables every trigger on entries: privileges alone must still refuse
      await admin((c) => c.query(`ALTER TABLE ${s}.entries DISABLE TRIGGER ALL`));
      try {
        await admin(async (c) => {
          await c.query(`SET ROLE "${role}"`);
          assert.equal((await c.query('SELECT current_user AS u')).rows[0].u, role);
          await c.query('BEGIN');
          for (const sql of [
            `UPDATE ${s}.entries SET reason = 'x'`,
            `DELETE FROM ${s}.entries`,
            `TRUNCATE ${s}.entries`,
            `ALTER TABLE ${s}.entries ENABLE TRIGGER ALL`,
            `ALTER TABLE ${s}.entry_secrets DISABLE TRIGGER ALL`,
            `UPDATE ${s}.tree_nodes SET hash = '\\x00'`,
            `DELETE FROM ${s}.checkpoints`,
            `TRUNCATE ${s}.erasures`,
            `UPDATE ${s}.logs SET name = 'x'`,
            `UPDATE ${s}.api_keys SET scopes = '{admin}'`,
            `DELETE FROM ${s}.api_keys`,
            `DROP TABLE ${s}.entries`,
            `CREATE TABLE ${s}.mine (x int)`,
            `DROP FUNCTION ${s}.refuse_change() CASCADE`,
          ]) {
            assert.equal(await refused(c, sql), '42501', sql);
          }
          // what it may touch, the triggers still guard
          assert.equal(await refused(c, `UPDATE ${s}.logs SET size = 0`), RuleViolation.HEAD_REWRITE);
          assert.equal(await refused(c, `DELETE FROM ${s}.entry_secrets`), RuleViolation.ERASURE_UNRECORDED);
          await c.query('ROLLBACK');
        });
      } finally {
        await admin((c) => c.query(`ALTER TABLE ${s}.entries ENABLE TRIGGER ALL`));
      }
    });
  });

  describe('the three compliance queries use their indexes', () => {
    const statements: { text: string; values: unknown[] }[] = [];
    let logId: number;
    const DAY = 86_400_000;
    const now = Date.UTC(2026, 5, 1);

    before(async () => {
      const log = await store.createLog({ name: 'plans', origin: 'pg.test/plans', vkey: 'x', erasable: [] });
      logId = log.id;
      // 20 000 rows over 90 days: 200 actors, 2 000 resources, 5% failures or denials
      await admin(async (c) => {
        await c.query(
          `INSERT INTO ${s}.entries (log_id, idx, id, "timestamp", received_at, actor_id, actor_type, action,
             resource_type, resource_id, result, prev_hash, hash)
           SELECT $1, i, 'id-' || i,
             to_char(to_timestamp($2::float8 - i * 388.8) AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
             'r', 'actor-' || (i % 200), 'user', 'read', 'patient_record', 'p-' || (i % 2000),
             CASE WHEN i % 20 = 0 THEN 'failure' ELSE 'success' END, 'x', 'y'
           FROM generate_series(0, 19999) AS i`,
          [logId, now / 1000],
        );
        await c.query(`ANALYZE ${s}.entries`);
      });
      // record the statements the store itself sends
      const pool = store.pool;
      const send = pool.query.bind(pool);
      pool.query = ((text: string, values?: unknown[]) => {
        statements.push({ text, values: values ?? [] });
        return send(text, values);
      }) as typeof pool.query;
    });

    async function plan(run: () => Promise<unknown>): Promise<string> {
      statements.length = 0;
      await run();
      assert.equal(statements.length, 1, 'one statement');
      const { text, values } = statements[0]!;
      const r = await admin((c) => c.query(`EXPLAIN ${text}`, values));
      return r.rows.map((x: { 'QUERY PLAN': string }) => x['QUERY PLAN']).join('\n');
    }

    test("one actor's actions in the last 7 days → entries_actor", async () => {
      const since = new Date(now - 7 * DAY).toISOString();
      const p = await plan(() => store.query(logId, { actor_id: 'actor-7', since }));
      assert.match(p, /Index Scan using entries_actor|Bitmap Index Scan on entries_actor/, p);
    });

    test('all access to one resource → entries_resource', async () => {
      const p = await plan(() =>
        store.query(logId, { resource_type: 'patient_record', resource_id: 'p-42' }),
      );
      assert.match(p, /entries_resource/, p);
    });

    test('failures and denials per actor in the last 24 h → the partial index entries_failures', async () => {
      const p = await plan(() => store.failuresByActor(logId, new Date(now - DAY).toISOString(), 0));
      assert.match(p, /entries_failures/, p);
    });
  });
}
