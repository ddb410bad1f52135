/** Opening the store a database string names: a SQLite file (or `sqlite:PATH`), or a PostgreSQL URL. */
import { openPostgresStore } from './postgres/store.ts';
import { openSqliteStore } from './sqlite/store.ts';
import type { Store } from './types.ts';

export async function openStore(db: string, options: { readonly?: boolean } = {}): Promise<Store> {
  // The driver (npm pg) is loaded by openPostgresStore itself, only for a postgres:// URL.
  if (/^postgres(ql)?:\/\//.test(db)) return openPostgresStore(db, options);
  return openSqliteStore(db.startsWith('sqlite:') ? db.slice('sqlite:'.length) : db, options);
}
