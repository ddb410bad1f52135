/**
 * C2SP transparency log checkpoints (https://c2sp.org/tlog-checkpoint): the note text
 *
 *   <origin>\n<decimal tree size>\n<base64 root hash>\n[<extension line>\n]*
 *
 * signed as a C2SP signed note (./note.ts).
 */
import { fromBase64, toBase64 } from './bytes.ts';
import { ErrorCode, EvidentError } from './errors.ts';
import { HASH_SIZE } from './hash.ts';
import { type NoteSignature, signNote, verifyNote } from './note.ts';
import type { NoteSigner, NoteVerifier } from './note-keys.ts';

export interface CheckpointInput {
  origin: string;
  size: number;
  rootHash: Uint8Array;
  extensions?: readonly string[];
}

export interface Checkpoint {
  origin: string;
  size: number;
  rootHash: Uint8Array;
  extensions: string[];
}

/**
 * SHOULD-level departures seen when opening a checkpoint; not errors:
 * - `key-name-not-origin`: no verified signature's key name equals the origin
 *   (tlog-checkpoint: "The log's key name in its signature line SHOULD match the origin line");
 * - `origin-not-recommended`: the origin holds a Unicode space or '+' (tlog-checkpoint: it
 *   "SHOULD be a schema-less URL containing neither Unicode spaces nor plus").
 */
export type CheckpointWarning = 'key-name-not-origin' | 'origin-not-recommended';

export interface OpenedCheckpoint {
  checkpoint: Checkpoint;
  /** The exact signed text. */
  text: string;
  verified: NoteSignature[];
  unknown: NoteSignature[];
  warnings: CheckpointWarning[];
}

function malformed(reason: string, message: string, extra: Record<string, unknown> = {}): EvidentError {
  return new EvidentError(ErrorCode.CHECKPOINT_MALFORMED, message, { reason, ...extra });
}

// Note text rules (signed-note "Format"): no control character but newline, valid UTF-8.
const BAD_CHAR = /[\u0000-\u0009\u000b-\u001f]/;
const LONE_SURROGATE = /\p{Cs}/u;
const BAD_LINE_CHAR = /[\u0000-\u001f]|\p{Cs}/u;
// tlog-checkpoint: the size has "no leading zeroes (unless the tree is empty ...)"; no sign.
const SIZE = /^(?:0|[1-9][0-9]*)$/;
const NOT_RECOMMENDED_ORIGIN = /[\p{White_Space}+]/u;

function checkLine(line: string, what: string, index: number): void {
  if (typeof line !== 'string' || line.length === 0) {
    throw malformed('empty-line', `${what} must be non-empty`, { line: index });
  }
  if (BAD_LINE_CHAR.test(line)) {
    throw malformed('control-character', `${what} contains a newline or control character`, { line: index });
  }
}

/** Formats the checkpoint body (the note text), ending in a newline. */
export function formatCheckpoint(cp: CheckpointInput): string {
  checkLine(cp.origin, 'origin', 0);
  if (!Number.isSafeInteger(cp.size) || cp.size < 0) {
    throw malformed('size', 'size must be a non-negative safe integer', { line: 1 });
  }
  if (!(cp.rootHash instanceof Uint8Array) || cp.rootHash.length !== HASH_SIZE) {
    throw malformed('root-hash', `root hash must be ${HASH_SIZE} bytes`, { line: 2 });
  }
  const ext = cp.extensions ?? [];
  for (const [i, e] of ext.entries()) checkLine(e, 'extension line', 3 + i);
  return [cp.origin, String(cp.size), toBase64(cp.rootHash), ...ext].map((l) => `${l}\n`).join('');
}

/** Parses a checkpoint body strictly. Throws CHECKPOINT_MALFORMED (details.reason, details.line). */
export function parseCheckpoint(text: string): Checkpoint {
  if (typeof text !== 'string') throw malformed('type', 'checkpoint must be a string');
  const bad = BAD_CHAR.exec(text);
  if (bad)
    throw malformed('control-character', 'checkpoint contains a control character', { index: bad.index });
  if (LONE_SURROGATE.test(text)) throw malformed('utf8', 'checkpoint is not valid Unicode (lone surrogate)');
  if (!text.endsWith('\n')) throw malformed('missing-final-newline', 'checkpoint must end with a newline');
  // tlog-checkpoint "Note text": "a sequence of at least three non-empty lines".
  const lines = text.slice(0, -1).split('\n');
  if (lines.length < 3) throw malformed('too-few-lines', 'checkpoint needs origin, size and root hash lines');
  const empty = lines.indexOf('');
  if (empty >= 0) throw malformed('empty-line', 'checkpoint lines must be non-empty', { line: empty });
  const [origin, sizeText, rootText, ...extensions] = lines as [string, string, string, ...string[]];
  if (!SIZE.test(sizeText)) {
    throw malformed('size', 'size must be decimal without sign or leading zeros', { line: 1 });
  }
  const size = Number(sizeText);
  if (!Number.isSafeInteger(size)) {
    throw malformed('size-range', 'size exceeds Number.MAX_SAFE_INTEGER', { line: 1 });
  }
  let rootHash: Uint8Array;
  try {
    rootHash = fromBase64(rootText, HASH_SIZE);
  } catch {
    throw malformed('root-hash', `root hash must be canonical base64 of ${HASH_SIZE} bytes`, { line: 2 });
  }
  return { origin, size, rootHash, extensions };
}

function list<T>(x: T | readonly T[]): readonly T[] {
  return Array.isArray(x) ? (x as readonly T[]) : [x as T];
}

/** Formats and signs a checkpoint; returns the signed note. */
export function signCheckpoint(cp: CheckpointInput, signers: NoteSigner | readonly NoteSigner[]): string {
  return signNote(formatCheckpoint(cp), list(signers));
}

/**
 * Verifies the note (./note.ts `verifyNote` rules, so its errors), then parses the checkpoint
 * (CHECKPOINT_MALFORMED). With `expectedOrigin`, a different origin throws CHECKPOINT_MALFORMED
 * with `reason: 'origin-mismatch'`. The text is parsed only once a signature has verified
 * (signed-note: the text MUST be ignored until then).
 */
export function openCheckpoint(
  note: string | Uint8Array,
  verifiers: NoteVerifier | readonly NoteVerifier[],
  expectedOrigin?: string,
): OpenedCheckpoint {
  const v = verifyNote(note, list(verifiers));
  const checkpoint = parseCheckpoint(v.text);
  if (expectedOrigin !== undefined && checkpoint.origin !== expectedOrigin) {
    throw malformed('origin-mismatch', 'checkpoint origin is not the expected log', {
      expected: expectedOrigin,
      origin: checkpoint.origin,
    });
  }
  const warnings: CheckpointWarning[] = [];
  if (!v.verified.some((s) => s.name === checkpoint.origin)) warnings.push('key-name-not-origin');
  if (NOT_RECOMMENDED_ORIGIN.test(checkpoint.origin)) warnings.push('origin-not-recommended');
  return { checkpoint, text: v.text, verified: v.verified, unknown: v.unknown, warnings };
}
