/** evident key: the verifier key to publish, `<name>+<key id>+<base64>`. */
import type { Context } from '../command.ts';
import { keyFromSigner } from '../keys.ts';
import { openReadOnly, withLedger } from '../open-log.ts';
import { print, printJson, warn } from '../output.ts';

export async function run(ctx: Context): Promise<number> {
  const own = await keyFromSigner(ctx);
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
