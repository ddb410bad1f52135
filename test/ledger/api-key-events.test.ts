/**
 * On SQLite: API keys were outside the log. Creating and revoking a key now
 * append an `evident.api_key.*` event, written by the ledger itself, to every log the key
 * reaches; verify() reports a key that no event created (a backdated `*` admin key written
 * into the file), a key that differs from its event, and a revocation no event records.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { FaultKind, type VerifyReport } from '../../src/core/verify/report.ts';
import { API_KEY_CREATED, API_KEY_REVOKED } from '../../src/ledger/key-events.ts';
import { loadKeyRing } from '../../src/ledger/keyfile.ts';
import { createLog } from '../../src/ledger/open.ts';
import { createApiKey, revokeApiKey } from '../../src/server/api-keys.ts';
import { openStore } from '../../src/store/open.ts';
import type { SqliteStore } from '../../src/store/sqlite/store.ts';
import { type Fixture, makeFixture, rejectsWith, summary } from './support.ts';

let fx: Fixture;
before(async () => {
  fx = await makeFixture('evident-keys-');
});
after(() => fx.cleanup());

const keyFaults = (r: VerifyReport) =>
  r.faults.filter((f) => f.kind === FaultKind.API_KEY_UNRECORDED).map((f) => [f['key_id'], f['problem']]);

async function verify(log = 'default'): Promise<VerifyReport> {
  const { openLedger } = await import('../../src/ledger/open.ts');
  const l = await openLedger({ db: fx.db, key: fx.keyPath, log });
  try {
    return await l.verify();
  } finally {
    await l.close();
  }
}

describe('API keys in the log', () => {
  test('creation and revocation are evident.api_key events naming the key, its scopes, logs and who', async () => {
    const store = await openStore(fx.db);
    try {
      const by = { id: 'ops@example.com', type: 'admin' as const, ip_address: '192.0.2.7' };
      const { record } = await createApiKey(store, {
        logs: ['default'],
        scopes: ['ingest', 'read'],
        description: 'payments',
        by,
      });
      await revokeApiKey(store, record.id, { by });
      const log = (await store.getLog('default'))!;
      const events = await store.query(log.id, { resource_type: 'api_key', resource_id: record.id });
      assert.deepEqual(
        events.map((e) => [e.action, e.actor_id, e.actor_type, e.ip_address]),
        [
          [API_KEY_CREATED, 'ops@example.com', 'admin', '192.0.2.7'],
          [API_KEY_REVOKED, 'ops@example.com', 'admin', '192.0.2.7'],
        ],
      );
      const m = events[0]!.metadata as Record<string, unknown>;
      assert.deepEqual(
        [m['key_id'], m['logs'], m['scopes'], m['description']],
        [record.id, ['default'], ['ingest', 'read'], 'payments'],
      );
      assert.equal(
        JSON.stringify(events).includes(record.secretHash),
        false,
        'the secret hash is not in the log',
      );
    } finally {
      await store.close();
    }
    const r = await verify();
    assert.ok(r.ok, summary(r));
  });

  test('a key that reaches no existing log is refused (NOT_FOUND): nothing could record it', async () => {
    const store = await openStore(fx.db);
    try {
      await rejectsWith(createApiKey(store, { logs: ['nosuchlog'], scopes: ['read'] }), 'NOT_FOUND');
      assert.equal(
        (await store.listApiKeys()).some((k) => k.logs.includes('nosuchlog')),
        false,
      );
    } finally {
      await store.close();
    }
  });

  test('a * key made before a log exists is found in the logs that existed: the new log verifies', async () => {
    const store = await openStore(fx.db);
    try {
      await createApiKey(store, { logs: ['*'], scopes: ['admin'] });
      await createLog(store, {
        name: 'later',
        origin: 'test.example/later',
        signer: await loadKeyRing(fx.keyPath),
      });
    } finally {
      await store.close();
    }
    const r = await verify('later');
    assert.ok(r.ok, summary(r));
  });

  test('a backdated * admin key written into the file → api_key_unrecorded (no_creation_event)', async () => {
    const store = (await openStore(fx.db)) as SqliteStore;
    try {
      // what anyone holding the file can do: the store's own insert, no event
      await store.createApiKey({
        id: 'badbadbadbad',
        secretHash: '1'.repeat(64),
        logs: ['*'],
        scopes: ['admin'],
        createdAt: '2020-01-01T00:00:00.000Z',
      });
    } finally {
      await store.close();
    }
    const r = await verify();
    assert.equal(r.ok, false);
    assert.deepEqual(keyFaults(r), [['badbadbadbad', 'no_creation_event']]);
    const later = await verify('later');
    assert.deepEqual(
      keyFaults(later),
      [['badbadbadbad', 'no_creation_event']],
      'every log it reaches says so',
    );
  });

  test('a key widened in the file, or revoked without an event → api_key_unrecorded naming the key', async () => {
    const store = (await openStore(fx.db)) as SqliteStore;
    let widened: string;
    let silenced: string;
    try {
      widened = (await createApiKey(store, { logs: ['default'], scopes: ['read'] })).record.id;
      silenced = (await createApiKey(store, { logs: ['default'], scopes: ['ingest'] })).record.id;
      const db = store.database;
      db.exec('DROP TRIGGER api_keys_revoke_only');
      db.prepare(`UPDATE api_keys SET scopes = '["admin"]' WHERE key_id = ?`).run(widened);
      await store.revokeApiKey(silenced, new Date().toISOString());
    } finally {
      await store.close();
    }
    const r = await verify();
    assert.deepEqual(
      keyFaults(r).filter(([id]) => id !== 'badbadbadbad'),
      [
        [widened, 'differs_from_event'],
        [silenced, 'no_revocation_event'],
      ],
    );
    assert.ok(
      r.faults.some((f) => f.kind === FaultKind.SCHEMA_DRIFT && f['name'] === 'api_keys_revoke_only'),
      'and the dropped trigger is named',
    );
  });
});
