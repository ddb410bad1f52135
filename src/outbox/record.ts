/**
 * The application side: an audit event written in the application's own transaction, beside
 * the business change it records, so that both commit or neither does. The event is validated
 * here, before anything is inserted, with the same validator the log uses: a bad event throws
 * VALIDATION_FAILED while the application can still roll back, instead of being refused later
 * by the relay, after the business change committed.
 */
import { ErrorCode, EvidentError } from '../core/errors.ts';
import { validateEvent } from '../core/event/validate.ts';
import { isValidLogName, LOG_NAME_RULE } from '../core/log-name.ts';
import type { OutboxQueryable } from './pg.ts';
import { DEFAULT_OUTBOX_SCHEMA, OutboxStatements } from './sql.ts';

export interface RecordOptions {
  /** The log the event goes to (it must exist on the ledger side when the relay moves it). */
  log: string;
  /** The schema holding the outbox (default `public`). */
  schema?: string;
  /** Clock for a missing timestamp (default: now). */
  now?: () => Date;
}

export interface Recorded {
  /** The event's id (the caller's, or a new UUIDv7): its key in the log once relayed. */
  id: string;
  /** The event's timestamp (the caller's, or this moment's). */
  timestamp: string;
}

const statements = new Map<string, OutboxStatements>();

export function statementsFor(schema: string): OutboxStatements {
  let st = statements.get(schema);
  if (!st) {
    st = new OutboxStatements(schema);
    statements.set(schema, st);
  }
  return st;
}

/**
 * Writes `event` to the outbox through `client`, which MUST be the connection of the
 * transaction that makes the business change (a pool would run it on any connection, outside
 * that transaction). Throws VALIDATION_FAILED (naming each field and rule) or USAGE before any
 * write; a database error rejects as the driver's own error, leaving the transaction to the
 * caller's rollback. The id and timestamp are fixed here, so the relay's resends are the same
 * event and the log keeps it once.
 */
export async function recordInTransaction(
  client: OutboxQueryable,
  event: unknown,
  options: RecordOptions,
): Promise<Recorded> {
  if (typeof options?.log !== 'string' || !isValidLogName(options.log)) {
    throw new EvidentError(ErrorCode.USAGE, `a log name is ${LOG_NAME_RULE}`, { field: 'log' });
  }
  const st = statementsFor(options.schema ?? DEFAULT_OUTBOX_SCHEMA);
  const valid = validateEvent(event, options.now ? { now: options.now } : {});
  await client.query(st.enqueue, [options.log, JSON.stringify(valid)]);
  return { id: valid.id, timestamp: valid.timestamp };
}
