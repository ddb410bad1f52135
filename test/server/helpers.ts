/** A server on a real SQLite file in a temp dir, with logs and keys of every kind, for inject() tests. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Entry } from '../../src/core/event/entry.ts';
import { createKeyFile, type KeyRing, loadKeyRing } from '../../src/ledger/keyfile.ts';
import { createLog } from '../../src/ledger/open.ts';
import { createApiKey, revokeApiKey } from '../../src/server/api-keys.ts';
import { buildServer } from '../../src/server/app.ts';
import type { ServerOptions } from '../../src/server/options.ts';
import type { App } from '../../src/server/type-provider.ts';
import { type FullStore, openStore } from '../../src/store/open.ts';
import type { ApiKeyStore, Store } from '../../src/store/types.ts';

export const HOST = 'audit.test';

export interface Fixture {
  app: App;
  store: Store & ApiKeyStore;
  ring: KeyRing;
  dir: string;
  keys: Record<'admin' | 'ingest' | 'read' | 'verify' | 'other' | 'revoked' | 'auditor', string>;
  /** Authorization header for a key. */
  auth(key: string): { authorization: string };
  /** Every entry of a log, read straight from the store (no access event). */
  entries(log?: string): Promise<Entry[]>;
  close(): Promise<void>;
}

export async function setup(
  o: Partial<ServerOptions> = {},
  wrapStore: (s: FullStore) => FullStore = (s) => s,
): Promise<Fixture> {
  const dir = mkdtempSync(join(tmpdir(), 'evident-server-'));
  const keyFile = join(dir, 'audit.key');
  await createKeyFile(keyFile, `${HOST}/default`);
  const ring = await loadKeyRing(keyFile);
  const store = await openStore(join(dir, 'audit.db'));
  for (const name of ['default', 'tenant-b'])
    await createLog(store, { name, origin: `${HOST}/${name}`, signer: ring });
  const mk = async (logs: string[], scopes: string[]) => (await createApiKey(store, { logs, scopes })).key;
  const keys = {
    admin: await mk(['*'], ['admin']),
    ingest: await mk(['default'], ['ingest']),
    read: await mk(['default'], ['read']),
    verify: await mk(['default'], ['verify']),
    auditor: await mk(['default'], ['read', 'verify']),
    other: await mk(['tenant-b'], ['ingest', 'read', 'verify']),
    revoked: await mk(['default'], ['read', 'ingest']),
  };
  await revokeApiKey(store, keys.revoked.slice(4, 16));
  const app = await buildServer({
    store: wrapStore(store),
    keyRing: ring,
    originHost: HOST,
    checkpointIntervalMs: 0,
    ...o,
  });
  await app.ready();
  return {
    app,
    store,
    ring,
    dir,
    keys,
    auth: (key) => ({ authorization: `Bearer ${key}` }),
    entries: async (log = 'default') => {
      const info = await store.getLog(log);
      return info ? store.entries(info.id, 0, Number.MAX_SAFE_INTEGER, 100_000) : [];
    },
    close: async () => {
      await app.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

let n = 0;

/** A valid event; each call a different resource. */
export function event(o: Record<string, unknown> = {}): Record<string, unknown> {
  n++;
  return {
    actor_id: 'alice',
    actor_type: 'user',
    action: 'read',
    resource_type: 'patient_record',
    resource_id: `p-${n}`,
    result: 'success',
    ip_address: '10.0.0.1',
    ...o,
  };
}
