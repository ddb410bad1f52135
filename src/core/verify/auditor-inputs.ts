/**
 * The auditor's own inputs, checked before a verification so that their mistakes are input
 * errors (exit 2), never reported as tampering (exit 1): a checkpoint file that is not a signed
 * checkpoint, a checkpoint of another log, a verifier key of another log.
 *
 * The line between a mistake and evidence is drawn by names, as C2SP signed-note draws it
 * (a signature is by a known key only when name AND key ID match): a key or checkpoint whose
 * NAME the log never signs under belongs to another log (a mistake); a signature under the
 * right name that fails, or is by another key ID, fails the key the auditor holds (evidence).
 * The log's recorded origin alone never decides: whoever writes the log can change it, so a
 * name the log's checkpoints are signed under counts as this log's too.
 */
import { toHex } from '../bytes.ts';
import { parseCheckpoint } from '../checkpoint.ts';
import { ErrorCode, EvidentError, isEvidentError } from '../errors.ts';
import { parseNote } from '../note.ts';
import type { NoteVerifier } from '../note-keys.ts';

export interface CheckpointFile {
  /** The note as the signature covers it. */
  note: string;
  /** What was repaired: `crlf`, `final-newline`. */
  repaired: string[];
}

/**
 * A checkpoint file as kept by people and editors: CRLF line endings (a Windows editor, git's
 * autocrlf) and a missing final newline are read back as the note. This does not weaken the
 * byte-exact check: a note holds no CR and always ends in LF (C2SP signed-note "Format"), so
 * the repair has one possible result, and the signature is then verified over exactly the
 * bytes that were signed; a note it does not fit still fails. Anything else (a lone CR, extra
 * blank lines, a byte order mark) is left as it is, and refused.
 */
export function readCheckpointFile(text: string): CheckpointFile {
  const repaired: string[] = [];
  let note = text;
  if (/\r\n/.test(note) && !/\r(?!\n)/.test(note)) {
    note = note.replace(/\r\n/g, '\n');
    repaired.push('crlf');
  }
  if (note.length > 0 && !note.endsWith('\n')) {
    note += '\n';
    repaired.push('final-newline');
  }
  return { note, repaired };
}

/** What a log's checkpoints say about who signs it: their key names, and names with key IDs. */
export function logIdentity(origin: string, notes: readonly string[]): LogIdentity {
  const signedAs = new Set<string>();
  const signedBy = new Set<string>();
  for (const note of notes) {
    try {
      for (const s of parseNote(note).signatures) {
        signedAs.add(s.name);
        signedBy.add(keyLabel(s));
      }
    } catch {
      // An unreadable checkpoint names nobody; the verification reports it.
    }
  }
  return { origin, signedAs, signedBy };
}

/** `<name>/<hex key ID>`: a key as a signature line names it. */
export const keyLabel = (k: { name: string; keyId: Uint8Array }) => `${k.name}/${toHex(k.keyId)}`;

const invalid = (label: string, reason: string, message: string, extra: Record<string, unknown> = {}) =>
  new EvidentError(ErrorCode.TRUSTED_CHECKPOINT_INVALID, `${label}: ${message}`, {
    field: '--trusted-checkpoint',
    path: label,
    reason,
    ...extra,
  });

export interface LogIdentity {
  /** The origin the log (or bundle) says it has. */
  origin: string;
  /** Key names its checkpoints are signed under. */
  signedAs: ReadonlySet<string>;
  /** The same with key IDs (keyLabel). */
  signedBy: ReadonlySet<string>;
}

const belongs = (name: string, log: LogIdentity) => name === log.origin || log.signedAs.has(name);

/**
 * Throws TRUSTED_CHECKPOINT_INVALID when the checkpoint file is not a checkpoint of this log
 * signed under the auditor's key names. `keys` are the keys the auditor gave (none: the log's
 * own recorded key is used, and a checkpoint failing it is evidence, not a mistake).
 */
export function checkTrustedCheckpoint(
  label: string,
  note: string,
  log: LogIdentity,
  keys: readonly NoteVerifier[],
): void {
  let text: string;
  let names: string[];
  try {
    const parsed = parseNote(note);
    text = parsed.text;
    names = parsed.signatures.map((s) => s.name);
  } catch (e) {
    const why = isEvidentError(e) ? String(e.details['reason'] ?? e.code) : 'unreadable';
    throw invalid(
      label,
      'malformed',
      `not a signed note (${why}): pass the checkpoint exactly as evident checkpoint printed it (text, one blank line, signature lines)`,
      { rule: why },
    );
  }
  let origin: string;
  try {
    origin = parseCheckpoint(text).origin;
  } catch (e) {
    const why = isEvidentError(e) ? String(e.details['reason'] ?? e.code) : 'unreadable';
    throw invalid(
      label,
      'malformed',
      `a signed note but not a checkpoint (${why}): pass a checkpoint (origin, tree size, root hash)`,
      {
        rule: why,
      },
    );
  }
  // The origin is read before any signature is checked, to name the mistake only: the outcome
  // is a refusal either way, never an acceptance (signed-note: unverified text is not trusted).
  if (origin !== log.origin && !names.some((n) => belongs(n, log))) {
    throw invalid(
      label,
      'other-log',
      `a checkpoint of ${origin}, not of ${log.origin}: pass a checkpoint of this log (or verify the log it belongs to)`,
      { origin, expected_origin: log.origin },
    );
  }
  if (keys.length > 0 && !names.some((n) => keys.some((k) => k.name === n))) {
    throw invalid(
      label,
      'not-signed-by-key',
      `signed by ${names.join(', ')}, not under the name of the key you trust (${keys.map((k) => k.name).join(', ')}): pass the checkpoint and --vkey of the same log`,
      { names },
    );
  }
}

/**
 * Throws KEY_INVALID (reason `key-name-mismatch`) when no given key is named for this log:
 * neither its origin nor a name its checkpoints are signed under.
 */
export function checkKeyNames(keys: readonly NoteVerifier[], log: LogIdentity, field = '--vkey'): void {
  if (keys.length === 0 || keys.some((k) => belongs(k.name, log))) return;
  throw new EvidentError(
    ErrorCode.KEY_INVALID,
    `${field}: the key is named ${keys.map((k) => k.name).join(', ')}, but this log is ${log.origin} and none of its checkpoints is signed under that name: pass the verifier key published for ${log.origin}`,
    { field, reason: 'key-name-mismatch', names: keys.map((k) => k.name), origin: log.origin },
  );
}
