/**
 * The one place where an error becomes an HTTP answer: every ErrorCode has its status here,
 * and every failure, ours or Fastify's, leaves as `{"code","message","field"?,"rule"?,"issues"?}`.
 * A client's mistake is never a 500: only INTERNAL and the integrity alarms are.
 * docs/http-api.md lists the same table.
 */
import { ErrorCode, EvidentError, type FieldIssue, isEvidentError } from '../core/errors.ts';

export const HTTP_STATUS: Readonly<Record<ErrorCode, number>> = {
  VALIDATION_FAILED: 400,
  JSON_INVALID: 400,
  CANONICAL_INVALID: 400,
  ENCODING_INVALID: 400,
  PROOF_INVALID: 400,
  PROOF_RANGE: 400,
  BUNDLE_INVALID: 400,
  TRUSTED_CHECKPOINT_UNCHECKED: 400,
  TRUSTED_CHECKPOINT_INVALID: 400,
  USAGE: 400,
  TLOG_PROOF_MALFORMED: 400,
  TLOG_PROOF_REJECTED: 400,
  BAD_REQUEST: 400,
  UNAUTHENTICATED: 401,
  FORBIDDEN: 403,
  NOT_FOUND: 404,
  TILE_ENTRY_TOO_LARGE: 404,
  REQUEST_TIMEOUT: 408,
  ID_CONFLICT: 409,
  PAYLOAD_TOO_LARGE: 413,
  UNSUPPORTED_MEDIA_TYPE: 415,
  RATE_LIMITED: 429,
  STORE_BUSY: 503,
  LEDGER_CLOSED: 503,
  LOG_MOVED: 503,
  LOG_MISPLACED: 503,
  // Client-side codes: the server never raises them, a middleware in fail-closed mode answers 503.
  SPOOL_FULL: 503,
  SPOOL_FAILED: 503,
  DELIVERY_REJECTED: 500,
  DELIVERY_FAILED: 503,
  ARCHIVE_CONFLICT: 409,
  ARCHIVE_UNAVAILABLE: 503,
  DELIVERY_STALLED: 503,
  // The server's own data or configuration is at fault: an operator must look.
  PROOF_ROOT_MISMATCH: 500,
  NOTE_MALFORMED: 500,
  NOTE_SIGNATURE_INVALID: 500,
  NOTE_UNVERIFIED: 500,
  KEY_INVALID: 500,
  CHECKPOINT_MALFORMED: 500,
  CHECKPOINT_INCONSISTENT: 500,
  // Refused until an operator puts the database back: retrying here cannot help, another process may.
  LOG_FENCED: 503,
  WITNESS_QUORUM_UNMET: 500,
  TAMPER_DETECTED: 500,
  STORE_FAILED: 500,
  STORE_NOT_INITIALIZED: 500,
  STORE_FOREIGN: 500,
  DEPENDENCY_MISSING: 500,
  INTERNAL: 500,
};

/**
 * The codes that say the server's own data failed a check (a tampered or corrupted database):
 * each answer with one of them is an integrity alarm, counted apart for alerting.
 */
const INTEGRITY_ALARMS: ReadonlySet<ErrorCode> = new Set<ErrorCode>([
  ErrorCode.TAMPER_DETECTED,
  ErrorCode.PROOF_ROOT_MISMATCH,
  ErrorCode.NOTE_MALFORMED,
  ErrorCode.NOTE_SIGNATURE_INVALID,
  ErrorCode.NOTE_UNVERIFIED,
  ErrorCode.CHECKPOINT_MALFORMED,
  ErrorCode.CHECKPOINT_INCONSISTENT,
]);

/** The labels of an integrity alarm (code, and the rule the check broke), or undefined for any other error. */
export function integrityAlarm(e: unknown): { code: string; rule: string } | undefined {
  if (!isEvidentError(e) || !INTEGRITY_ALARMS.has(e.code)) return undefined;
  const rule = e.details['rule'];
  return { code: e.code, rule: typeof rule === 'string' ? rule : 'none' };
}

/** Fastify's own errors that a client causes, by Fastify error code, with our wording. */
const FASTIFY_CODES: Readonly<Record<string, [ErrorCode, string]>> = {
  FST_ERR_CTP_INVALID_MEDIA_TYPE: [ErrorCode.UNSUPPORTED_MEDIA_TYPE, 'send the body as application/json'],
  FST_ERR_CTP_INVALID_TYPE: [ErrorCode.UNSUPPORTED_MEDIA_TYPE, 'send the body as application/json'],
  FST_ERR_CTP_BODY_TOO_LARGE: [ErrorCode.PAYLOAD_TOO_LARGE, 'the body is too large'],
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: [ErrorCode.BAD_REQUEST, 'Content-Length does not match the body'],
  FST_ERR_CTP_EMPTY_JSON_BODY: [ErrorCode.BAD_REQUEST, 'the JSON body is empty'],
  FST_ERR_BAD_URL: [ErrorCode.BAD_REQUEST, 'the URL is malformed'],
  FST_ERR_MAX_PARAM_LENGTH: [ErrorCode.BAD_REQUEST, 'a path segment is too long'],
  FST_ERR_ASYNC_CONSTRAINT: [ErrorCode.BAD_REQUEST, 'the request does not meet a route constraint'],
  FST_ERR_NOT_FOUND: [ErrorCode.NOT_FOUND, 'no such route'],
};

/** A 4xx status Fastify or Node set, when the error has no code of ours. */
const BY_STATUS: Readonly<Record<number, ErrorCode>> = {
  401: ErrorCode.UNAUTHENTICATED,
  403: ErrorCode.FORBIDDEN,
  404: ErrorCode.NOT_FOUND,
  408: ErrorCode.REQUEST_TIMEOUT,
  413: ErrorCode.PAYLOAD_TOO_LARGE,
  415: ErrorCode.UNSUPPORTED_MEDIA_TYPE,
  429: ErrorCode.RATE_LIMITED,
};

/** Details that travel in the body beside code and message (never stack traces or causes). */
const PUBLIC_DETAILS = [
  'field',
  'rule',
  'issues',
  'item',
  'line',
  'column',
  'offset',
  'id',
  'size',
  'log_size',
  'limit',
  'retry_after_ms',
  // TILE_ENTRY_TOO_LARGE: where the same entries are served instead
  'alternative',
  // LOG_MOVED, LOG_MISPLACED: the clusters of the map involved (docs/clusters.md)
  'moved_to',
  'cluster',
  'found_on',
  'moving_from',
] as const;

export interface ErrorBody {
  code: string;
  message: string;
  field?: string;
  rule?: string;
  issues?: FieldIssue[];
  [detail: string]: unknown;
}

export interface HttpError {
  status: number;
  body: ErrorBody;
  headers: Record<string, string>;
}

export function toHttpError(e: unknown): HttpError {
  const evident = asEvidentError(e);
  if (!evident) {
    return { status: 500, body: { code: ErrorCode.INTERNAL, message: 'internal error' }, headers: {} };
  }
  const status = HTTP_STATUS[evident.code] ?? 500;
  const body: ErrorBody = {
    code: evident.code,
    message:
      status === 500 && evident.code === ErrorCode.STORE_FAILED ? 'the database failed' : evident.message,
  };
  for (const k of PUBLIC_DETAILS) {
    const v = evident.details[k];
    if (v !== undefined) (body as Record<string, unknown>)[k] = v;
  }
  const headers: Record<string, string> = {};
  const retry = retryAfterSeconds(evident);
  if (retry !== undefined) headers['retry-after'] = String(retry);
  // The rest of an oversized or stalled body is not worth reading: drop the connection after answering.
  if (status === 413 || status === 408) headers['connection'] = 'close';
  return { status, body, headers };
}

function retryAfterSeconds(e: EvidentError): number | undefined {
  if (
    e.code === ErrorCode.RATE_LIMITED ||
    e.code === ErrorCode.STORE_BUSY ||
    e.code === ErrorCode.LEDGER_CLOSED ||
    e.code === ErrorCode.LOG_MOVED ||
    e.code === ErrorCode.LOG_MISPLACED
  ) {
    const ms = e.details['retry_after_ms'];
    return typeof ms === 'number' && ms > 0 ? Math.max(1, Math.ceil(ms / 1000)) : 1;
  }
  return undefined;
}

/** Our errors as they are; Fastify's client errors translated; anything else undefined (a 500). */
function asEvidentError(e: unknown): EvidentError | undefined {
  if (isEvidentError(e)) return e;
  if (typeof e !== 'object' || e === null) return undefined;
  const { code, statusCode, message } = e as { code?: unknown; statusCode?: unknown; message?: unknown };
  const text = typeof message === 'string' ? message : 'bad request';
  const known = typeof code === 'string' ? FASTIFY_CODES[code] : undefined;
  if (known) return new EvidentError(known[0], known[1]);
  if (typeof statusCode === 'number' && statusCode >= 400 && statusCode < 500) {
    return new EvidentError(BY_STATUS[statusCode] ?? ErrorCode.BAD_REQUEST, text);
  }
  return undefined;
}

export function unauthenticated(message: string, reason: string): EvidentError {
  return new EvidentError(ErrorCode.UNAUTHENTICATED, message, { rule: reason });
}

export function forbidden(message: string, reason: string): EvidentError {
  return new EvidentError(ErrorCode.FORBIDDEN, message, { rule: reason });
}
