/**
 * C2SP tlog-proof files (https://c2sp.org/tlog-proof): an offline-verifiable proof that an entry
 * is in a log, as text:
 *
 *   c2sp.org/tlog-proof@v1\n
 *   [extra <base64>\n]
 *   index <decimal>\n
 *   <base64 hash>\n ...          the RFC 9162 §2.1.3 inclusion proof, leaf's sibling first
 *   \n
 *   <the checkpoint, a signed note, verbatim (with any cosignatures)>
 *
 * evident puts the entry's leaf bytes in `extra` when the producer may read the entry. Extra
 * data is not authenticated by itself: it counts only through the inclusion proof, which binds
 * its leaf hash to the signed root.
 *
 * Verification (tlog-proof "Verifying a tlog proof"): the leaf hash; the checkpoint signed by a
 * trusted key for its origin; the inclusion proof against the checkpoint's root. Every failure
 * of those is TLOG_PROOF_REJECTED, with the underlying code in `cause`; a file that does not
 * parse is TLOG_PROOF_MALFORMED.
 */
import { fromBase64, fromUtf8, toBase64, toHex } from '../bytes.ts';
import { type OpenedCheckpoint, openCheckpoint } from '../checkpoint.ts';
import { ErrorCode, EvidentError, isEvidentError, ValidationError } from '../errors.ts';
import { HASH_SIZE, leafHash as hashLeaf } from '../hash.ts';
import { verifyInclusion } from '../merkle/verify.ts';
import { MAX_NOTE_BYTES, parseNote } from '../note.ts';
import type { NoteVerifier } from '../note-keys.ts';

export const TLOG_PROOF_HEADER = 'c2sp.org/tlog-proof@v1';
/** The media type evident serves and accepts for proof files (the spec names none). */
export const TLOG_PROOF_MEDIA_TYPE = 'text/x.tlog.proof';
/** An inclusion proof in a tree of at most 2^63 leaves has at most 63 hashes. */
const MAX_PROOF_HASHES = 63;
/** Bound on a whole file: a note, 63 hashes, and extra data up to a few large entries. */
export const MAX_TLOG_PROOF_BYTES = MAX_NOTE_BYTES + 2 * 1024 * 1024;

export interface TlogProof {
  extra?: Uint8Array;
  index: number;
  hashes: Uint8Array[];
  /** The signed checkpoint note, verbatim. */
  checkpoint: string;
}

export interface VerifiedTlogProof {
  index: number;
  leafHash: Uint8Array;
  /** Whether the leaf came from the file's `extra` line rather than from the caller. */
  leafFromExtra: boolean;
  opened: OpenedCheckpoint;
}

const DECIMAL = /^(?:0|[1-9][0-9]*)$/;

function malformed(reason: string, message: string, extra: Record<string, unknown> = {}): EvidentError {
  return new EvidentError(ErrorCode.TLOG_PROOF_MALFORMED, message, { reason, ...extra });
}

function rejected(cause: EvidentError, message: string): EvidentError {
  return new EvidentError(ErrorCode.TLOG_PROOF_REJECTED, `${message}: ${cause.message}`, {
    cause: cause.code,
    ...cause.details,
  });
}

export function formatTlogProof(p: TlogProof): string {
  const lines = [TLOG_PROOF_HEADER];
  if (p.extra !== undefined) lines.push(`extra ${toBase64(p.extra)}`);
  if (!Number.isSafeInteger(p.index) || p.index < 0)
    throw malformed('index', 'index must be a non-negative integer');
  lines.push(`index ${p.index}`);
  for (const h of p.hashes) {
    if (h.length !== HASH_SIZE) throw malformed('hash', `each proof hash is ${HASH_SIZE} bytes`);
    lines.push(toBase64(h));
  }
  parseNote(p.checkpoint); // never write a file that cannot be read back
  return `${lines.join('\n')}\n\n${p.checkpoint}`;
}

/** Parses a proof file strictly; TLOG_PROOF_MALFORMED (details.reason, details.line) on any fault. */
export function parseTlogProof(input: string | Uint8Array): TlogProof {
  let text: string;
  if (typeof input === 'string') text = input;
  else {
    if (input.length > MAX_TLOG_PROOF_BYTES)
      throw malformed('size', `a proof file is at most ${MAX_TLOG_PROOF_BYTES} bytes`);
    try {
      text = fromUtf8(input);
    } catch {
      throw malformed('utf8', 'the proof file is not valid UTF-8');
    }
  }
  if (text.length > MAX_TLOG_PROOF_BYTES)
    throw malformed('size', `a proof file is at most ${MAX_TLOG_PROOF_BYTES} bytes`);
  // tlog-proof: "lines separated by newlines (U+000A)"; a CR would also change the signed note.
  if (text.includes('\r')) throw malformed('carriage-return', 'lines end in LF only, never CR LF');
  const blank = text.indexOf('\n\n');
  if (blank < 0) throw malformed('structure', 'no empty line before the checkpoint');
  const head = text.slice(0, blank).split('\n');
  const checkpoint = text.slice(blank + 2);
  let line = 0;
  if (head[line] !== TLOG_PROOF_HEADER) {
    throw malformed('header', `the first line must be ${TLOG_PROOF_HEADER}`, { line: 1 });
  }
  line++;
  let extra: Uint8Array | undefined;
  if (head[line]?.startsWith('extra ')) {
    try {
      extra = fromBase64(head[line]!.slice('extra '.length));
    } catch {
      throw malformed('extra', 'extra must be canonical standard base64', { line: line + 1 });
    }
    line++;
  }
  const idx = head[line];
  const digits = idx?.startsWith('index ') ? idx.slice('index '.length) : undefined;
  if (digits === undefined || !DECIMAL.test(digits) || !Number.isSafeInteger(Number(digits))) {
    throw malformed('index', 'expected "index <decimal>" without leading zeros', { line: line + 1 });
  }
  const index = Number(digits);
  line++;
  const hashes: Uint8Array[] = [];
  for (; line < head.length; line++) {
    if (hashes.length === MAX_PROOF_HASHES) {
      throw malformed('hashes', `an inclusion proof has at most ${MAX_PROOF_HASHES} hashes`, {
        line: line + 1,
      });
    }
    try {
      hashes.push(fromBase64(head[line]!, HASH_SIZE));
    } catch {
      throw malformed('hash', `each proof line must be the canonical base64 of ${HASH_SIZE} bytes`, {
        line: line + 1,
      });
    }
  }
  try {
    parseNote(checkpoint);
  } catch (e) {
    throw malformed('checkpoint', `the checkpoint is not a signed note: ${(e as Error).message}`, {
      ...(isEvidentError(e) ? { note: e.details } : {}),
    });
  }
  return { ...(extra !== undefined ? { extra } : {}), index, hashes, checkpoint };
}

export interface VerifyTlogProofOptions {
  /** The log's verifier keys (and any other trusted signers of its checkpoints). */
  verifiers: readonly NoteVerifier[];
  /** The leaf bytes the proof must cover; else the file's `extra` line, which must then be present. */
  leaf?: Uint8Array;
  /** Only this checkpoint origin is accepted. */
  origin?: string;
}

/**
 * Verifies a proof file. TLOG_PROOF_MALFORMED if it does not parse; VALIDATION_FAILED (field
 * `leaf`) if no leaf is given and the file has no extra data; KEY_INVALID (reason
 * `key-name-mismatch`) if no checkpoint signature is under a verifier's name; TLOG_PROOF_REJECTED
 * when a signature, the origin or the inclusion proof fails (`cause`: NOTE_SIGNATURE_INVALID,
 * NOTE_UNVERIFIED, CHECKPOINT_MALFORMED, PROOF_INVALID or PROOF_ROOT_MISMATCH).
 */
export function verifyTlogProof(
  input: string | Uint8Array | TlogProof,
  o: VerifyTlogProofOptions,
): VerifiedTlogProof {
  const p = typeof input === 'string' || input instanceof Uint8Array ? parseTlogProof(input) : input;
  const leaf = o.leaf ?? p.extra;
  if (leaf === undefined) {
    throw new ValidationError([
      { field: 'leaf', rule: 'required', message: 'the proof file has no extra data: give the leaf bytes' },
    ]);
  }
  const names = new Set(o.verifiers.map((v) => v.name));
  const signedUnder = parseNote(p.checkpoint).signatures.map((s) => s.name);
  if (!signedUnder.some((n) => names.has(n))) {
    throw new EvidentError(
      ErrorCode.KEY_INVALID,
      `the checkpoint carries no signature under the key's name (${[...names].join(', ')})`,
      { reason: 'key-name-mismatch', signed_by: signedUnder },
    );
  }
  let opened: OpenedCheckpoint;
  try {
    opened = openCheckpoint(p.checkpoint, o.verifiers, o.origin);
  } catch (e) {
    if (isEvidentError(e) && e.code !== ErrorCode.KEY_INVALID)
      throw rejected(e, 'the checkpoint does not verify');
    throw e;
  }
  const lh = hashLeaf(leaf);
  const { size, rootHash } = opened.checkpoint;
  try {
    verifyInclusion(lh, p.index, size, p.hashes, rootHash);
  } catch (e) {
    if (isEvidentError(e)) {
      throw rejected(
        new EvidentError(e.code, e.message, { ...e.details, index: p.index, size, leaf_hash: toHex(lh) }),
        'the inclusion proof does not verify',
      );
    }
    throw e;
  }
  return { index: p.index, leafHash: lh, leafFromExtra: o.leaf === undefined, opened };
}
