/**
 * The outbox's tables and statements, in the application's own database. Events wait in
 * `evident_outbox` (written in the application's transaction) until the relay moves them into
 * the log; events the log refuses for good move to `evident_outbox_rejected`, never dropped.
 *
 * The queue is ordered by `seq`, but `seq` is drawn at INSERT, not at COMMIT: a row with a lower
 * seq can become visible after higher ones were relayed. So the relay keeps no high-water mark:
 * it always takes the lowest rows present and deletes what it moved, and a late row is simply
 * the lowest one present on a later pass.
 */
import { checkSchemaName } from '../store/postgres/migrations.ts';

export const OUTBOX_TABLE = 'evident_outbox';
export const REJECTED_TABLE = 'evident_outbox_rejected';
export const DEFAULT_OUTBOX_SCHEMA = 'public';

/**
 * The NOTIFY channel of the outbox in `schema` (one per schema, so two apps rarely wake each
 * other). Cut to 63 bytes: pg_notify refuses a longer channel name (NAMEDATALEN), which would
 * fail every enqueue; two long schema names sharing a prefix then share a channel, which costs
 * a spurious wake-up and nothing else.
 */
export const channelOf = (schema: string): string => `evident_outbox_${checkSchemaName(schema)}`.slice(0, 63);

/** The key of the advisory lock that keeps one relay active per outbox (order needs one mover). */
export const relayLockName = (schema: string): string => `evident.outbox.relay:${checkSchemaName(schema)}`;

/**
 * The outbox's DDL, idempotent: safe to run at every start and by many processes at once (an
 * advisory lock serialises them). One simple-protocol query string, so that it is one implicit
 * transaction on whatever connection a pool picks. Requires PostgreSQL 11 or later.
 */
export function outboxDdl(schema: string): string {
  const name = checkSchemaName(schema);
  const s = `"${name}"`;
  const channel = channelOf(name);
  return `SELECT pg_advisory_xact_lock(hashtextextended('evident.outbox.install:${name}', 0));
CREATE SCHEMA IF NOT EXISTS ${s};
-- Events waiting for the relay, in seq order. "event" is the validated event's JSON text, kept
-- byte for byte (jsonb would reorder keys and drop duplicates): a resend is then the same content.
CREATE TABLE IF NOT EXISTS ${s}.${OUTBOX_TABLE} (
  seq         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  log         text NOT NULL,
  event       text NOT NULL,
  enqueued_at timestamptz NOT NULL DEFAULT now()
);
-- Events the log refused for good (VALIDATION_FAILED, ID_CONFLICT, ...), with the reason.
CREATE TABLE IF NOT EXISTS ${s}.${REJECTED_TABLE} (
  seq         bigint PRIMARY KEY,
  log         text NOT NULL,
  event       text NOT NULL,
  enqueued_at timestamptz NOT NULL,
  rejected_at timestamptz NOT NULL DEFAULT now(),
  code        text NOT NULL,
  detail      text NOT NULL
);
-- Wakes a listening relay when a transaction that enqueued commits (NOTIFY is delivered at
-- COMMIT, and only then; a rolled-back transaction wakes nobody). Once per statement, not per row.
CREATE OR REPLACE FUNCTION ${s}.evident_outbox_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify('${channel}', '');
  RETURN NULL;
END $$;
DROP TRIGGER IF EXISTS evident_outbox_notify ON ${s}.${OUTBOX_TABLE};
CREATE TRIGGER evident_outbox_notify AFTER INSERT ON ${s}.${OUTBOX_TABLE}
  FOR EACH STATEMENT EXECUTE FUNCTION ${s}.evident_outbox_notify();
`;
}

/** The statements of the relay and of the application side, for one schema. */
export class OutboxStatements {
  readonly enqueue: string;
  readonly lock: string;
  readonly take: string;
  readonly remove: string;
  readonly reject: string;
  readonly listen: string;
  readonly requeue: string;

  constructor(schema: string) {
    const name = checkSchemaName(schema);
    const s = `"${name}"`;
    const t = `${s}.${OUTBOX_TABLE}`;
    const r = `${s}.${REJECTED_TABLE}`;
    // no RETURNING: the application's role then needs INSERT on the table and nothing more
    this.enqueue = `INSERT INTO ${t} (log, event) VALUES ($1, $2)`;
    this.lock = `SELECT pg_try_advisory_xact_lock(hashtextextended('${relayLockName(name)}', 0)) AS ok`;
    // FOR UPDATE: rows being relayed cannot be deleted or changed by anyone else meanwhile.
    // o.seq, qualified: a bare "seq" in ORDER BY would name the text output column (and sort
    // '10' before '9').
    this.take = `SELECT o.seq::text AS seq, o.log, o.event,
  (extract(epoch FROM clock_timestamp() - o.enqueued_at) * 1000)::float8 AS age_ms
  FROM ${t} o ORDER BY o.seq LIMIT $1 FOR UPDATE`;
    this.remove = `DELETE FROM ${t} WHERE seq = ANY($1::bigint[])`;
    this.reject = `WITH d AS (DELETE FROM ${t} WHERE seq = ANY($1::bigint[]) RETURNING *)
INSERT INTO ${r} (seq, log, event, enqueued_at, code, detail)
  SELECT d.seq, d.log, d.event, d.enqueued_at, x.code, x.detail
  FROM d JOIN unnest($1::bigint[], $2::text[], $3::text[]) AS x(seq, code, detail) ON x.seq = d.seq`;
    this.listen = `LISTEN "${channelOf(name)}"`;
    // Back into the queue with a new seq (at the end: after whatever waits now).
    this.requeue = `WITH d AS (DELETE FROM ${r} WHERE seq = ANY($1::bigint[]) RETURNING seq, log, event)
INSERT INTO ${t} (log, event) SELECT log, event FROM d ORDER BY seq RETURNING seq::text AS seq`;
  }
}
