/** evident key: the verifier key to publish, `<name>+<key id>+<base64>`. */

import { existsSync } from 'node:fs';
import type { Context } from '../command.ts';
import { dbPath } from '../globals.ts';
import { keyFromSigner } from '../keys.ts';
import { dbFile, openReadOnly, withLedger } from '../open-log.ts';
import { print, printJson, warn } from '../output.ts';

export async function run(ctx: Context): Promise<number> {
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
