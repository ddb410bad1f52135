/**
 * The signing key as the CLI finds it: the key itself in $EVIDENT_SIGNING_KEY, else the key
 * file (--key, $EVIDENT_KEY, ./evident.key). The environment is read here, at the CLI's edge;
 * the library only takes what it is given (../ledger/keyfile.ts).
 */
import { type KeyRing, loadKeyRing, parseKeyRing } from '../ledger/keyfile.ts';
import type { Context } from './command.ts';
import { SIGNING_KEY_ENV } from './globals.ts';

/** The key text from the environment, if set and not empty. */
export function signingKeyFromEnv(ctx: Context): string | undefined {
  const v = ctx.io.env[SIGNING_KEY_ENV];
  return v === undefined || v === '' ? undefined : v;
}

/** Where the key comes from, as shown to the user: `$EVIDENT_SIGNING_KEY` or the file's path. */
export function signingKeySource(ctx: Context, path: string): string {
  return signingKeyFromEnv(ctx) !== undefined ? `$${SIGNING_KEY_ENV}` : path;
}

export async function loadSigningKey(ctx: Context, path: string): Promise<KeyRing> {
  const text = signingKeyFromEnv(ctx);
  return text !== undefined ? parseKeyRing(text, `$${SIGNING_KEY_ENV}`) : loadKeyRing(path);
}
