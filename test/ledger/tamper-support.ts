/**
 * What an attacker with write access to the SQLite file (but not to the signing key) can do
 * with plain SQL and evident's own pure functions: read the rows, rebuild entries, recompute
 * hashes, chains and tree nodes, and write them back once the triggers are dropped.
 */
import type BetterSqlite3 from 'better-sqlite3';
import { type Entry, GENESIS, sealEvent } from '../../src/core/event/entry.ts';
import type { AuditEvent, ErasableField } from '../../src/core/event/schema.ts';
import { CompactRange } from '../../src/core/merkle/index.ts';
import { nodeTile } from '../../src/core/tlog/tile-path.ts';
import {
  ENTRY_COLUMNS,
  type EntryRow,
  entryToRows,
  rowToEntry,
  type SecretRow,
} from '../../src/store/rows.ts';
import type { NodeHash } from '../../src/store/types.ts';

type Db = BetterSqlite3.Database;

export const LOG_ID = 1;

/**
 * Drops every trigger of the schema, as anyone holding the file can, and returns what puts
 * them back: a careful attacker restores them after the change, so that `verify` cannot tell
 * the attack by a schema that differs from the migrations' (schema_drift) alone.
 */
export function dropTriggers(db: Db): () => void {
  const triggers = db.prepare("SELECT name, sql FROM sqlite_master WHERE type = 'trigger'").all() as {
    name: string;
    sql: string;
  }[];
  for (const t of triggers) db.exec(`DROP TRIGGER "${t.name}"`);
  return () => {
    for (const t of triggers) db.exec(t.sql);
  };
}

/** Runs `mutate` with every trigger dropped, then puts them back (a careful attacker). */
export function carefully(db: Db, mutate: (db: Db) => void): void {
  const restore = dropTriggers(db);
  mutate(db);
  restore();
}

export function readRow(db: Db, idx: number): EntryRow {
  return db.prepare(`SELECT ${ENTRY_COLUMNS.join(', ')} FROM entries WHERE idx = ?`).get(idx) as EntryRow;
}

export function readSecrets(db: Db, idx: number): SecretRow[] {
  return db
    .prepare('SELECT idx, field, value, salt FROM entry_secrets WHERE idx = ? ORDER BY field')
    .all(idx) as SecretRow[];
}

/** Every entry, hydrated as the store does (values and salts joined). */
export function readEntries(db: Db): Entry[] {
  const rows = db.prepare(`SELECT ${ENTRY_COLUMNS.join(', ')} FROM entries ORDER BY idx`).all() as EntryRow[];
  return rows.map((r) => rowToEntry(r, readSecrets(db, r.idx as number), []));
}

export function readEntry(db: Db, idx: number): Entry {
  return rowToEntry(readRow(db, idx), readSecrets(db, idx), []);
}

export function insertRow(db: Db, row: EntryRow, secrets: readonly SecretRow[]): void {
  db.prepare(
    `INSERT INTO entries (log_id, ${ENTRY_COLUMNS.join(', ')}) VALUES (?, ${ENTRY_COLUMNS.map(() => '?').join(', ')})`,
  ).run(LOG_ID, ...ENTRY_COLUMNS.map((c) => row[c]));
  const ins = db.prepare(
    'INSERT INTO entry_secrets (log_id, idx, field, value, salt) VALUES (?, ?, ?, ?, ?)',
  );
  for (const s of secrets) ins.run(LOG_ID, row.idx, s.field, s.value, s.salt);
}

export function insertEntry(db: Db, e: Entry): void {
  const { row, secrets } = entryToRows(e);
  insertRow(db, row, secrets);
}

export function deleteEntry(db: Db, idx: number): void {
  db.prepare('DELETE FROM entries WHERE idx = ?').run(idx);
  db.prepare('DELETE FROM entry_secrets WHERE idx = ?').run(idx);
}

/** Moves the rows (and their values) at `from` to `to`; the target must be free. */
export function moveEntry(db: Db, from: number, to: number): void {
  db.prepare('UPDATE entries SET idx = ? WHERE idx = ?').run(to, from);
  db.prepare('UPDATE entry_secrets SET idx = ? WHERE idx = ?').run(to, from);
}

/** The client's event inside a stored entry. */
export function eventOf(e: Entry): AuditEvent {
  const out: Record<string, unknown> = {};
  const server = new Set(['index', 'received_at', 'prev_hash', 'hash', 'commitments', 'salts', 'erased']);
  for (const [k, v] of Object.entries(e)) if (!server.has(k)) out[k] = v;
  return out as AuditEvent;
}

export interface Rebuilt {
  entries: Entry[];
  nodes: NodeHash[];
  head: { size: number; lastHash: string; frontier: Uint8Array };
  /** Root of the rebuilt tree at each size. */
  roots: Map<number, Uint8Array>;
}

/** Re-seals events at indexes 0.. with the given receive times: a consistent chain and tree. */
export function rebuild(
  events: readonly AuditEvent[],
  receivedAt: readonly string[],
  erasable: readonly ErasableField[],
): Rebuilt {
  const range = CompactRange.empty();
  const entries: Entry[] = [];
  const nodes: NodeHash[] = [];
  const roots = new Map<number, Uint8Array>();
  let prev = GENESIS;
  for (const [i, ev] of events.entries()) {
    const { entry, leafHash } = sealEvent(ev, {
      index: i,
      received_at: receivedAt[i]!,
      prev_hash: prev,
      erasable,
    });
    for (const n of range.append(leafHash)) if (n.level > 0) nodes.push(n);
    entries.push(entry);
    prev = entry.hash;
    roots.set(range.size, range.root());
  }
  return { entries, nodes, head: { size: range.size, lastHash: prev, frontier: range.encode() }, roots };
}

/** Replaces the whole log (entries, values, tree, head) by a rebuilt one. */
export function writeRebuilt(db: Db, r: Rebuilt): void {
  db.exec('DELETE FROM entries; DELETE FROM entry_secrets; DELETE FROM tree_nodes;');
  for (const e of r.entries) insertEntry(db, e);
  const ins = db.prepare(
    'INSERT INTO tree_nodes (log_id, tile_level, tile_index, level, idx, hash) VALUES (?, ?, ?, ?, ?, ?)',
  );
  for (const n of r.nodes) ins.run(LOG_ID, ...nodeTile(n.level, n.index), n.level, n.index, n.hash);
  db.prepare('UPDATE logs SET size = ?, last_hash = ?, frontier = ? WHERE log_id = ?').run(
    r.head.size,
    r.head.lastHash,
    r.head.frontier,
    LOG_ID,
  );
}

/** The head of the first `size` stored entries, as the attacker recomputes it. */
export function headOf(db: Db, size: number): { size: number; lastHash: string; frontier: Uint8Array } {
  const range = CompactRange.empty();
  const hashes = db
    .prepare('SELECT hash FROM entries WHERE idx < ? ORDER BY idx')
    .pluck()
    .all(size) as string[];
  for (const h of hashes) range.append(Uint8Array.from(Buffer.from(h, 'hex')));
  return { size, lastHash: hashes.at(-1) ?? GENESIS, frontier: range.encode() };
}

export function setHead(db: Db, head: { size: number; lastHash: string; frontier: Uint8Array }): void {
  db.prepare('UPDATE logs SET size = ?, last_hash = ?, frontier = ? WHERE log_id = ?').run(
    head.size,
    head.lastHash,
    head.frontier,
    LOG_ID,
  );
}
