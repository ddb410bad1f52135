/**
 * Which keys a command trusts. A verifier key comes from --vkey (the key string, or a file
 * holding it), else from the signing key (key file or $EVIDENT_SIGNING_KEY), else from the
 * log's own record, which the verification report flags as trusting the database.
 */
import { existsSync } from 'node:fs';
import { ErrorCode, EvidentError, isEvidentError } from '../core/errors.ts';
import {
  formatVerifierKey,
  type NoteVerifier,
  verifierFromKey,
  verifierFromPublicKey,
} from '../core/note-keys.ts';
import type { Context } from './command.ts';
import { readUserFile } from './files.ts';
import { keyPath } from './globals.ts';
import { loadSigningKey, signingKeyFromEnv, signingKeySource } from './signing-key.ts';

export interface TrustedKey {
  verifier: NoteVerifier;
  vkey: string;
  source: string;
}

/** A --vkey value: the verifier key string itself, or the path of a file holding it. */
export async function parseVkeyArg(value: string): Promise<TrustedKey> {
  try {
    return { verifier: verifierFromKey(value), vkey: value, source: '--vkey' };
  } catch (e) {
    if (!isEvidentError(e) || !existsSync(value)) {
      throw new EvidentError(
        ErrorCode.KEY_INVALID,
        `--vkey is neither a verifier key (<name>+<key id>+<base64>) nor a file holding one: ${(e as Error).message}`,
        { field: '--vkey', ...(isEvidentError(e) ? { reason: e.details['reason'] } : {}) },
      );
    }
  }
  const text = (await readUserFile(value, '--vkey')).trim();
  try {
    return { verifier: verifierFromKey(text), vkey: text, source: value };
  } catch (e) {
    throw new EvidentError(
      ErrorCode.KEY_INVALID,
      `--vkey: ${value} does not hold a verifier key: ${(e as Error).message}`,
      {
        field: '--vkey',
        path: value,
      },
    );
  }
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
  };
}
