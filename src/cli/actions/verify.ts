/**
 * evident verify: re-hashes every entry, follows the chain, rebuilds the tree and checks every
 * signed checkpoint, stored or given. It writes nothing: the store is opened read-only and the
 * ledger without a signer, the trusted keys passed explicitly.
 */
import { ErrorCode, EvidentError } from '../../core/errors.ts';
import { describeReport } from '../../core/verify/report.ts';
import type { Context } from '../command.ts';
import { EXIT_OK, EXIT_TAMPERED } from '../errors.ts';
import { readUserFile } from '../files.ts';
import { strs } from '../globals.ts';
import { erasureKeys, keyFromSigner, parseVkeyArg, type TrustedKey } from '../keys.ts';
import { openReadOnly, withLedger } from '../open-log.ts';
import { note, print, printJson } from '../output.ts';
import { progress } from '../progress.ts';

/** The keys to trust: --vkey, else the signing key, else none (the log's recorded key, flagged). */
export async function trustedKeys(ctx: Context, origin?: string): Promise<TrustedKey[]> {
  const given = strs(ctx, 'vkey');
  if (given.length > 0) return Promise.all(given.map((v) => parseVkeyArg(v)));
  const own = await keyFromSigner(ctx, origin);
  return own ? [own] : [];
}

export async function run(ctx: Context): Promise<number> {
  const trusted = await Promise.all(
    strs(ctx, 'trusted-checkpoint').map((f) => readUserFile(f, '--trusted-checkpoint')),
  );
  const ledger = await openReadOnly(ctx);
  let keys: TrustedKey[];
  try {
    keys = await trustedKeys(ctx, ledger.log.origin);
  } catch (e) {
    await ledger.close();
    throw e;
  }
  const own = strs(ctx, 'vkey').length === 0 ? keys[0] : undefined;
  if (own && own.vkey !== ledger.log.vkey) {
    // The key file's key for this log is not the one the log was created with: most likely
    // another log's key file (a mix-up to fix with --key or --vkey, not tampering to report).
    await ledger.close();
    throw new EvidentError(
      ErrorCode.KEY_INVALID,
      `the signing key in ${own.source} is not this log's key (${ledger.log.vkey}): pass the right --key, or the published key with --vkey`,
      { field: '--key', vkey: own.vkey, recorded_vkey: ledger.log.vkey },
    );
  }
  let erasure: TrustedKey[];
  try {
    erasure = await erasureKeys(ctx, [ledger.log.vkey, ...keys.map((k) => k.vkey)]);
  } catch (e) {
    await ledger.close();
    throw e;
  }
  for (const k of keys) note(ctx, `checking signatures with ${k.vkey} (from ${k.source})`);
  for (const k of erasure) note(ctx, `checking erasures with ${k.vkey} (from ${k.source})`);
  const bar = progress(ctx, 'verified');
  const report = await withLedger(ledger, (l) =>
    l.verify({
      ...(keys.length > 0 ? { verifiers: keys.map((k) => k.verifier) } : {}),
      ...(erasure.length > 0 ? { erasureVerifiers: erasure.map((k) => k.verifier) } : {}),
      trusted,
      onProgress: (done, total) => bar.update(done, total),
    }),
  );
  bar.end();
  if (ctx.json) printJson(ctx, report);
  else print(ctx, describeReport(report));
  return report.ok ? EXIT_OK : EXIT_TAMPERED;
}
