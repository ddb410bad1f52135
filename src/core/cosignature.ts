/**
 * C2SP tlog-cosignature, Ed25519 flavour (https://c2sp.org/tlog-cosignature): a witness's
 * timestamped signature on a checkpoint, carried as one more signed-note signature line.
 *
 * - key ID = SHA-256(<name> || "\n" || 0x04 || 32-byte Ed25519 public key)[:4]
 * - signature bytes = timestamp (u64, big-endian, POSIX seconds, <= 2^63 - 1) || Ed25519 signature
 * - signed message = "cosignature/v1\n" || "time <decimal timestamp>\n" || checkpoint body
 *   (the whole note text, extension lines included, final newline included).
 *
 * The Ed25519 message does not commit to the cosigner name: a witness operator MUST use one key
 * per cosigner. Timestamps are kept as JS numbers, so only values up to 2^53 - 1 are accepted.
 */
import { ed25519 } from '@noble/curves/ed25519.js';
import { bytesEqual, concatBytes, fromUtf8, toHex, utf8 } from './bytes.ts';
import { parseCheckpoint } from './checkpoint.ts';
import { ErrorCode, EvidentError } from './errors.ts';
import type { NoteSignature } from './note.ts';
import {
  assertEd25519PublicKey,
  assertKeyName,
  decodeKeyText,
  ED25519_PUBLIC_KEY_SIZE,
  ED25519_SEED_SIZE,
  ED25519_SIGNATURE_SIZE,
  ed25519Verify,
  formatKeyText,
  type NoteSigner,
  type NoteVerifier,
  noteKeyId,
  type VerifierKey,
} from './note-keys.ts';

/** signed-note "Signature types": 0x04 = timestamped Ed25519 witness cosignatures. */
export const SIG_TYPE_COSIGNATURE_V1 = 0x04;
const TIMESTAMP_SIZE = 8;

export interface CosignerPublicKey {
  name: string;
  publicKey: Uint8Array;
}
export const COSIGNATURE_SIZE = TIMESTAMP_SIZE + ED25519_SIGNATURE_SIZE;

function keyError(reason: string, message: string): EvidentError {
  return new EvidentError(ErrorCode.KEY_INVALID, message, { reason });
}

function checkKey(b: Uint8Array, n: number, what: string): void {
  if (!(b instanceof Uint8Array) || b.length !== n) throw keyError('length', `${what} must be ${n} bytes`);
}

function checkTimestamp(t: number): void {
  if (!Number.isSafeInteger(t) || t < 0) {
    throw new EvidentError(ErrorCode.VALIDATION_FAILED, 'timestamp must be a non-negative safe integer', {
      reason: 'timestamp',
    });
  }
}

export function cosignerKeyId(name: string, publicKey: Uint8Array): Uint8Array {
  checkKey(publicKey, ED25519_PUBLIC_KEY_SIZE, 'public key');
  return noteKeyId(name, SIG_TYPE_COSIGNATURE_V1, publicKey);
}

/** tlog-cosignature: Ed25519 cosigner keys MAY be vkeys with type 0x04. */
export function formatCosignerKey(name: string, publicKey: Uint8Array): string {
  checkKey(publicKey, ED25519_PUBLIC_KEY_SIZE, 'public key');
  return formatKeyText(name, SIG_TYPE_COSIGNATURE_V1, publicKey);
}

/** Parses a type-0x04 vkey (a type-0x01 note key is refused: its key ID differs). */
export function parseCosignerKey(vkey: string): VerifierKey {
  const d = decodeKeyText(vkey);
  if (d.type !== SIG_TYPE_COSIGNATURE_V1) {
    throw new EvidentError(ErrorCode.KEY_INVALID, 'not an Ed25519 cosignature/v1 key (type 0x04)', {
      reason: 'algorithm',
      algorithm: d.type,
    });
  }
  assertEd25519PublicKey(d.key);
  return { name: d.name, keyId: d.keyId, publicKey: d.key };
}

/** The message a cosigner signs: "cosignature/v1\ntime <t>\n" followed by the checkpoint body. */
export function cosignatureMessage(checkpointText: string, timestamp: number): Uint8Array {
  checkTimestamp(timestamp);
  parseCheckpoint(checkpointText); // throws CHECKPOINT_MALFORMED: only checkpoints are cosigned
  return utf8(`cosignature/v1\ntime ${timestamp}\n${checkpointText}`);
}

function encodeTimestamp(t: number): Uint8Array {
  const b = new Uint8Array(TIMESTAMP_SIZE);
  new DataView(b.buffer).setBigUint64(0, BigInt(t));
  return b;
}

/** The timestamp in a cosignature (timestamp || signature); null if malformed or above 2^53 - 1. */
export function cosignatureTimestamp(signature: Uint8Array): number | null {
  if (signature.length !== COSIGNATURE_SIZE) return null;
  const t = new DataView(signature.buffer, signature.byteOffset, TIMESTAMP_SIZE).getBigUint64(0);
  return t <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(t) : null;
}

/** A witness signer usable with `signNote`; `now` gives POSIX seconds (default: the clock). */
export function cosignerFromSeed(
  name: string,
  seed: Uint8Array,
  now: () => number = () => Math.floor(Date.now() / 1000),
): NoteSigner {
  assertKeyName(name);
  checkKey(seed, ED25519_SEED_SIZE, 'seed');
  const sk = seed.slice();
  const publicKey = ed25519.getPublicKey(sk);
  return {
    name,
    keyId: cosignerKeyId(name, publicKey),
    publicKey,
    sign(msg) {
      const t = now();
      const m = cosignatureMessage(fromUtf8(msg), t);
      return concatBytes(encodeTimestamp(t), ed25519.sign(m, sk));
    },
  };
}

/** Cosigns a checkpoint body at `time` (POSIX seconds); returns the note signature to append. */
export function cosign(
  checkpointText: string,
  witnessName: string,
  seed: Uint8Array,
  time: number,
): NoteSignature {
  checkTimestamp(time);
  const s = cosignerFromSeed(witnessName, seed, () => time);
  return { name: s.name, keyId: s.keyId, signature: s.sign(utf8(checkpointText)) };
}

function verifyRaw(publicKey: Uint8Array, msg: Uint8Array, sig: Uint8Array): boolean {
  const t = cosignatureTimestamp(sig);
  if (t === null) return false;
  let m: Uint8Array;
  try {
    m = cosignatureMessage(fromUtf8(msg), t);
  } catch {
    return false;
  }
  return ed25519Verify(publicKey, m, sig.subarray(TIMESTAMP_SIZE));
}

/** A NoteVerifier for a witness, so `verifyNote`/`openCheckpoint` can require its cosignature. */
export function cosignatureVerifier(key: string | CosignerPublicKey): NoteVerifier {
  const k = typeof key === 'string' ? parseCosignerKey(key) : checkedKey(key);
  const pk = k.publicKey.slice();
  return { name: k.name, keyId: k.keyId, verify: (msg, sig) => verifyRaw(pk, msg, sig) };
}

function checkedKey(k: CosignerPublicKey): VerifierKey {
  return parseCosignerKey(formatCosignerKey(k.name, k.publicKey));
}

/**
 * Verifies one cosignature on a checkpoint body; returns its timestamp. Throws
 * NOTE_SIGNATURE_INVALID with reason 'key-mismatch' (another name or key ID) or 'invalid'.
 */
export function verifyCosignature(
  checkpointText: string,
  signature: NoteSignature,
  cosigner: string | CosignerPublicKey,
): number {
  const v = cosignatureVerifier(cosigner);
  if (signature.name !== v.name || !bytesEqual(signature.keyId, v.keyId)) {
    throw new EvidentError(ErrorCode.NOTE_SIGNATURE_INVALID, 'signature is not by this cosigner', {
      reason: 'key-mismatch',
      name: signature.name,
      keyId: toHex(signature.keyId),
    });
  }
  if (!v.verify(utf8(checkpointText), signature.signature)) {
    throw new EvidentError(ErrorCode.NOTE_SIGNATURE_INVALID, 'invalid cosignature', {
      reason: 'invalid',
      name: signature.name,
      keyId: toHex(signature.keyId),
    });
  }
  return cosignatureTimestamp(signature.signature)!;
}
