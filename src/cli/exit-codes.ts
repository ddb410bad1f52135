/**
 * The one place where an error becomes the CLI's exit code, keyed by error code like the HTTP
 * status table (../server/errors.ts). Auditors script against these numbers:
 *   0 success; 1 ONLY for evidence of tampering; 2 usage, input or environment errors (bad
 *   flags, invalid events, a missing database, key or log, an unreachable address, a busy or
 *   failed database); 3 an unexpected failure (INTERNAL: a bug, or the machine).
 * docs/errors.md and README.md list the same table; a test holds them to it.
 */
import type { ErrorCode } from '../core/errors.ts';

export const EXIT_OK = 0;
export const EXIT_TAMPERED = 1;
export const EXIT_USAGE = 2;
export const EXIT_INTERNAL = 3;

export const EXIT_CODE: Readonly<Record<ErrorCode, number>> = {
  // Evidence of tampering: the stored log contradicts what was signed.
  TAMPER_DETECTED: EXIT_TAMPERED,
  // Refusing to sign: the stored tree is smaller than, or not consistent with, its own signed
  // checkpoint (RFC 9162 §2.1.4): only a rewritten database gets there.
  CHECKPOINT_INCONSISTENT: EXIT_TAMPERED,
  // The log contradicts a checkpoint it published (kept outside the database): it was rolled
  // back or rewritten, so appending would sign a fork.
  LOG_FENCED: EXIT_TAMPERED,
  // A proof file that does not prove its entry: a signature or the inclusion proof fails.
  TLOG_PROOF_REJECTED: EXIT_TAMPERED,
  // The auditor required K cosignatures from witnesses it trusts and the checkpoint lacks them:
  // the log cannot show that this history is the one it showed everyone else (no witness saw
  // it consistent with theirs), so the verification fails like any other, never as a usage slip.
  WITNESS_QUORUM_UNMET: EXIT_TAMPERED,
  // Everything else the user can act on: what was given, or the environment it runs in.
  VALIDATION_FAILED: EXIT_USAGE,
  JSON_INVALID: EXIT_USAGE,
  CANONICAL_INVALID: EXIT_USAGE,
  ENCODING_INVALID: EXIT_USAGE,
  ID_CONFLICT: EXIT_USAGE,
  PROOF_INVALID: EXIT_USAGE,
  PROOF_ROOT_MISMATCH: EXIT_USAGE,
  PROOF_RANGE: EXIT_USAGE,
  NOTE_MALFORMED: EXIT_USAGE,
  NOTE_SIGNATURE_INVALID: EXIT_USAGE,
  NOTE_UNVERIFIED: EXIT_USAGE,
  KEY_INVALID: EXIT_USAGE,
  CHECKPOINT_MALFORMED: EXIT_USAGE,
  NOT_FOUND: EXIT_USAGE,
  STORE_BUSY: EXIT_USAGE,
  STORE_FAILED: EXIT_USAGE,
  LEDGER_CLOSED: EXIT_USAGE,
  LOG_MOVED: EXIT_USAGE,
  LOG_MISPLACED: EXIT_USAGE,
  BUNDLE_INVALID: EXIT_USAGE,
  // The auditor's own input: a checkpoint file of another log or not a checkpoint, or one the
  // bundle cannot be checked against (it does not reach it): not evidence (docs/formats.md).
  TRUSTED_CHECKPOINT_INVALID: EXIT_USAGE,
  TRUSTED_CHECKPOINT_UNCHECKED: EXIT_USAGE,
  STORE_NOT_INITIALIZED: EXIT_USAGE,
  STORE_FOREIGN: EXIT_USAGE,
  DEPENDENCY_MISSING: EXIT_USAGE,
  USAGE: EXIT_USAGE,
  UNAUTHENTICATED: EXIT_USAGE,
  FORBIDDEN: EXIT_USAGE,
  RATE_LIMITED: EXIT_USAGE,
  PAYLOAD_TOO_LARGE: EXIT_USAGE,
  UNSUPPORTED_MEDIA_TYPE: EXIT_USAGE,
  REQUEST_TIMEOUT: EXIT_USAGE,
  BAD_REQUEST: EXIT_USAGE,
  SPOOL_FULL: EXIT_USAGE,
  SPOOL_FAILED: EXIT_USAGE,
  DELIVERY_REJECTED: EXIT_USAGE,
  DELIVERY_FAILED: EXIT_USAGE,
  ARCHIVE_CONFLICT: EXIT_USAGE,
  ARCHIVE_UNAVAILABLE: EXIT_USAGE,
  DELIVERY_STALLED: EXIT_USAGE,
  TILE_ENTRY_TOO_LARGE: EXIT_USAGE,
  TLOG_PROOF_MALFORMED: EXIT_USAGE,
  INTERNAL: EXIT_INTERNAL,
};

/** A failure that is not an EvidentError is a bug or the machine: INTERNAL's exit code. */
export function exitCodeOf(code: ErrorCode | undefined): number {
  return code === undefined ? EXIT_CODE.INTERNAL : EXIT_CODE[code];
}
