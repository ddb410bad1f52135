/**
 * C2SP signed notes (https://c2sp.org/signed-note), parsed strictly:
 *
 *   <text, every line ending in U+000A>
 *   <one blank line>
 *   — <key name> <base64(4-byte key ID || signature)>\n   (one or more)
 *
 * Verification follows signed-note "Signatures": signatures from unknown keys (name and key ID
 * not both matching a known key) are ignored; a signature from a known key is always verified
 * and, if it fails, the whole note is rejected; a note with no verified signature is rejected.
 */
import { bytesEqual, concatBytes, fromBase64, fromUtf8, toBase64, toHex, utf8 } from './bytes.ts';
import { ErrorCode, EvidentError } from './errors.ts';
import { isValidKeyName, KEY_ID_SIZE, type NoteSigner, type NoteVerifier } from './note-keys.ts';

/** signed-note: verifiers SHOULD bound the signature count and MUST accept at least 16. Go uses 100. */
export const MAX_NOTE_SIGNATURES = 100;
/** Bound on the whole note, in UTF-8 bytes (room for 100 post-quantum signatures of ~5 kB). */
export const MAX_NOTE_BYTES = 1 << 20;

const SIG_PREFIX = '\u2014 '; // em dash U+2014, space U+0020

export interface NoteSignature {
  name: string;
  /** The 4-byte key ID (big-endian uint32 on the wire). */
  keyId: Uint8Array;
  /** The signature bytes after the key ID. */
  signature: Uint8Array;
}

export interface ParsedNote {
  /** The signed text, including its final newline but not the blank separator line. */
  text: string;
  signatures: NoteSignature[];
}

export interface VerifiedNote extends ParsedNote {
  /** Signatures by known keys; every one verified. */
  verified: NoteSignature[];
  /** Signatures by keys not among the verifiers, ignored (witnesses, rotated keys, ...). */
  unknown: NoteSignature[];
}

function malformed(reason: string, message: string, extra: Record<string, unknown> = {}): EvidentError {
  return new EvidentError(ErrorCode.NOTE_MALFORMED, message, { reason, ...extra });
}

// signed-note "Format": valid UTF-8 (no lone surrogates in a JS string) and no ASCII control
// character other than newline.
const CONTROL = /[\u0000-\u0009\u000b-\u001f]/;
const LONE_SURROGATE = /\p{Cs}/u;

function checkChars(s: string): void {
  const bad = CONTROL.exec(s);
  if (bad) throw malformed('control-character', 'note contains a control character', { index: bad.index });
  if (LONE_SURROGATE.test(s)) throw malformed('utf8', 'note is not valid Unicode (lone surrogate)');
}

/** Checks the rules every note text must meet; shared by parsing and signing. */
function checkText(text: string): void {
  if (text.length === 0) throw malformed('empty-text', 'note text is empty');
  if (!text.endsWith('\n')) throw malformed('missing-final-newline', 'note text must end with a newline');
  checkChars(text);
  if (text.charCodeAt(0) === 0xfeff) throw malformed('byte-order-mark', 'note starts with a byte order mark');
  // The blank separator line must be exactly one: a text ending in an empty line would make
  // the note end its text with two blank lines. A text of only "\n" is empty in substance.
  if (text === '\n' || text.endsWith('\n\n')) {
    throw malformed('blank-line-before-signatures', 'exactly one blank line must precede the signatures');
  }
}

function toNoteString(note: string | Uint8Array): string {
  if (note instanceof Uint8Array) {
    if (note.length > MAX_NOTE_BYTES)
      throw malformed('too-large', 'note is too large', { max: MAX_NOTE_BYTES });
    // A leading BOM would be dropped by the decoder; refuse it so text bytes stay exact.
    if (note[0] === 0xef && note[1] === 0xbb && note[2] === 0xbf) {
      throw malformed('byte-order-mark', 'note starts with a byte order mark');
    }
    try {
      return fromUtf8(note);
    } catch {
      throw malformed('utf8', 'note is not valid UTF-8');
    }
  }
  if (typeof note !== 'string') throw malformed('type', 'note must be a string or bytes');
  // UTF-8 never has fewer bytes than UTF-16 code units, so the cheap test comes first.
  if (note.length > MAX_NOTE_BYTES || utf8(note).length > MAX_NOTE_BYTES) {
    throw malformed('too-large', 'note is too large', { max: MAX_NOTE_BYTES });
  }
  return note;
}

/** Parses a signed note without verifying anything. Throws NOTE_MALFORMED (details.reason). */
export function parseNote(note: string | Uint8Array): ParsedNote {
  const s = toNoteString(note);
  checkChars(s);
  if (!s.endsWith('\n')) throw malformed('missing-final-newline', 'note must end with a newline');
  // signed-note: "the text is separated from the signatures by the last empty line in the note".
  const split = s.lastIndexOf('\n\n');
  if (split < 0) throw malformed('no-signature-block', 'no blank line before signatures');
  const text = s.slice(0, split + 1);
  const block = s.slice(split + 2);
  checkText(text);
  if (block.length === 0) throw malformed('no-signatures', 'note has no signature lines');
  const lines = block.slice(0, -1).split('\n');
  if (lines.length > MAX_NOTE_SIGNATURES) {
    throw malformed('too-many-signatures', 'note has too many signatures', { max: MAX_NOTE_SIGNATURES });
  }
  const signatures = lines.map((line, i) => parseSignatureLine(line, i));
  return { text, signatures };
}

function parseSignatureLine(line: string, index: number): NoteSignature {
  if (!line.startsWith(SIG_PREFIX)) {
    throw malformed('signature-prefix', 'signature line must start with an em dash and a space', {
      line: index,
    });
  }
  const rest = line.slice(SIG_PREFIX.length);
  const sp = rest.indexOf(' ');
  if (sp < 0)
    throw malformed('signature-format', 'signature line must be "— <name> <base64>"', { line: index });
  const name = rest.slice(0, sp);
  if (!isValidKeyName(name))
    throw malformed('signature-name', 'invalid key name on signature line', { line: index });
  let raw: Uint8Array;
  try {
    raw = fromBase64(rest.slice(sp + 1));
  } catch {
    throw malformed('signature-base64', 'signature is not canonical standard base64', { line: index });
  }
  // signed-note: "Signatures are the base64 encoding of 4+n bytes" (n >= 1, as Go requires).
  if (raw.length <= KEY_ID_SIZE)
    throw malformed('signature-length', 'signature is too short', { line: index });
  return { name, keyId: raw.slice(0, KEY_ID_SIZE), signature: raw.slice(KEY_ID_SIZE) };
}

/** `— <name> <base64(key ID || signature)>\n` */
export function formatSignatureLine(sig: NoteSignature): string {
  if (!isValidKeyName(sig.name)) throw malformed('signature-name', 'invalid key name');
  if (sig.keyId.length !== KEY_ID_SIZE) throw malformed('signature-key-id', 'key ID must be 4 bytes');
  if (sig.signature.length === 0) throw malformed('signature-length', 'signature is empty');
  return `${SIG_PREFIX}${sig.name} ${toBase64(concatBytes(sig.keyId, sig.signature))}\n`;
}

/** Serializes a text and its signatures; the text must meet the parser's rules. */
export function formatNote(text: string, signatures: readonly NoteSignature[]): string {
  checkText(text);
  if (signatures.length === 0) throw malformed('no-signatures', 'a note needs at least one signature');
  if (signatures.length > MAX_NOTE_SIGNATURES) {
    throw malformed('too-many-signatures', 'too many signatures', { max: MAX_NOTE_SIGNATURES });
  }
  const note = `${text}\n${signatures.map(formatSignatureLine).join('')}`;
  if (utf8(note).length > MAX_NOTE_BYTES) throw malformed('too-large', 'note is too large');
  return note;
}

/** Signs `text` (which must end in a newline) with each signer, in order; returns the note. */
export function signNote(text: string, signers: readonly NoteSigner[]): string {
  checkText(text);
  const msg = utf8(text);
  const sigs = signers.map((s) => ({ name: s.name, keyId: s.keyId, signature: s.sign(msg) }));
  return formatNote(text, sigs);
}

function sameKey(a: { name: string; keyId: Uint8Array }, b: { name: string; keyId: Uint8Array }): boolean {
  return a.name === b.name && bytesEqual(a.keyId, b.keyId);
}

/**
 * Parses and verifies a note. NOTE_MALFORMED if it does not parse; KEY_INVALID if two verifiers
 * share a name and key ID; NOTE_SIGNATURE_INVALID if any signature by a known key fails (even
 * when another verifies); NOTE_UNVERIFIED if no signature is by a known key.
 */
export function verifyNote(note: string | Uint8Array, verifiers: readonly NoteVerifier[]): VerifiedNote {
  for (let i = 0; i < verifiers.length; i++) {
    for (let j = 0; j < i; j++) {
      if (sameKey(verifiers[i]!, verifiers[j]!)) {
        throw new EvidentError(ErrorCode.KEY_INVALID, 'two verifiers share a key name and key ID', {
          reason: 'ambiguous-verifier',
          name: verifiers[i]!.name,
          keyId: toHex(verifiers[i]!.keyId),
        });
      }
    }
  }
  const parsed = parseNote(note);
  const msg = utf8(parsed.text);
  const verified: NoteSignature[] = [];
  const unknown: NoteSignature[] = [];
  for (const sig of parsed.signatures) {
    const v = verifiers.find((k) => sameKey(k, sig));
    if (!v) {
      unknown.push(sig);
      continue;
    }
    // signed-note: "If the key name and ID match a known key, verifiers MUST verify the
    // signature. If a signature from a known key fails to verify, clients SHOULD reject the
    // whole note." Duplicates are verified too, so a bad copy cannot hide behind a good one.
    if (!v.verify(msg, sig.signature)) {
      throw new EvidentError(ErrorCode.NOTE_SIGNATURE_INVALID, `invalid signature by ${sig.name}`, {
        name: sig.name,
        keyId: toHex(sig.keyId),
      });
    }
    if (!verified.some((x) => sameKey(x, sig))) verified.push(sig);
  }
  // signed-note: "If no signature from a known key verifies successfully, clients MUST reject".
  if (verified.length === 0) {
    throw new EvidentError(ErrorCode.NOTE_UNVERIFIED, 'no signature by a known key', {
      unknown: unknown.map((s) => ({ name: s.name, keyId: toHex(s.keyId) })),
    });
  }
  return { ...parsed, verified, unknown };
}
