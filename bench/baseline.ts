/**
 * The naive hash-chain design, implemented faithfully for comparison (not part of evident): one
 * row per event, whose prev_hash is "the last hash" read by ORDER BY timestamp DESC LIMIT 1;
 * SHA-256 over 8 chosen fields; INSERT. Its table and four indexes, with the same SQLite file
 * settings as evident (WAL, synchronous=FULL). Its verify_chain loads every row and walks them
 * in timestamp order.
 */
import { createHash, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';

const SCHEMA = `
CREATE TABLE audit_logs (
  id TEXT PRIMARY KEY,
  timestamp TEXT NOT NULL,
  actor_id TEXT NOT NULL,
  actor_type TEXT NOT NULL CHECK (actor_type IN ('user', 'service', 'admin', 'system')),
  action TEXT NOT NULL,
  resource_type TEXT NOT NULL,
  resource_id TEXT NOT NULL,
  result TEXT NOT NULL CHECK (result IN ('success', 'failure', 'denied')),
  ip_address TEXT,
  session_id TEXT,
  reason TEXT,
  changed_fields TEXT,
  prev_hash TEXT,
  hash TEXT NOT NULL UNIQUE
);
CREATE TRIGGER audit_logs_immutable BEFORE UPDATE ON audit_logs
  BEGIN SELECT RAISE(ABORT, 'Audit logs are immutable'); END;
CREATE INDEX idx_audit_actor_id ON audit_logs(actor_id);
CREATE INDEX idx_audit_resource ON audit_logs(resource_type, resource_id);
CREATE INDEX idx_audit_timestamp ON audit_logs(timestamp DESC);
CREATE INDEX idx_audit_action ON audit_logs(action);
`;

export type Row = Record<string, string | null>;

export interface NaiveCheck {
  rows: number;
  /** Links that fail when walked in timestamp order, as the naive design's verify_chain walks them. */
  broken: number;
  /** Entries whose prev_hash another entry also claims. */
  forks: number;
}

/** The naive design's logger on one database: its log() and its verify_chain. */
export interface NaiveLog {
  log(ev: Record<string, unknown>): Promise<Row>;
  verify(): Promise<NaiveCheck>;
  dispose(): Promise<void>;
}

/** The naive design's hash: 8 fields, in this order. */
export function computeHash(e: Row): string {
  const hashable = JSON.stringify({
    id: e.id,
    timestamp: e.timestamp,
    actor_id: e.actor_id,
    action: e.action,
    resource_type: e.resource_type,
    resource_id: e.resource_id,
    result: e.result,
    prev_hash: e.prev_hash,
  });
  return createHash('sha256').update(hashable).digest('hex');
}

export class NaiveLogger implements NaiveLog {
  readonly dir = mkdtempSync(join(tmpdir(), 'evident-baseline-'));
  private readonly db: Database.Database;
  private readonly last: Database.Statement;
  private readonly insert: Database.Statement;

  constructor() {
    this.db = new Database(join(this.dir, 'naive.db'));
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = FULL');
    this.db.exec(SCHEMA);
    this.last = this.db.prepare('SELECT hash FROM audit_logs ORDER BY timestamp DESC LIMIT 1').pluck();
    this.insert = this.db.prepare(
      `INSERT INTO audit_logs (id, timestamp, actor_id, actor_type, action, resource_type, resource_id, result,
         ip_address, session_id, reason, changed_fields, prev_hash, hash)
       VALUES (@id, @timestamp, @actor_id, @actor_type, @action, @resource_type, @resource_id, @result,
         @ip_address, @session_id, @reason, @changed_fields, @prev_hash, @hash)`,
    );
  }

  /** The naive log(): await the last hash, then insert; each statement commits on its own. */
  async log(ev: Record<string, unknown>): Promise<Row> {
    const prevHash = (await Promise.resolve(this.last.get())) as string | undefined;
    const entry = naiveEntry(ev, prevHash);
    entry.hash = computeHash(entry);
    await Promise.resolve(this.insert.run(entry));
    return entry;
  }

  /** The naive verify_chain: every row in memory, sorted by timestamp; counts broken links. */
  async verify(): Promise<NaiveCheck> {
    return verifyRows(this.db.prepare('SELECT * FROM audit_logs ORDER BY timestamp ASC').all() as Row[]);
  }

  async dispose(): Promise<void> {
    this.db.close();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** The entry the naive log() builds, before its hash. */
export function naiveEntry(ev: Record<string, unknown>, prevHash: string | undefined): Row {
  return {
    id: randomUUID(),
    timestamp: new Date().toISOString(),
    actor_id: ev.actor_id as string,
    actor_type: ev.actor_type as string,
    action: ev.action as string,
    resource_type: ev.resource_type as string,
    resource_id: ev.resource_id as string,
    result: ev.result as string,
    ip_address: (ev.ip_address as string) ?? null,
    session_id: (ev.session_id as string) ?? null,
    reason: (ev.reason as string) ?? null,
    changed_fields: null,
    prev_hash: prevHash ?? 'GENESIS',
    hash: '',
  };
}

/** Walks rows in the order given, recomputing each hash over the previous row's. */
export function verifyRows(rows: Row[]): NaiveCheck {
  let prev = 'GENESIS';
  let broken = 0;
  for (const e of rows) {
    if (e.hash !== computeHash({ ...e, prev_hash: prev }) || e.prev_hash !== prev) broken++;
    prev = e.hash!;
  }
  // Two entries naming the same predecessor: the chain forked when written, whatever the order read.
  const forks = rows.length - new Set(rows.map((e) => e.prev_hash)).size;
  return { rows: rows.length, broken, forks };
}
