/** Opening the store a database string names: a SQLite file (or `sqlite:PATH`), or a PostgreSQL URL. */
import { openPostgresStore } from './postgres/store.ts';
import { openSqliteStore } from './sqlite/store.ts';
import type { AlertStore, ApiKeyStore, CosignatureStore, Store, WitnessStore } from './types.ts';

/** Everything a driver implements: the ledger's Store and the contracts beside it. */
export type FullStore = Store & ApiKeyStore & CosignatureStore & WitnessStore & AlertStore;

export interface OpenStoreOptions {
  readonly?: boolean;
  /** Create the store when the file or schema holds none yet (default true; the CLI's `serve` passes false). */
  create?: boolean;
  /** Add evident's tables beside another application's (default false: STORE_FOREIGN). */
  allowForeign?: boolean;
}

export async function openStore(db: string, options: OpenStoreOptions = {}): Promise<FullStore> {
  // The driver (npm pg) is loaded by openPostgresStore itself, only for a postgres:// URL.
  if (/^postgres(ql)?:\/\//.test(db)) return openPostgresStore(db, options);
  return openSqliteStore(db.startsWith('sqlite:') ? db.slice('sqlite:'.length) : db, options);
}
