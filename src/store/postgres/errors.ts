/**
 * PostgreSQL failures as coded errors. Transient ones (the server is unreachable, shutting
 * down or failing over, a lock wait timed out, too many connections, a serialization failure)
 * become STORE_BUSY, which the HTTP layer answers with 503 and Retry-After; the rest
 * STORE_FAILED, carrying the SQLSTATE.
 */
import { ErrorCode, EvidentError } from '../../core/errors.ts';
import type { NodeId } from '../../core/merkle/index.ts';

/** SQLSTATEs raised by this schema's own triggers (migrations.ts); see docs/postgres.md. */
export const RuleViolation = {
  /** UPDATE, DELETE or TRUNCATE on a table of record. */
  APPEND_ONLY: 'EV001',
  /** A log head that would shrink, or a log's identity that would change. */
  HEAD_REWRITE: 'EV002',
  /** A value deleted without a recorded erasure, or an erasure naming no erasure event. */
  ERASURE_UNRECORDED: 'EV003',
  /** An API key changed other than by its one revocation. */
  API_KEY_REVOKE_ONLY: 'EV004',
  /** An entry deleted outside a pruned range named by an evident.prune event, or without its leaf hash kept. */
  PRUNE_UNRECORDED: 'EV005',
  /** A write to a log moved to another cluster (migration 9): read-only here. */
  LOG_MOVED: 'EV006',
} as const;

/** SQLSTATEs after which the same request may well succeed a moment later. */
const TRANSIENT = new Set([
  '40001', // serialization_failure
  '40P01', // deadlock_detected
  '55P03', // lock_not_available (lock_timeout while waiting for a log's head)
  '57014', // query_canceled (statement_timeout)
  '57P01', // admin_shutdown
  '57P02', // crash_shutdown
  '57P03', // cannot_connect_now (starting up, or in recovery)
  '53300', // too_many_connections
  '25006', // read_only_sql_transaction: a standby, e.g. during a failover
]);

/** What node-postgres says when the connection (not the statement) failed. */
const CONNECTION_LOST =
  /timeout exceeded when trying to connect|Connection terminated|not queryable|connection error|ECONN|EPIPE|ETIMEDOUT|EHOSTUNREACH|ENOTFOUND|EAI_AGAIN/i;

export const RETRY_AFTER_MS = 1000;

/**
 * Whether a failure means this server may no longer be the primary: the connection was lost
 * or refused (08xxx, or node-postgres's own connection errors), the server is shutting down or
 * starting up (57P01 to 57P03), or it refused a write as a standby (25006).
 */
export function isServerLoss(e: unknown): boolean {
  if (e instanceof EvidentError) return false;
  const code = String((e as { code?: unknown }).code ?? '');
  if (/^[0-9A-Z]{5}$/.test(code)) {
    return code.startsWith('08') || code === '25006' || /^57P0[123]$/.test(code);
  }
  const message = (e as Error)?.message ?? String(e);
  return CONNECTION_LOST.test(code) || CONNECTION_LOST.test(message);
}

export function pgError(e: unknown): EvidentError {
  if (e instanceof EvidentError) return e;
  const code = String((e as { code?: unknown }).code ?? '');
  const message = (e as Error)?.message ?? String(e);
  if (code === RuleViolation.LOG_MOVED) return logMoved(String((e as { detail?: unknown }).detail ?? ''));
  const sqlstate = /^[0-9A-Z]{5}$/.test(code) ? code : undefined;
  const transient = sqlstate
    ? TRANSIENT.has(sqlstate) || sqlstate.startsWith('08')
    : CONNECTION_LOST.test(code) || CONNECTION_LOST.test(message);
  if (transient) {
    return new EvidentError(ErrorCode.STORE_BUSY, `PostgreSQL is unavailable: ${message}`, {
      ...(sqlstate ? { sqlstate } : code ? { cause: code } : {}),
      retry_after_ms: RETRY_AFTER_MS,
    });
  }
  return new EvidentError(ErrorCode.STORE_FAILED, `PostgreSQL: ${message}`, sqlstate ? { sqlstate } : {});
}

export function missingNode(n: NodeId): EvidentError {
  return new EvidentError(ErrorCode.STORE_FAILED, `tree node level ${n.level} index ${n.index} is missing`, {
    level: n.level,
    index: n.index,
  });
}

/**
 * A write refused because the log moved to another cluster (docs/clusters.md): pushback the
 * client retries, as a server with the current map writes the new copy.
 */
export function logMoved(movedTo: string, log?: string): EvidentError {
  return new EvidentError(
    ErrorCode.LOG_MOVED,
    `${log === undefined ? 'the log' : `log "${log}"`} moved to cluster "${movedTo}": this copy is read-only; retry (a server with the current cluster map writes it there)`,
    { ...(log !== undefined ? { log } : {}), moved_to: movedTo, retry_after_ms: RETRY_AFTER_MS },
  );
}
