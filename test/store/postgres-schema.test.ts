/**
 * On PostgreSQL: what no hash covers. A row-level security policy (or
 * a widened grant, a disabled trigger) changes what the service role sees or may do while
 * every hash verifies; verify() compares the schema with the migrations' and names the object.
 * API keys: the service role can no longer mint one (a backdated `*` admin key was possible),
 * and a key that no audit event created is reported.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { FaultKind, type VerifyReport } from '../../src/core/verify/report.ts';
import { createKeyFile, type KeyRing, loadKeyRing } from '../../src/ledger/keyfile.ts';
import { Ledger } from '../../src/ledger/ledger.ts';
import { createLog } from '../../src/ledger/open.ts';
import { createApiKey, revokeApiKey } from '../../src/server/api-keys.ts';
import { openPostgresStore, type PostgresStore } from '../../src/store/postgres/store.ts';
import { fullEvent, rejectsWith, summary } from '../ledger/support.ts';
import {
  admin,
  dropSchema,
  PG_URL,
  randomName,
  undoPruningMigration,
  urlAs,
  withPostgres,
} from './pg-support.ts';

await withPostgres('PostgreSQL schema drift and API keys', suite);

const HIDDEN = 'p-7';

const drifts = (r: VerifyReport) =>
  r.faults.filter((f) => f.kind === FaultKind.SCHEMA_DRIFT).map((f) => `${f.object} ${f.name} ${f.change}`);
const keyFaults = (r: VerifyReport) =>
  r.faults.filter((f) => f.kind === FaultKind.API_KEY_UNRECORDED).map((f) => [f['key_id'], f['problem']]);

function suite(): void {
  const role = randomName('evident_svc_');
  let dir: string;
  let ring: KeyRing;
  const schemas: string[] = [];

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'evident-pg-schema-'));
    await createKeyFile(join(dir, 'signing.key'), 'pg.test/default');
    ring = await loadKeyRing(join(dir, 'signing.key'));
    await admin((c) => c.query(`CREATE ROLE "${role}" LOGIN`));
  });

  after(async () => {
    for (const s of schemas) await dropSchema(s);
    await admin(async (c) => {
      await c.query(`DROP OWNED BY "${role}"`);
      await c.query(`DROP ROLE "${role}"`);
    });
    rmSync(dir, { recursive: true, force: true });
  });

  /** A fresh schema with a log of 20 entries, opened as the owner and as the service role. */
  async function fixture(): Promise<{
    schema: string;
    owner: PostgresStore;
    svc: PostgresStore;
    close(): Promise<void>;
  }> {
    const schema = randomName('evident_drift_');
    schemas.push(schema);
    const owner = await openPostgresStore(PG_URL, { schema });
    await createLog(owner, { name: 'default', origin: 'pg.test/default', signer: ring });
    const l = await Ledger.open({ store: owner, log: 'default', signer: ring, ownsStore: false });
    await l.appendMany(Array.from({ length: 20 }, (_, i) => fullEvent(i)));
    await l.checkpoint();
    await l.close();
    await owner.grantServiceRole(role);
    const svc = await openPostgresStore(urlAs(role), { schema, migrate: false });
    return {
      schema,
      owner,
      svc,
      close: async () => {
        await svc.close();
        await owner.close();
      },
    };
  }

  async function verifyAs(store: PostgresStore): Promise<VerifyReport> {
    const l = await Ledger.open({ store, log: 'default', signer: ring, ownsStore: false });
    try {
      return await l.verify();
    } finally {
      await l.close();
    }
  }

  describe('schema drift', () => {
    test('a fresh schema has no drift, as the owner and as the service role', async () => {
      const f = await fixture();
      try {
        assert.deepEqual(await f.owner.schemaCheck(), { drifts: [] });
        assert.deepEqual(await f.svc.schemaCheck(), { drifts: [] });
        const r = await verifyAs(f.svc);
        assert.ok(r.ok, summary(r));
      } finally {
        await f.close();
      }
    });

    test("a row-level security policy hides a row from the service role's query while the hashes verify → schema_drift naming the policy; the verified query finds the row", async () => {
      const f = await fixture();
      const s = `"${f.schema}"`;
      try {
        // The owner's attack: the service role's indexed queries by resource lose one record;
        // its range reads (verification) still see everything, so the chain is intact.
        await admin(async (c) => {
          await c.query(`ALTER TABLE ${s}.entries ENABLE ROW LEVEL SECURITY`);
          await c.query(
            `CREATE POLICY hide ON ${s}.entries FOR SELECT TO "${role}"
               USING (resource_id <> '${HIDDEN}' OR current_query() NOT LIKE '%resource_id = $%')`,
          );
          await c.query(`CREATE POLICY write ON ${s}.entries FOR INSERT TO "${role}" WITH CHECK (true)`);
        });
        const log = (await f.svc.getLog('default'))!;
        assert.deepEqual(
          await f.svc.query(log.id, { resource_type: 'patient_record', resource_id: HIDDEN }),
          [],
          'the attack works: the query misses the row',
        );
        const r = await verifyAs(f.svc);
        assert.equal(r.ok, false, summary(r));
        assert.deepEqual(drifts(r), [
          'policy entries.hide extra',
          'policy entries.write extra',
          'relation entries changed',
        ]);
        const l = await Ledger.open({ store: f.svc, log: 'default', signer: ring, ownsStore: false });
        try {
          const q = await l.verifiedQuery({ resource_type: 'patient_record', resource_id: HIDDEN });
          assert.deepEqual(
            q.entries.map((e) => e.resource_id),
            [HIDDEN],
            'the verified query finds it',
          );
        } finally {
          await l.close();
        }
      } finally {
        await f.close();
      }
    });

    test('a disabled trigger, a rewritten trigger function, a widened grant → schema_drift naming each', async () => {
      const f = await fixture();
      const s = `"${f.schema}"`;
      try {
        await admin(async (c) => {
          await c.query(`ALTER TABLE ${s}.tree_nodes DISABLE TRIGGER tree_nodes_append_only`);
          await c.query(
            `CREATE OR REPLACE FUNCTION ${s}.secret_erase_only() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN OLD; END $$`,
          );
          await c.query(`GRANT UPDATE ON ${s}.entries TO "${role}"`);
        });
        const r = await verifyAs(f.owner);
        assert.deepEqual(drifts(r), [
          'function secret_erase_only() changed',
          'trigger tree_nodes.tree_nodes_append_only changed',
          `grant ${role} on entries extra`,
        ]);
      } finally {
        await f.close();
      }
    });
  });

  describe('API keys outside the log', () => {
    test('the service role cannot mint a backdated * admin key, nor revoke one (42501)', async () => {
      const f = await fixture();
      try {
        const e = await rejectsWith(
          f.svc.createApiKey({
            id: 'a0a0a0a0a0a0',
            secretHash: '0'.repeat(64),
            logs: ['*'],
            scopes: ['admin'],
            createdAt: '2020-01-01T00:00:00.000Z',
          }),
          'STORE_FAILED',
        );
        assert.equal(e.details['sqlstate'], '42501');
        const { record } = await createApiKey(f.owner, { logs: ['default'], scopes: ['read'] });
        const r = await rejectsWith(f.svc.revokeApiKey(record.id, new Date().toISOString()), 'STORE_FAILED');
        assert.equal(r.details['sqlstate'], '42501');
        // evident's own key paths, as the service role: refused before any event is written
        const log = (await f.svc.getLog('default'))!;
        const size = (await f.svc.head(log.id)).size;
        await rejectsWith(createApiKey(f.svc, { logs: ['*'], scopes: ['admin'] }), 'USAGE');
        await rejectsWith(revokeApiKey(f.svc, record.id), 'USAGE');
        assert.equal((await f.svc.head(log.id)).size, size, 'no event left behind');
      } finally {
        await f.close();
      }
    });

    test('migration 3 takes INSERT and UPDATE on api_keys from a service role granted them before', async () => {
      const f = await fixture();
      const s = `"${f.schema}"`;
      try {
        // the grants of earlier versions, on a schema at version 2
        await admin(async (c) => {
          await c.query(`GRANT INSERT ON ${s}.api_keys TO "${role}"`);
          await c.query(`GRANT UPDATE (revoked_at) ON ${s}.api_keys TO "${role}"`);
          // added by migration 9 (its triggers go with their function)
          await c.query(`DROP TABLE ${s}.log_moves`);
          await c.query(`DROP FUNCTION ${s}.refuse_moved() CASCADE`);
          await c.query(`DROP FUNCTION ${s}.moved_logs(), ${s}.incoming_logs()`);
          await c.query(`DROP TABLE ${s}.log_incoming`);
          await c.query(`DROP TABLE ${s}.alert_deliveries, ${s}.alerts`); // added by migration 8
          await c.query(`DROP TABLE ${s}.intents`); // added by migration 4
          await c.query(undoPruningMigration(s)); // migration 6
          // added by migration 5
          await c.query(
            `DROP TABLE ${s}.checkpoint_cosignatures, ${s}.witness_logs, ${s}.witness_checkpoints`,
          );
          await c.query(`UPDATE ${s}.meta SET value = '2' WHERE key = 'schema_version'`);
        });
        const later = ['intents', 'checkpoint_cosignatures', 'witness_logs', 'witness_checkpoints', 'alert'];
        const drifts = (await f.owner.schemaCheck()).drifts.filter(
          (d) =>
            !later.some((t) => d.name.startsWith(t)) &&
            !/prune|secret_erase_only|entries_append_only|moved|log_moves|incoming/.test(d.name),
        );
        assert.deepEqual(drifts.map((d) => `${d.name} ${d.actual}`).sort(), [
          `${role} on api_keys INSERT`,
          `${role} on api_keys.revoked_at UPDATE`,
        ]);
        const upgraded = await openPostgresStore(PG_URL, { schema: f.schema });
        await upgraded.close();
        assert.deepEqual(await f.owner.schemaCheck(), { drifts: [] });
        const e = await rejectsWith(
          f.svc.createApiKey({
            id: 'c2c2c2c2c2c2',
            secretHash: '2'.repeat(64),
            logs: ['*'],
            scopes: ['admin'],
            createdAt: 'x',
          }),
          'STORE_FAILED',
        );
        assert.equal(e.details['sqlstate'], '42501');
      } finally {
        await f.close();
      }
    });

    test('keys created and revoked by the owner are audit events; a key inserted directly → api_key_unrecorded', async () => {
      const f = await fixture();
      const s = `"${f.schema}"`;
      try {
        const { record } = await createApiKey(f.owner, {
          logs: ['*'],
          scopes: ['admin'],
          by: { id: 'ops@example.com', type: 'admin', ip_address: '10.0.0.1' },
        });
        await revokeApiKey(f.owner, record.id, {
          by: { id: 'ops@example.com', type: 'admin', ip_address: '10.0.0.1' },
        });
        const log = (await f.owner.getLog('default'))!;
        const events = await f.owner.query(log.id, { resource_type: 'api_key', resource_id: record.id });
        assert.deepEqual(
          events.map((e) => [e.action, e.actor_id, (e.metadata as { key_id: string }).key_id]),
          [
            ['evident.api_key.created', 'ops@example.com', record.id],
            ['evident.api_key.revoked', 'ops@example.com', record.id],
          ],
        );
        let r = await verifyAs(f.svc);
        assert.ok(r.ok, summary(r));
        await admin((c) =>
          c.query(
            `INSERT INTO ${s}.api_keys (key_id, secret_hash, logs, scopes, created_at)
             VALUES ('b1b1b1b1b1b1', '${'1'.repeat(64)}', '{*}', '{admin}', '2020-01-01T00:00:00.000Z')`,
          ),
        );
        r = await verifyAs(f.svc);
        assert.equal(r.ok, false);
        assert.deepEqual(keyFaults(r), [['b1b1b1b1b1b1', 'no_creation_event']]);
      } finally {
        await f.close();
      }
    });
  });
}
