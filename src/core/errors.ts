/**
 * Every failure evident reports carries a stable code. Tests assert codes, never messages;
 * docs/errors.md lists each code with its meaning.
 */
export const ErrorCode = {
  VALIDATION_FAILED: 'VALIDATION_FAILED',
  JSON_INVALID: 'JSON_INVALID',
  CANONICAL_INVALID: 'CANONICAL_INVALID',
  ENCODING_INVALID: 'ENCODING_INVALID',
  PROOF_INVALID: 'PROOF_INVALID',
  PROOF_ROOT_MISMATCH: 'PROOF_ROOT_MISMATCH',
  PROOF_RANGE: 'PROOF_RANGE',
  NOTE_MALFORMED: 'NOTE_MALFORMED',
  NOTE_SIGNATURE_INVALID: 'NOTE_SIGNATURE_INVALID',
  NOTE_UNVERIFIED: 'NOTE_UNVERIFIED',
  KEY_INVALID: 'KEY_INVALID',
  CHECKPOINT_MALFORMED: 'CHECKPOINT_MALFORMED',
  CHECKPOINT_INCONSISTENT: 'CHECKPOINT_INCONSISTENT',
  /** The log contradicts a checkpoint published outside the database (signer state, archive, witness): no append or signature until it is put back. */
  LOG_FENCED: 'LOG_FENCED',
  /** A checkpoint lacks the cosignatures of the witnesses the verifier trusts (C2SP tlog-witness): its history may not be the one others see. */
  WITNESS_QUORUM_UNMET: 'WITNESS_QUORUM_UNMET',
  ID_CONFLICT: 'ID_CONFLICT',
  NOT_FOUND: 'NOT_FOUND',
  STORE_BUSY: 'STORE_BUSY',
  STORE_FAILED: 'STORE_FAILED',
  /** The database or schema holds no evident store: `evident init` never ran there. */
  STORE_NOT_INITIALIZED: 'STORE_NOT_INITIALIZED',
  /** The database or schema holds tables that are not evident's (another application's). */
  STORE_FOREIGN: 'STORE_FOREIGN',
  /** An optional peer package an entry point needs is not installed (`package`, `range`). */
  DEPENDENCY_MISSING: 'DEPENDENCY_MISSING',
  LEDGER_CLOSED: 'LEDGER_CLOSED',
  /** The log moved to another cluster (docs/clusters.md): this copy is read-only; retry (`moved_to`, `retry_after_ms`). */
  LOG_MOVED: 'LOG_MOVED',
  /** The log is on another cluster than this server's cluster map places it (`cluster`, `found_on`): the maps disagree; retry. */
  LOG_MISPLACED: 'LOG_MISPLACED',
  TAMPER_DETECTED: 'TAMPER_DETECTED',
  BUNDLE_INVALID: 'BUNDLE_INVALID',
  /** A checkpoint kept outside that the bundle cannot be checked against (beyond it, or no proof from it): not OK, not evidence. */
  TRUSTED_CHECKPOINT_UNCHECKED: 'TRUSTED_CHECKPOINT_UNCHECKED',
  /** A --trusted-checkpoint file that is not a signed checkpoint of this log under the given key: the auditor's input, not evidence. */
  TRUSTED_CHECKPOINT_INVALID: 'TRUSTED_CHECKPOINT_INVALID',
  USAGE: 'USAGE',
  // The HTTP API's own refusals (src/server/errors.ts maps every code to a status).
  UNAUTHENTICATED: 'UNAUTHENTICATED',
  FORBIDDEN: 'FORBIDDEN',
  RATE_LIMITED: 'RATE_LIMITED',
  PAYLOAD_TOO_LARGE: 'PAYLOAD_TOO_LARGE',
  UNSUPPORTED_MEDIA_TYPE: 'UNSUPPORTED_MEDIA_TYPE',
  REQUEST_TIMEOUT: 'REQUEST_TIMEOUT',
  BAD_REQUEST: 'BAD_REQUEST',
  // The client SDK and the middleware (src/client, src/integrations).
  /** The client's spool holds its limit of undelivered events; nothing was written. */
  SPOOL_FULL: 'SPOOL_FULL',
  /** The client's spool cannot write or fsync (disk full, read-only, removed); nothing was acknowledged. */
  SPOOL_FAILED: 'SPOOL_FAILED',
  /** The server refused a spooled event for good (400, 409); it was set aside, never dropped. */
  DELIVERY_REJECTED: 'DELIVERY_REJECTED',
  /** The client could not deliver a batch (no answer, network, a malformed answer); it stays spooled and is retried. */
  DELIVERY_FAILED: 'DELIVERY_FAILED',
  /** The client has delivered nothing for a while although events wait in its spool. */
  DELIVERY_STALLED: 'DELIVERY_STALLED',
  // Archive targets (src/archive).
  /** An archive object exists under this name with other bytes: archives are written once, never overwritten. */
  ARCHIVE_CONFLICT: 'ARCHIVE_CONFLICT',
  /** An archive target cannot be reached or refused a write or read; nothing was pruned. */
  ARCHIVE_UNAVAILABLE: 'ARCHIVE_UNAVAILABLE',
  // Tiles and proof files (src/core/tlog).
  /** An entry bundle cannot hold an entry over 65,535 bytes (uint16 length): it is served in the uint32 format instead. */
  TILE_ENTRY_TOO_LARGE: 'TILE_ENTRY_TOO_LARGE',
  /** A C2SP tlog-proof file does not parse. */
  TLOG_PROOF_MALFORMED: 'TLOG_PROOF_MALFORMED',
  /** A C2SP tlog-proof file parses but does not prove its entry: a signature or the inclusion proof fails (`cause`). */
  TLOG_PROOF_REJECTED: 'TLOG_PROOF_REJECTED',
  /** An unexpected failure (a bug, or the machine): never a client's fault. */
  INTERNAL: 'INTERNAL',
} as const;

export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

/** One rule broken by one field of an input; `field` is a JSON-pointer-like path (`metadata.a[2]`). */
export interface FieldIssue {
  /** Position of the event in a batch, when the input was a batch. */
  item?: number;
  field: string;
  rule: string;
  message: string;
}

export class EvidentError extends Error {
  readonly code: ErrorCode;
  readonly details: Record<string, unknown>;

  constructor(code: ErrorCode, message: string, details: Record<string, unknown> = {}) {
    super(message);
    this.name = 'EvidentError';
    this.code = code;
    this.details = details;
  }

  toJSON(): Record<string, unknown> {
    return { code: this.code, message: this.message, ...this.details };
  }
}

/** A rejected input: lists every field at fault, each with the rule it broke. */
export class ValidationError extends EvidentError {
  readonly issues: FieldIssue[];

  constructor(issues: FieldIssue[], prefix = '') {
    const first = issues[0];
    const head = first ? `${first.field}: ${first.message}` : 'invalid input';
    const more = issues.length > 1 ? ` (and ${issues.length - 1} more)` : '';
    super(ErrorCode.VALIDATION_FAILED, `${prefix}${head}${more}`, { issues });
    this.name = 'ValidationError';
    this.issues = issues;
  }
}

export function isEvidentError(e: unknown, code?: ErrorCode): e is EvidentError {
  return e instanceof EvidentError && (code === undefined || e.code === code);
}
