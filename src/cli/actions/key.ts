/** evident key: the verifier key to publish, `<name>+<key id>+<base64>`. */

import { existsSync } from 'node:fs';
import { assertKeyName, formatVerifierKey } from '../../core/note-keys.ts';
import { createKeyFile, loadErasureKey } from '../../ledger/keyfile.ts';
import type { Context } from '../command.ts';
import { usageError } from '../errors.ts';
import { dbPath, flag, str } from '../globals.ts';
import { keyFromSigner } from '../keys.ts';
import { dbFile, openReadOnly, withLedger } from '../open-log.ts';
import { print, printJson, warn } from '../output.ts';

/** --erasure-key FILE [--create]: the erasure key's verifier key (../../core/event/erasure.ts). */
async function erasureKey(ctx: Context, file: string): Promise<number> {
  const name = str(ctx, 'key-name') ?? 'erasure';
  if (flag(ctx, 'create')) {
    try {
      assertKeyName(name);
    } catch {
      throw usageError(
        '--key-name must be non-empty, without spaces, "+" or control characters',
        '--key-name',
      );
    }
    await createKeyFile(file, name);
  }
  const k = await loadErasureKey(file);
  const vkey = formatVerifierKey(k.name, k.publicKey);
  if (ctx.json) printJson(ctx, { vkey, source: file });
  else print(ctx, vkey);
  return 0;
}

export async function run(ctx: Context): Promise<number> {
  const erasure = str(ctx, 'erasure-key');
  if (erasure !== undefined) return erasureKey(ctx, erasure);
  if (flag(ctx, 'create') || str(ctx, 'key-name') !== undefined) {
    throw usageError('--create and --key-name go with --erasure-key', '--create');
  }
  const origin = existsSync(dbFile(dbPath(ctx)) ?? '')
    ? await withLedger(await openReadOnly(ctx), async (l) => l.log.origin)
    : undefined;
  const own = await keyFromSigner(ctx, origin);
  let vkey: string;
  let source: string;
  if (own) {
    vkey = own.vkey;
    source = own.source;
  } else {
    vkey = await withLedger(await openReadOnly(ctx), async (l) => l.log.vkey);
    source = 'database';
    warn(
      ctx,
      'no signing key here: this is the key recorded in the database, check it against the published one',
    );
  }
  if (ctx.json) printJson(ctx, { vkey, source });
  else print(ctx, vkey);
  return 0;
}
