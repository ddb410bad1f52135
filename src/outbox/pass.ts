/**
 * One pass of the relay, in one PostgreSQL transaction on the outbox's database:
 *
 *   1. take the relay lock (pg_try_advisory_xact_lock): one active relay per outbox, so that
 *      passes never overlap and the log receives events in the order the relay took them;
 *   2. lock the lowest `batchSize` rows (ORDER BY seq ... FOR UPDATE);
 *   3. append them to their logs (Ledger.appendMany, all or nothing per log, and idempotent on
 *      ids): this MUST resolve only once the events are durable in the log;
 *   4. delete them (and move refused ones to the rejected table), then COMMIT.
 *
 * A crash or a lost connection after 3 and before 4 leaves the rows in place: the next pass
 * appends them again, the log answers with the original receipts (duplicate), and each event
 * is in the log exactly once. Rows are deleted only after their events are durable, so none
 * is lost either.
 */
import { ErrorCode, EvidentError, type FieldIssue, isEvidentError, ValidationError } from '../core/errors.ts';
import type { Receipt } from '../ledger/integrate.ts';
import type { OutboxQueryable } from './pg.ts';
import type { OutboxStatements } from './sql.ts';

/** What the relay needs of a log: `Ledger` meets it, and so does anything that appends the same way. */
export interface OutboxLedger {
  /**
   * Appends the events all together or not at all, idempotently by id. MUST NOT resolve before
   * they are durable; MUST refuse with VALIDATION_FAILED (with issue `item` positions) or
   * ID_CONFLICT for events it will never take, and with another code when a retry may succeed.
   */
  appendMany(events: readonly unknown[]): Promise<Receipt[]>;
}

export type LedgerFor = (log: string) => OutboxLedger | Promise<OutboxLedger>;

/** Refusals that a retry cannot change: the row goes to the rejected table. */
const PERMANENT: ReadonlySet<string> = new Set([
  ErrorCode.VALIDATION_FAILED,
  ErrorCode.ID_CONFLICT,
  ErrorCode.JSON_INVALID,
  ErrorCode.NOT_FOUND,
  ErrorCode.USAGE,
]);

export const isPermanent = (e: unknown): e is EvidentError => isEvidentError(e) && PERMANENT.has(e.code);

export interface Rejection {
  seq: string;
  log: string;
  /** The event's id, when the row held a JSON object with one. */
  id?: string;
  code: string;
  message: string;
  /** The error as JSON (code, message, and its details, e.g. the validation issues). */
  detail: string;
}

export type PassResult =
  | { state: 'standby' }
  | {
      state: 'active';
      taken: number;
      moved: number;
      duplicates: number;
      rejected: Rejection[];
      /** The age of the lowest row taken, in ms, from its transaction's start (0 when none). */
      oldestMs: number;
    };

interface Row {
  seq: string;
  log: string;
  event: string;
  age_ms: number;
}

interface Parsed {
  row: Row;
  event: unknown;
}

export async function runPass(
  db: OutboxQueryable,
  st: OutboxStatements,
  batchSize: number,
  ledgerFor: LedgerFor,
): Promise<PassResult> {
  await db.query('BEGIN ISOLATION LEVEL READ COMMITTED');
  try {
    const lock = await db.query<{ ok: boolean }>(st.lock);
    if (!lock.rows[0]?.ok) {
      await db.query('ROLLBACK');
      return { state: 'standby' };
    }
    const { rows } = await db.query<Row>(st.take, [batchSize]);
    const moved: string[] = [];
    const rejected: Rejection[] = [];
    let duplicates = 0;
    for (const [log, group] of byLog(rows)) {
      const parsed: Parsed[] = [];
      for (const row of group) {
        try {
          parsed.push({ row, event: JSON.parse(row.event) });
        } catch {
          rejected.push(rejection(row, undefined, new EvidentError(ErrorCode.JSON_INVALID, 'not JSON')));
        }
      }
      if (parsed.length === 0) continue;
      const r = await appendGroup(log, parsed, ledgerFor);
      moved.push(...r.moved);
      rejected.push(...r.rejected);
      duplicates += r.duplicates;
    }
    if (moved.length > 0) await db.query(st.remove, [moved]);
    if (rejected.length > 0) {
      await db.query(st.reject, [
        rejected.map((x) => x.seq),
        rejected.map((x) => x.code),
        rejected.map((x) => x.detail),
      ]);
    }
    await db.query('COMMIT');
    const oldestMs = Math.max(0, Math.round(rows[0]?.age_ms ?? 0));
    return { state: 'active', taken: rows.length, moved: moved.length, duplicates, rejected, oldestMs };
  } catch (e) {
    // A failed ROLLBACK means a dead connection: the server rolls back for us.
    await db.query('ROLLBACK').catch(() => undefined);
    throw e;
  }
}

/** Rows grouped by log, each group in seq order (a Map keeps the order of first sight). */
function byLog(rows: readonly Row[]): Map<string, Row[]> {
  const groups = new Map<string, Row[]>();
  for (const row of rows) {
    const g = groups.get(row.log);
    if (g) g.push(row);
    else groups.set(row.log, [row]);
  }
  return groups;
}

interface GroupResult {
  moved: string[];
  rejected: Rejection[];
  duplicates: number;
}

/**
 * Appends one log's rows in one call. When the log refuses that call for good, the rows at
 * fault are set aside and the rest appended, in the same order: by the positions the
 * validation issues name, else (an id conflict names no position) one row at a time. A
 * transient refusal throws: the pass rolls back and is retried whole.
 */
async function appendGroup(log: string, parsed: Parsed[], ledgerFor: LedgerFor): Promise<GroupResult> {
  let ledger: OutboxLedger;
  try {
    ledger = await ledgerFor(log);
  } catch (e) {
    if (!isPermanent(e)) throw e;
    return { moved: [], duplicates: 0, rejected: parsed.map((p) => rejection(p.row, p.event, e)) };
  }
  let refusal: EvidentError;
  try {
    return accepted(parsed, await ledger.appendMany(parsed.map((p) => p.event)));
  } catch (e) {
    if (!isPermanent(e)) throw e;
    refusal = e;
  }
  if (parsed.length === 1) {
    return { moved: [], duplicates: 0, rejected: [rejection(parsed[0]!.row, parsed[0]!.event, refusal)] };
  }
  const culprits = culpritsOf(refusal, parsed.length);
  if (culprits) {
    const out: GroupResult = { moved: [], duplicates: 0, rejected: [] };
    for (const [i, issues] of culprits) {
      out.rejected.push(rejection(parsed[i]!.row, parsed[i]!.event, new ValidationError(issues)));
    }
    const rest = parsed.filter((_, i) => !culprits.has(i));
    if (rest.length === 0) return out;
    const r = await appendGroup(log, rest, () => ledger);
    return {
      moved: r.moved,
      duplicates: r.duplicates,
      rejected: [...out.rejected, ...r.rejected].sort((a, b) => compareSeq(a.seq, b.seq)),
    };
  }
  const out: GroupResult = { moved: [], rejected: [], duplicates: 0 };
  for (const p of parsed) {
    try {
      const r = accepted([p], await ledger.appendMany([p.event]));
      out.moved.push(...r.moved);
      out.duplicates += r.duplicates;
    } catch (e) {
      if (!isPermanent(e)) throw e;
      out.rejected.push(rejection(p.row, p.event, e));
    }
  }
  return out;
}

/** The issues of a refused batch by event position, if every issue names one. */
function culpritsOf(e: EvidentError, n: number): Map<number, FieldIssue[]> | undefined {
  if (!(e instanceof ValidationError) || e.issues.length === 0) return undefined;
  const byItem = new Map<number, FieldIssue[]>();
  for (const { item, ...issue } of e.issues) {
    if (item === undefined || !Number.isInteger(item) || item < 0 || item >= n) return undefined;
    const list = byItem.get(item);
    if (list) list.push(issue);
    else byItem.set(item, [issue]);
  }
  return byItem;
}

const compareSeq = (a: string, b: string): number => a.length - b.length || (a < b ? -1 : a > b ? 1 : 0);

function accepted(parsed: readonly Parsed[], receipts: readonly Receipt[]): GroupResult {
  return {
    moved: parsed.map((p) => p.row.seq),
    rejected: [],
    duplicates: receipts.filter((r) => r.duplicate === true).length,
  };
}

function rejection(row: Row, event: unknown, e: EvidentError): Rejection {
  const id = (event as { id?: unknown } | null)?.id;
  const json = e.toJSON();
  // One event per row: a batch position in a validation issue would mean nothing in the table.
  if (e instanceof ValidationError) json['issues'] = e.issues.map(({ item: _, ...x }) => x);
  return {
    seq: row.seq,
    log: row.log,
    ...(typeof id === 'string' ? { id } : {}),
    code: e.code,
    message: e.message,
    detail: JSON.stringify(json),
  };
}
