/**
 * evident verify-bundle: verifies an export bundle offline, with no database: every entry, the
 * tree rebuilt with the bundle's subtree hashes, and the signed checkpoint, against --vkey.
 * Exit 0: intact and every trusted checkpoint checked; 1: evidence of tampering; 2: an input
 * error, or a trusted checkpoint the bundle cannot be checked against (TRUSTED_CHECKPOINT_UNCHECKED).
 */

import { isBlankLine, parseBundleHeader } from '../../core/bundle.ts';
import { ErrorCode, EvidentError, isEvidentError } from '../../core/errors.ts';
import { parseJson } from '../../core/json.ts';
import { verifierFromKey } from '../../core/note-keys.ts';
import { checkKeyNames, logIdentity } from '../../core/verify/auditor-inputs.ts';
import { describeReport } from '../../core/verify/report.ts';
import { verifyBundleFile } from '../../ledger/export.ts';
import type { Context } from '../command.ts';
import { MAX_VERIFY_WORKERS } from '../defaults.ts';
import { EXIT_OK, EXIT_TAMPERED } from '../errors.ts';
import { readFirstLine } from '../files.ts';
import { str, strs } from '../globals.ts';
import { erasureKeys, parseVkeyArg } from '../keys.ts';
import { note, print, printJson, warn } from '../output.ts';
import { progress } from '../progress.ts';
import { checkTrustedCheckpoints, readTrustedCheckpoints } from '../trusted-checkpoints.ts';
import { optionalCount } from '../values.ts';
import { checkQuorum, witnessPolicyOf } from '../witness-args.ts';

export async function run(ctx: Context): Promise<number> {
  const workers = optionalCount('workers', str(ctx, 'workers'), { min: 1, max: MAX_VERIFY_WORKERS });
  const file = ctx.positionals[0];
  if (file === undefined) {
    throw new EvidentError(ErrorCode.USAGE, 'name the bundle file: evident verify-bundle FILE', {
      field: 'FILE',
    });
  }
  const given = await Promise.all(strs(ctx, 'vkey').map((v) => parseVkeyArg(v)));
  const witnesses = await witnessPolicyOf(ctx);
  const files = await readTrustedCheckpoints(ctx);
  const first = await readFirstLine(file, 'FILE', isBlankLine);
  if (first === undefined)
    throw new EvidentError(ErrorCode.BUNDLE_INVALID, `${file} is empty`, { field: 'FILE' });
  let header: ReturnType<typeof parseBundleHeader>;
  try {
    header = parseBundleHeader(parseJson(first));
  } catch (e) {
    if (!isEvidentError(e) || e.code !== ErrorCode.JSON_INVALID) throw e;
    throw new EvidentError(ErrorCode.BUNDLE_INVALID, `the bundle header is not valid JSON: ${e.message}`, {
      field: 'FILE',
      cause: e.details,
    });
  }
  const identity = logIdentity(header.origin, [header.checkpoint]);
  checkKeyNames(
    given.map((k) => k.verifier),
    identity,
  );
  const trusted = checkTrustedCheckpoints(
    files,
    identity,
    given.map((k) => k.verifier),
  );
  const erasure = await erasureKeys(ctx, [header.vkey, ...given.map((k) => k.vkey)]);
  for (const k of erasure) note(ctx, `checking erasures with ${k.vkey} (from ${k.source})`);
  let verifiers = given.map((k) => k.verifier);
  const selfTrust =
    'no --vkey given: trusted the verifier key written in the bundle itself; anyone able to edit the bundle could have replaced it. Pass the published key with --vkey';
  if (verifiers.length === 0) {
    warn(ctx, `${selfTrust} (bundle key: ${header.vkey})`, { loud: true });
    try {
      verifiers = [verifierFromKey(header.vkey)];
    } catch (e) {
      throw new EvidentError(
        ErrorCode.BUNDLE_INVALID,
        `the bundle's vkey is not a verifier key: ${(e as Error).message}`,
        {
          field: 'vkey',
        },
      );
    }
  } else {
    for (const k of given) note(ctx, `checking signatures with ${k.vkey} (from ${k.source})`);
  }
  const total = header.range.to - header.range.from;
  const bar = progress(ctx, 'verified');
  const { report } = await verifyBundleFile(file, {
    verifiers,
    ...(erasure.length > 0 ? { erasureVerifiers: erasure.map((k) => k.verifier) } : {}),
    trusted,
    ...(workers !== undefined ? { workers } : {}),
    onProgress: (n) => bar.update(n, total),
  });
  bar.end();
  if (given.length === 0) report.warnings.unshift(selfTrust);
  if (ctx.json) printJson(ctx, report);
  else print(ctx, describeReport(report));
  if (report.faults.length > 0) return EXIT_TAMPERED;
  const unchecked = report.unchecked ?? [];
  if (unchecked.length > 0) {
    // Not evidence (an older bundle stays true of the log it was exported from), not OK either.
    throw new EvidentError(
      ErrorCode.TRUSTED_CHECKPOINT_UNCHECKED,
      `the bundle cannot be checked against ${unchecked.length === 1 ? 'the trusted checkpoint' : `${unchecked.length} trusted checkpoints`}: ${unchecked.map((u) => u.message).join('; ')}`,
      { field: '--trusted-checkpoint', unchecked },
    );
  }
  if (!report.ok) return EXIT_TAMPERED;
  // The checkpoint's own signature verified above (with the log's key); now its witnesses.
  if (witnesses) {
    const q = checkQuorum(header.checkpoint, witnesses);
    note(ctx, `witness quorum met: cosigned by ${q.cosigned.join(', ')}`);
  }
  return EXIT_OK;
}
