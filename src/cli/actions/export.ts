/**
 * evident export: a bundle (header line, then entries as JSON Lines) that anyone verifies
 * offline with evident verify-bundle and the published verifier key. With the signing key at
 * hand, a fresh checkpoint is signed first so that the bundle covers every entry.
 */
import { existsSync } from 'node:fs';
import type { BundleHeader } from '../../core/bundle.ts';
import { parseJson } from '../../core/json.ts';
import { type ExportOptions, exportBundle } from '../../ledger/export.ts';
import type { Context } from '../command.ts';
import { createNewFile } from '../files.ts';
import { keyPath, str } from '../globals.ts';
import { openForWriting, openReadOnly, withLedger } from '../open-log.ts';
import { note, printJson } from '../output.ts';
import { signingKeyFromEnv } from '../signing-key.ts';
import { parseTime } from '../values.ts';

export async function run(ctx: Context): Promise<number> {
  const o: ExportOptions = {};
  const since = str(ctx, 'since');
  const until = str(ctx, 'until');
  if (since !== undefined) o.since = parseTime('since', since);
  if (until !== undefined) o.until = parseTime('until', until);
  const out = str(ctx, 'out');
  const { path, explicit } = keyPath(ctx);
  const canSign = signingKeyFromEnv(ctx) !== undefined || explicit || existsSync(path);
  const ledger = canSign ? await openForWriting(ctx) : await openReadOnly(ctx);
  const file = out === undefined ? undefined : await createNewFile(out, '--out');
  let header: BundleHeader | undefined;
  let bytes = 0;
  try {
    await withLedger(ledger, async (l) => {
      for await (const chunk of exportBundle(l, o)) {
        header ??= parseJson(chunk) as BundleHeader;
        bytes += Buffer.byteLength(chunk);
        if (file) await file.write(chunk);
        else ctx.io.stdout.write(chunk);
      }
    });
    await file?.finish();
  } catch (e) {
    await file?.abort();
    throw e;
  }
  if (out !== undefined && header) {
    const { from, to } = header.range;
    if (ctx.json) {
      printJson(ctx, { out, tree_size: header.tree_size, range: header.range, entries: to - from, bytes });
    } else {
      note(
        ctx,
        `exported entries ${from} to ${to - 1} (${to - from}) of tree size ${header.tree_size} to ${out}`,
      );
    }
  }
  return 0;
}
