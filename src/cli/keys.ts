/**
 * Which keys a command trusts. A verifier key comes from --vkey (the key string, or a file
 * holding it), else from the signing key (key file or $EVIDENT_SIGNING_KEY), else from the
 * log's own record, which the verification report flags as trusting the database.
 */
import { existsSync } from 'node:fs';
import { toHex } from '../core/bytes.ts';
import { ErrorCode, EvidentError, isEvidentError } from '../core/errors.ts';
import {
  formatVerifierKey,
  type NoteVerifier,
  parseVerifierKey,
  verifierFromKey,
  verifierFromPublicKey,
} from '../core/note-keys.ts';
import type { Context } from './command.ts';
import { readUserFile } from './files.ts';
import { keyPath, strs } from './globals.ts';
import { loadSigningKey, signingKeyFromEnv, signingKeySource } from './signing-key.ts';

export interface TrustedKey {
  verifier: NoteVerifier;
  vkey: string;
  source: string;
  /** For a key taken from the key file: the file's own key name (a derived key is named by the log's origin). */
  fileKeyName?: string;
}

/** A --vkey (or --erasure-key) value: the verifier key string itself, or the path of a file holding it. */
export async function parseVkeyArg(value: string, flag = '--vkey'): Promise<TrustedKey> {
  try {
    return { verifier: verifierFromKey(value), vkey: value, source: flag };
  } catch (e) {
    if (!isEvidentError(e) || !existsSync(value)) {
      throw new EvidentError(
        ErrorCode.KEY_INVALID,
        `${flag} is neither a verifier key (<name>+<key id>+<base64>) nor a file holding one: ${(e as Error).message}`,
        { field: flag, ...(isEvidentError(e) ? { reason: e.details['reason'] } : {}) },
      );
    }
  }
  const text = (await readUserFile(value, flag)).trim();
  try {
    return { verifier: verifierFromKey(text), vkey: text, source: value };
  } catch (e) {
    throw new EvidentError(
      ErrorCode.KEY_INVALID,
      `${flag}: ${value} does not hold a verifier key: ${(e as Error).message}`,
      {
        field: flag,
        path: value,
      },
    );
  }
}

/**
 * The --erasure-key values: erasure verifier keys (docs/formats.md, "Erasable fields and erasures"). An erasure key
 * that is also a checkpoint key (`checkpointKeys`) is refused: whoever signs checkpoints could
 * then authorise erasures too, which the erasure key exists to prevent.
 */
export async function erasureKeys(ctx: Context, checkpointKeys: readonly string[]): Promise<TrustedKey[]> {
  const keys = await Promise.all(strs(ctx, 'erasure-key').map((v) => parseVkeyArg(v, '--erasure-key')));
  const taken = new Set<string>();
  for (const k of checkpointKeys) {
    try {
      taken.add(toHex(parseVerifierKey(k).publicKey));
    } catch {
      // not a key: nothing it could share
    }
  }
  for (const k of keys) {
    if (taken.has(toHex(parseVerifierKey(k.vkey).publicKey))) {
      throw new EvidentError(
        ErrorCode.KEY_INVALID,
        `--erasure-key ${k.vkey} is a checkpoint signing key: an erasure key must be a key of its own`,
        { field: '--erasure-key', reason: 'same-as-checkpoint-key' },
      );
    }
  }
  return keys;
}

/**
 * The verifier of the signing key for a log of this origin (the key file's own key, or the one
 * it derives for the origin), if a key is configured: undefined when there is none to find.
 * Without an origin, the key file's own key.
 */
export async function keyFromSigner(ctx: Context, origin?: string): Promise<TrustedKey | undefined> {
  const { path, explicit } = keyPath(ctx);
  const fromEnv = signingKeyFromEnv(ctx) !== undefined;
  if (!fromEnv && !explicit && !existsSync(path)) return undefined;
  const ring = await loadSigningKey(ctx, path);
  const signer = ring.forOrigin(origin ?? ring.name);
  return {
    verifier: verifierFromPublicKey(signer.name, signer.publicKey),
    vkey: formatVerifierKey(signer.name, signer.publicKey),
    source: signingKeySource(ctx, path),
    fileKeyName: ring.name,
  };
}
