/**
 * Rows of the small tables (logs, checkpoints, API keys) as PostgreSQL returns them (bigint as
 * a number via driver.ts's parser, bytea as a Buffer, text[] as an array), and entry rows with
 * their side rows aggregated as JSON (sql.ts), converted with the shared mapping of ../rows.ts.
 */
import type { Entry } from '../../core/event/entry.ts';
import type { ErasableField } from '../../core/event/schema.ts';
import { ENTRY_COLUMNS, type EntryRow, rowToEntry } from '../rows.ts';
import type { ApiKeyRecord, LogHead, LogInfo, Scope, StoredCheckpoint } from '../types.ts';

export interface LogRow {
  log_id: number;
  name: string;
  origin: string;
  vkey: string;
  erasable: string[];
  created_at: string;
  size: number;
  last_hash: string;
  frontier: Uint8Array;
}

export const toLogInfo = (r: LogRow): LogInfo => ({
  id: r.log_id,
  name: r.name,
  origin: r.origin,
  vkey: r.vkey,
  erasable: r.erasable as ErasableField[],
  createdAt: r.created_at,
});

export const toHead = (r: Pick<LogRow, 'size' | 'last_hash' | 'frontier'>): LogHead => ({
  size: r.size,
  lastHash: r.last_hash,
  frontier: new Uint8Array(r.frontier),
});

export interface CheckpointRow {
  size: number;
  root: Uint8Array;
  note: string;
  created_at: string;
}

export const toCheckpoint = (r: CheckpointRow): StoredCheckpoint => ({
  size: r.size,
  root: new Uint8Array(r.root),
  note: r.note,
  createdAt: r.created_at,
});

export interface ApiKeyRow {
  key_id: string;
  secret_hash: string;
  logs: string[];
  scopes: string[];
  description: string | null;
  created_at: string;
  revoked_at: string | null;
}

export const toApiKey = (r: ApiKeyRow): ApiKeyRecord => ({
  id: r.key_id,
  secretHash: r.secret_hash,
  logs: r.logs,
  scopes: r.scopes as Scope[],
  ...(r.description === null ? {} : { description: r.description }),
  createdAt: r.created_at,
  ...(r.revoked_at === null ? {} : { revokedAt: r.revoked_at }),
});

/** An entry row with its values ([field, value, salt]) and erasures ([field, erasure index]). */
export type HydratedRow = EntryRow & {
  secrets: [string, string, string][] | null;
  erased: [string, number][] | null;
};

export function toEntry(r: HydratedRow): Entry {
  const row = {} as EntryRow;
  for (const c of ENTRY_COLUMNS) row[c] = r[c];
  const idx = r.idx as number;
  return rowToEntry(
    row,
    (r.secrets ?? []).map(([field, value, salt]) => ({ idx, field, value, salt })),
    (r.erased ?? []).map(([field, erasure_idx]) => ({ idx, field, erasure_idx })),
  );
}
