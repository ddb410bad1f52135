/**
 * The statements of an append, shared by the store's own connection and its append worker
 * (./append-worker.ts): the rows of a batch and the head it leaves, and the check that the
 * stored head is still the one the batch was sealed on (Store.appendAt), and the settings of a
 * connection that writes. Synchronous: the caller holds the write lock (BEGIN IMMEDIATE);
 * commitIfHead ends the transaction, the general path's caller (insertRows) ends its own.
 */
import type { Entry } from '../../core/event/entry.ts';
import { nodeTile } from '../../core/tlog/tile-path.ts';
import { ENTRY_COLUMNS, entryToRows } from '../rows.ts';
import type { LogHead, NodeHash } from '../types.ts';
import { COLS, type Prepare } from './entry-reads.ts';

const INSERT_ENTRY = `INSERT INTO entries (log_id, ${COLS}) VALUES (?, ${ENTRY_COLUMNS.map(() => '?').join(', ')})`;

/**
 * A batch as the parameters of its statements (after the log id): what the append thread is
 * handed. Made on the thread that validated the events, as the text of an event's JSON values
 * is the one validation kept for that very object (core/event/json-text.ts).
 */
export interface AppendRows {
  entries: unknown[][];
  secrets: unknown[][];
  nodes: unknown[][];
  head: LogHead;
}

export function appendRows(entries: readonly Entry[], nodes: readonly NodeHash[], head: LogHead): AppendRows {
  const out: AppendRows = { entries: [], secrets: [], nodes: [], head };
  for (const e of entries) {
    const { row, secrets } = entryToRows(e);
    out.entries.push(ENTRY_COLUMNS.map((c) => row[c]));
    for (const s of secrets) out.secrets.push([s.idx, s.field, s.value, s.salt]);
  }
  for (const n of nodes) out.nodes.push([...nodeTile(n.level, n.index), n.level, n.index, n.hash]);
  return out;
}

/** Writes a batch's entries (and their erasable values), its tree nodes and the new head. */
export function insertRows(stmt: Prepare, logId: number, rows: AppendRows): void {
  const ins = stmt(INSERT_ENTRY);
  for (const r of rows.entries) ins.run(logId, ...r);
  const insSecret = stmt(
    'INSERT INTO entry_secrets (log_id, idx, field, value, salt) VALUES (?, ?, ?, ?, ?)',
  );
  for (const r of rows.secrets) insSecret.run(logId, ...r);
  const insNode = stmt(
    'INSERT INTO tree_nodes (log_id, tile_level, tile_index, level, idx, hash) VALUES (?, ?, ?, ?, ?, ?)',
  );
  for (const r of rows.nodes) insNode.run(logId, ...r);
  const { head } = rows;
  stmt('UPDATE logs SET size = ?, last_hash = ?, frontier = ? WHERE log_id = ?').run(
    head.size,
    head.lastHash,
    head.frontier,
    logId,
  );
}

/**
 * Whether the stored head is exactly `expected` and agrees with the entries: the last stored
 * entry is the one at size - 1, its hash is the head's last hash, and no entry lies past it.
 * Anything else (another writer moved the head, or the rows were changed under it) is left to
 * the general path, whose full check names what is wrong (ledger/head.ts).
 */
export function headIs(stmt: Prepare, logId: number, expected: LogHead): boolean {
  const same = stmt('SELECT size = ? AND last_hash = ? AND frontier = ? FROM logs WHERE log_id = ?').pluck();
  if (same.get(expected.size, expected.lastHash, expected.frontier, logId) !== 1) return false;
  const tail = stmt('SELECT idx, hash FROM entries WHERE log_id = ? AND idx >= ? ORDER BY idx LIMIT 2').all(
    logId,
    expected.size - 1,
  ) as { idx: number; hash: string }[];
  if (expected.size === 0) return tail.length === 0;
  return tail.length === 1 && tail[0]!.idx === expected.size - 1 && tail[0]!.hash === expected.lastHash;
}

/**
 * Inside a write transaction: writes the batch when the head is still `expected` and none of its
 * ids is stored (the unique index `entries_id` refuses one). Returns false otherwise: whatever
 * it wrote before a stored id was met, the caller rolls back.
 */
export function appendIfHead(stmt: Prepare, logId: number, expected: LogHead, rows: AppendRows): boolean {
  if (!headIs(stmt, logId, expected)) return false;
  try {
    insertRows(stmt, logId, rows);
    return true;
  } catch (e) {
    if (isStoredId(e)) return false;
    throw e;
  }
}

/**
 * The transaction after BEGIN IMMEDIATE, on either connection: appendIfHead, then COMMIT when it
 * wrote and ROLLBACK when it did not or failed (the error is thrown on).
 */
export function commitIfHead(
  db: { readonly inTransaction: boolean },
  stmt: Prepare,
  logId: number,
  expected: LogHead,
  rows: AppendRows,
): boolean {
  try {
    const written = appendIfHead(stmt, logId, expected, rows);
    stmt(written ? 'COMMIT' : 'ROLLBACK').run();
    return written;
  } catch (e) {
    if (db.inTransaction) stmt('ROLLBACK').run();
    throw e;
  }
}

/**
 * The durability settings of every connection that writes the file (the store's own and the
 * append thread's): each commit is on disk before it returns, and deleted values (GDPR erasure)
 * are overwritten instead of left in free pages.
 */
export function writeDurably(db: { pragma(source: string): unknown }): void {
  db.pragma('synchronous = FULL');
  db.pragma('secure_delete = ON');
}

/** SQLite's refusal of an id the log already holds. */
function isStoredId(e: unknown): boolean {
  const err = e as { code?: string; message?: string };
  return (
    err.code === 'SQLITE_CONSTRAINT_UNIQUE' && (err.message ?? '').includes('entries.log_id, entries.id')
  );
}
