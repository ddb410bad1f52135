import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { openStore } from '../../src/ledger/index.ts';
import type { ApiKeyStore, Store } from '../../src/store/types.ts';

describe('API keys in the SQLite store', () => {
  it('are created, listed, revoked once, never deleted or rewritten', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'evident-keys-'));
    const db = join(dir, 'k.db');
    try {
      const store = await openStore(db);
      const rec = {
        id: 'k1',
        secretHash: 'ab'.repeat(32),
        logs: ['default'],
        scopes: ['ingest' as const],
        createdAt: '2026-01-01T00:00:00.000Z',
      };
      await store.createApiKey(rec);
      await store.createApiKey({
        ...rec,
        id: 'k2',
        logs: ['*'],
        scopes: ['read', 'verify'],
        description: 'auditor',
      });
      assert.deepEqual(await store.getApiKey('k1'), rec);
      assert.deepEqual(
        (await store.listApiKeys()).map((k) => k.id),
        ['k1', 'k2'],
      );
      assert.equal(await store.revokeApiKey('k1', '2026-01-02T00:00:00.000Z'), true);
      assert.equal((await store.getApiKey('k1'))!.revokedAt, '2026-01-02T00:00:00.000Z');
      assert.equal(await store.revokeApiKey('nope', '2026-01-02T00:00:00.000Z'), false);
      await store.close();

      const raw = new Database(db);
      try {
        for (const sql of [
          "UPDATE api_keys SET revoked_at = NULL WHERE key_id = 'k1'",
          "UPDATE api_keys SET scopes = '[\"admin\"]' WHERE key_id = 'k2'",
          "UPDATE api_keys SET revoked_at = 'x', logs = '[\"other\"]' WHERE key_id = 'k2'",
          "DELETE FROM api_keys WHERE key_id = 'k2'",
        ]) {
          assert.throws(
            () => raw.exec(sql),
            (e: unknown) => (e as { code?: string }).code === 'SQLITE_CONSTRAINT_TRIGGER',
            sql,
          );
        }
      } finally {
        raw.close();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

// The ledger's Store holds no API key method; the HTTP service asks for
// `Store & ApiKeyStore`. Checked by the type checker (tsc runs over the tests): the line below
// stops compiling if a key method moves back into Store.
type KeyMethodsInStore = Extract<keyof Store, keyof ApiKeyStore>;
const storeHasNoKeyMethods: [KeyMethodsInStore] extends [never] ? true : false = true;

describe('API keys have their own store interface', () => {
  it('Store has none of ApiKeyStore’s methods; both drivers implement both', async () => {
    assert.equal(storeHasNoKeyMethods, true);
    const dir = mkdtempSync(join(tmpdir(), 'evident-keys-'));
    try {
      const store = await openStore(join(dir, 'k.db'));
      for (const m of ['createApiKey', 'getApiKey', 'listApiKeys', 'revokeApiKey'] as const) {
        assert.equal(typeof store[m], 'function', m);
      }
      await store.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
