/** Bytes on disk per entry: the SQLite file and its WAL after a checkpoint; PostgreSQL's tables. */
import { existsSync, statSync } from 'node:fs';
import Database from 'better-sqlite3';
import { schemaBytes } from './pg.ts';
import type { StoreKind } from './support.ts';

export interface StorageResult {
  store: StoreKind;
  /** `bare`: the same entry rows without tree nodes, checkpoints or head (bare.ts); else evident's log. */
  system?: 'evident' | 'bare';
  entries: number;
  bytes: number;
  bytes_per_entry: number;
  /** SQLite: file and WAL; PostgreSQL: each table with its indexes and TOAST. */
  parts: Record<string, number>;
}

const result = (store: StoreKind, entries: number, parts: Record<string, number>): StorageResult => {
  const bytes = Object.values(parts).reduce((a, b) => a + b, 0);
  return { store, system: 'evident', entries, bytes, bytes_per_entry: Math.round(bytes / entries), parts };
};

/** The file must not be open for writing elsewhere: the checkpoint folds the WAL into it. */
export function sqliteStorage(file: string, entries: number): StorageResult {
  const db = new Database(file);
  try {
    db.pragma('wal_checkpoint(TRUNCATE)');
  } finally {
    db.close();
  }
  const size = (f: string) => (existsSync(f) ? statSync(f).size : 0);
  return result('sqlite', entries, { file: size(file), wal: size(`${file}-wal`) });
}

/** After VACUUM-free ingest, as an operator would find it; `schema` holds only this log. */
export async function postgresStorage(schema: string, entries: number): Promise<StorageResult> {
  return result('postgres', entries, await schemaBytes(schema));
}
