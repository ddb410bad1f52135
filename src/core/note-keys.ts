/**
 * Ed25519 keys for C2SP signed notes (https://c2sp.org/signed-note): key names, key IDs, the
 * verifier key text `<name>+<hex key ID>+<base64(0x01 || public key)>`, and the private key text
 * `PRIVATE+KEY+<name>+<hex key ID>+<base64(0x01 || seed)>` of golang.org/x/mod/sumdb/note.
 *
 * Ed25519 verification is strict RFC 8032 (`zip215: false`): non-canonical point encodings,
 * s >= L and small-order public keys are rejected.
 */
import { ed25519 } from '@noble/curves/ed25519.js';
import { bytesEqual, concatBytes, fromBase64, fromHex, toBase64, toHex, utf8 } from './bytes.ts';
import { ErrorCode, EvidentError } from './errors.ts';
import { sha256 } from './hash.ts';

/** signed-note "Signature types": 0x01 = Ed25519 signatures over the note text. */
export const SIG_TYPE_ED25519 = 0x01;
export const KEY_ID_SIZE = 4;
export const ED25519_PUBLIC_KEY_SIZE = 32;
export const ED25519_SEED_SIZE = 32;
export const ED25519_SIGNATURE_SIZE = 64;

/**
 * Signs note texts with one key. An interface, so that a KMS or HSM can stand behind it;
 * `sign` returns the raw signature (for Ed25519: 64 bytes over the exact text bytes).
 */
export interface NoteSigner {
  readonly name: string;
  /** The 4-byte key ID written before the signature on the signature line. */
  readonly keyId: Uint8Array;
  readonly publicKey: Uint8Array;
  sign(msg: Uint8Array): Uint8Array;
}

/** Checks signatures by one known key, identified by (name, key ID) per signed-note "Signatures". */
export interface NoteVerifier {
  readonly name: string;
  readonly keyId: Uint8Array;
  /** Whether `sig` (the bytes after the key ID) is a valid signature of `msg`. Never throws. */
  verify(msg: Uint8Array, sig: Uint8Array): boolean;
}

export interface VerifierKey {
  name: string;
  keyId: Uint8Array;
  publicKey: Uint8Array;
}

export interface SignerKey extends VerifierKey {
  seed: Uint8Array;
}

/** A `name+keyid+base64` key text before its type is checked (the hash covers type || key). */
export interface DecodedKey {
  name: string;
  keyId: Uint8Array;
  type: number;
  key: Uint8Array;
}

const keyError = (reason: string, message: string, extra: Record<string, unknown> = {}): EvidentError =>
  new EvidentError(ErrorCode.KEY_INVALID, message, { reason, ...extra });

// signed-note: "Key names MUST be non-empty and MUST NOT contain any Unicode spaces or plus (U+002B)".
// \p{White_Space} is the set Go's unicode.IsSpace tests. Control characters are refused too: a note
// may not contain them, so a name holding one could never appear on a signature line. \p{Cs}
// catches lone surrogates, which have no UTF-8 encoding.
const BAD_NAME_CHAR = /[\p{White_Space}+\u0000-\u001f\p{Cs}]/u;

export function isValidKeyName(name: string): boolean {
  return typeof name === 'string' && name.length > 0 && !BAD_NAME_CHAR.test(name);
}

export function assertKeyName(name: string): void {
  if (!isValidKeyName(name)) {
    throw keyError('name', 'key name must be non-empty, without spaces, "+" or control characters', {
      name,
    });
  }
}

/** signed-note: key ID = SHA-256(key name || 0x0A || signature type || public key)[:4]. */
export function noteKeyId(name: string, sigType: number, key: Uint8Array): Uint8Array {
  assertKeyName(name);
  return sha256(concatBytes(utf8(name), Uint8Array.of(0x0a, sigType), key)).slice(0, KEY_ID_SIZE);
}

/** signed-note "Ed25519 signatures": SHA-256(name || 0x0A || 0x01 || 32-byte public key)[:4]. */
export function keyId(name: string, publicKey: Uint8Array): Uint8Array {
  checkLength(publicKey, ED25519_PUBLIC_KEY_SIZE, 'public key');
  return noteKeyId(name, SIG_TYPE_ED25519, publicKey);
}

function checkLength(b: Uint8Array, n: number, what: string): void {
  if (!(b instanceof Uint8Array) || b.length !== n) {
    throw keyError('length', `${what} must be ${n} bytes`, { expected: n, actual: b?.length });
  }
}

/** Formats `<name>+<8 hex key ID>+<base64(type || key)>` (Go's `%08x`: lowercase). */
export function formatKeyText(name: string, sigType: number, key: Uint8Array): string {
  const id = noteKeyId(name, sigType, key);
  return `${name}+${toHex(id)}+${toBase64(concatBytes(Uint8Array.of(sigType), key))}`;
}

/**
 * Parses `<name>+<8 hex key ID>+<base64(type || key)>`. The base64 part may itself contain '+',
 * so only the first two '+' separate fields. Checks the name, the key ID's form (8 lowercase hex
 * digits), canonical base64, and that the key ID is the hash of (name, type, key).
 */
export function decodeKeyText(s: string): DecodedKey {
  if (typeof s !== 'string') throw keyError('format', 'key must be a string');
  const p1 = s.indexOf('+');
  const p2 = p1 < 0 ? -1 : s.indexOf('+', p1 + 1);
  if (p2 < 0) throw keyError('format', 'key must be <name>+<key id>+<key data>');
  const name = s.slice(0, p1);
  const idHex = s.slice(p1 + 1, p2);
  const data64 = s.slice(p2 + 1);
  assertKeyName(name);
  if (!/^[0-9a-f]{8}$/.test(idHex)) throw keyError('key-id-format', 'key ID must be 8 lowercase hex digits');
  let data: Uint8Array;
  try {
    data = fromBase64(data64);
  } catch {
    throw keyError('base64', 'key data is not canonical standard base64');
  }
  if (data.length < 2) throw keyError('length', 'key data is too short');
  const type = data[0]!;
  const key = data.slice(1);
  const id = fromHex(idHex);
  if (!bytesEqual(id, noteKeyId(name, type, key))) {
    throw keyError('key-id-mismatch', 'key ID does not match the hash of the name and key');
  }
  return { name, keyId: id, type, key };
}

/**
 * A 32-byte canonical RFC 8032 point encoding (y < p) that is not of small order: strict
 * verification (below) refuses small-order keys, so such a key could never verify anything.
 */
export function assertEd25519PublicKey(publicKey: Uint8Array): void {
  checkLength(publicKey, ED25519_PUBLIC_KEY_SIZE, 'public key');
  let ok = false;
  try {
    ok = !ed25519.Point.fromBytes(publicKey, false).isSmallOrder();
  } catch {
    ok = false;
  }
  if (!ok) throw keyError('public-key-invalid', 'not a valid Ed25519 public key (RFC 8032 encoding)');
}

/** The signed-note verifier key: `<name>+<hex key ID>+<base64(0x01 || public key)>`. */
export function formatVerifierKey(name: string, publicKey: Uint8Array): string {
  checkLength(publicKey, ED25519_PUBLIC_KEY_SIZE, 'public key');
  return formatKeyText(name, SIG_TYPE_ED25519, publicKey);
}

export function parseVerifierKey(s: string): VerifierKey {
  const d = decodeKeyText(s);
  if (d.type !== SIG_TYPE_ED25519) {
    throw keyError('algorithm', 'unsupported key algorithm (want 0x01, Ed25519)', { algorithm: d.type });
  }
  assertEd25519PublicKey(d.key);
  return { name: d.name, keyId: d.keyId, publicKey: d.key };
}

/** RFC 8032 §5.1.7 verification, strict (no ZIP-215 leniency). Never throws. */
export function ed25519Verify(publicKey: Uint8Array, msg: Uint8Array, sig: Uint8Array): boolean {
  if (sig.length !== ED25519_SIGNATURE_SIZE) return false;
  try {
    return ed25519.verify(sig, msg, publicKey, { zip215: false });
  } catch {
    return false;
  }
}

export function verifierFromPublicKey(name: string, publicKey: Uint8Array): NoteVerifier {
  assertEd25519PublicKey(publicKey);
  const pk = publicKey.slice();
  return {
    name,
    keyId: keyId(name, pk),
    verify: (msg, sig) => ed25519Verify(pk, msg, sig),
  };
}

export function verifierFromKey(vkey: string): NoteVerifier {
  const k = parseVerifierKey(vkey);
  return verifierFromPublicKey(k.name, k.publicKey);
}

/** An in-memory Ed25519 signer; the seed is the RFC 8032 32-byte private key. */
export function signerFromSeed(name: string, seed: Uint8Array): NoteSigner {
  checkLength(seed, ED25519_SEED_SIZE, 'seed');
  const sk = seed.slice();
  const publicKey = ed25519.getPublicKey(sk);
  const id = keyId(name, publicKey);
  return {
    name,
    keyId: id,
    publicKey,
    sign: (msg) => ed25519.sign(msg, sk),
  };
}

/** golang.org/x/mod/sumdb/note private key text: `PRIVATE+KEY+<name>+<hex key ID>+<base64(0x01 || seed)>`. */
export function formatSignerKey(name: string, seed: Uint8Array): string {
  checkLength(seed, ED25519_SEED_SIZE, 'seed');
  const id = keyId(name, ed25519.getPublicKey(seed));
  return `PRIVATE+KEY+${name}+${toHex(id)}+${toBase64(concatBytes(Uint8Array.of(SIG_TYPE_ED25519), seed))}`;
}

/** Parses the Go private key text; the key ID must be that of the derived public key (as Go checks). */
export function parseSignerKey(s: string): SignerKey {
  const prefix = 'PRIVATE+KEY+';
  if (typeof s !== 'string' || !s.startsWith(prefix)) {
    throw keyError('format', 'signer key must start with PRIVATE+KEY+');
  }
  const rest = s.slice(prefix.length);
  const p1 = rest.indexOf('+');
  const p2 = p1 < 0 ? -1 : rest.indexOf('+', p1 + 1);
  if (p2 < 0) throw keyError('format', 'signer key must be PRIVATE+KEY+<name>+<key id>+<key data>');
  const name = rest.slice(0, p1);
  const idHex = rest.slice(p1 + 1, p2);
  assertKeyName(name);
  if (!/^[0-9a-f]{8}$/.test(idHex)) throw keyError('key-id-format', 'key ID must be 8 lowercase hex digits');
  let data: Uint8Array;
  try {
    data = fromBase64(rest.slice(p2 + 1));
  } catch {
    throw keyError('base64', 'key data is not canonical standard base64');
  }
  if (data.length < 1 || data[0] !== SIG_TYPE_ED25519) {
    throw keyError('algorithm', 'unsupported key algorithm (want 0x01, Ed25519)', { algorithm: data[0] });
  }
  const seed = data.slice(1);
  checkLength(seed, ED25519_SEED_SIZE, 'seed');
  const publicKey = ed25519.getPublicKey(seed);
  const id = fromHex(idHex);
  if (!bytesEqual(id, keyId(name, publicKey))) {
    throw keyError('key-id-mismatch', 'key ID does not match the key derived from the seed');
  }
  return { name, keyId: id, publicKey, seed };
}

export function signerFromKey(skey: string): NoteSigner {
  const k = parseSignerKey(skey);
  return signerFromSeed(k.name, k.seed);
}

export interface GeneratedSigner {
  signer: NoteSigner;
  /** The private key text (keep secret): `PRIVATE+KEY+...`, readable by Go's note.NewSigner. */
  signerKey: string;
  /** The verifier key text to give to verifiers. */
  verifierKey: string;
}

/** A fresh Ed25519 key; `random` defaults to the global Web Crypto `getRandomValues`. */
export function generateSigner(
  name: string,
  random: (n: number) => Uint8Array = (n) => crypto.getRandomValues(new Uint8Array(n)),
): GeneratedSigner {
  assertKeyName(name);
  const seed = random(ED25519_SEED_SIZE);
  checkLength(seed, ED25519_SEED_SIZE, 'random seed');
  const signer = signerFromSeed(name, seed);
  return {
    signer,
    signerKey: formatSignerKey(name, seed),
    verifierKey: formatVerifierKey(name, signer.publicKey),
  };
}
