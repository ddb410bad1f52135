/**
 * Rows of the small tables (logs, checkpoints, API keys) and their conversions, shared by the
 * SQL drivers. A list column arrives as JSON text from SQLite and as an array from PostgreSQL.
 */
import type { ErasableField } from '../core/event/schema.ts';
import type { ApiKeyRecord, LogHead, LogInfo, Scope, StoredCheckpoint } from './types.ts';

type List = string | string[];
const list = (v: List): string[] => (typeof v === 'string' ? (JSON.parse(v) as string[]) : v);

export interface LogRow {
  log_id: number;
  name: string;
  origin: string;
  vkey: string;
  erasable: List;
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
  erasable: list(r.erasable) as ErasableField[],
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
  logs: List;
  scopes: List;
  description: string | null;
  created_at: string;
  revoked_at: string | null;
}

export const toApiKey = (r: ApiKeyRow): ApiKeyRecord => ({
  id: r.key_id,
  secretHash: r.secret_hash,
  logs: list(r.logs),
  scopes: list(r.scopes) as Scope[],
  ...(r.description === null ? {} : { description: r.description }),
  createdAt: r.created_at,
  ...(r.revoked_at === null ? {} : { revokedAt: r.revoked_at }),
});
