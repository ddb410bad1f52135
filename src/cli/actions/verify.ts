/**
 * evident verify: re-hashes every entry, follows the chain, rebuilds the tree and checks every
 * signed checkpoint, stored or given. It writes nothing: the store is opened read-only and the
 * ledger without a signer, the trusted keys passed explicitly.
 *
 * Exit 1 only for evidence: a checkpoint that fails the key the operator or auditor holds is
 * evidence, whoever holds it. Keys and checkpoint files of another log (another NAME) are
 * input errors, exit 2 (../../core/verify/auditor-inputs.ts).
 */

import { ErrorCode, EvidentError } from '../../core/errors.ts';
import { checkKeyNames, keyLabel, logIdentity } from '../../core/verify/auditor-inputs.ts';
import { describeReport, FaultKind, type VerifyReport } from '../../core/verify/report.ts';
import { cosignedNote } from '../../ledger/cosigned.ts';
import type { Ledger } from '../../ledger/ledger.ts';
import type { Context } from '../command.ts';
import { MAX_VERIFY_WORKERS } from '../defaults.ts';
import { EXIT_OK, EXIT_TAMPERED } from '../errors.ts';
import { str, strs } from '../globals.ts';
import { erasureKeys, keyFromSigner, parseVkeyArg, type TrustedKey } from '../keys.ts';
import { openReadOnly, withLedger } from '../open-log.ts';
import { note, print, printJson } from '../output.ts';
import { progress } from '../progress.ts';
import { checkTrustedCheckpoints, readTrustedCheckpoints } from '../trusted-checkpoints.ts';
import { optionalCount } from '../values.ts';
import { checkQuorum, witnessPolicyOf } from '../witness-args.ts';

/** The keys to trust: --vkey, else the signing key, else none (the log's recorded key, flagged). */
export async function trustedKeys(ctx: Context, origin?: string): Promise<TrustedKey[]> {
  const given = strs(ctx, 'vkey');
  if (given.length > 0) return Promise.all(given.map((v) => parseVkeyArg(v)));
  const own = await keyFromSigner(ctx, origin);
  return own ? [own] : [];
}

/**
 * The operator's key file, checked for a mix-up: its key for this log is derived for the
 * origin, so only the file's own name can tell another deployment's file. The file is taken
 * as this log's when its own name is this log's origin or another log's in this store, when it
 * is the key the log records, or when a checkpoint of this log carries its key: then a
 * checkpoint failing it is evidence.
 */
async function checkKeyFile(l: Ledger, own: TrustedKey, signedBy: ReadonlySet<string>): Promise<void> {
  const name = own.fileKeyName ?? own.verifier.name;
  // The recorded key only ever widens what is accepted here: a key taken as this log's is
  // then checked against every checkpoint, and a failure is evidence.
  if (name === l.log.origin || own.vkey === l.log.vkey || signedBy.has(keyLabel(own.verifier))) return;
  if ((await l.store.listLogs()).some((x) => x.origin === name)) return;
  throw new EvidentError(
    ErrorCode.KEY_INVALID,
    `the key in ${own.source} is ${name}'s, and neither this store nor this log's checkpoints know it: pass this log's key file with --key, or its published key with --vkey`,
    { field: '--key', reason: 'key-file-of-another-log', key_name: name, origin: l.log.origin },
  );
}

/** The log's recorded verifier key is what the service publishes: it must be the key held for its origin. */
function checkRecordedKey(report: VerifyReport, l: Ledger, keys: readonly TrustedKey[]): void {
  const held = keys.filter((k) => k.verifier.name === l.log.origin);
  if (held.length === 0 || held.some((k) => k.vkey === l.log.vkey)) return;
  report.ok = false;
  report.faults.push({
    kind: FaultKind.VERIFIER_KEY_REPLACED,
    index: null,
    message: `the verifier key recorded for ${l.log.origin} (${l.log.vkey}) is not the key you hold (${held.map((k) => k.vkey).join(', ')}): the database's key was replaced`,
    recorded: l.log.vkey,
    trusted: held.map((k) => k.vkey),
  });
}

export async function run(ctx: Context): Promise<number> {
  const witnesses = await witnessPolicyOf(ctx);
  const workers = optionalCount('workers', str(ctx, 'workers'), { min: 1, max: MAX_VERIFY_WORKERS });
  const files = await readTrustedCheckpoints(ctx);
  const ledger = await openReadOnly(ctx);
  let keys: TrustedKey[];
  let trusted: string[];
  try {
    keys = await trustedKeys(ctx, ledger.log.origin);
    const identity = logIdentity(
      ledger.log.origin,
      (await ledger.store.checkpoints(ledger.log.id)).map((c) => c.note),
    );
    const given = strs(ctx, 'vkey').length > 0;
    if (given)
      checkKeyNames(
        keys.map((k) => k.verifier),
        identity,
      );
    else if (keys[0]) await checkKeyFile(ledger, keys[0], identity.signedBy);
    trusted = checkTrustedCheckpoints(
      files,
      identity,
      keys.map((k) => k.verifier),
    );
  } catch (e) {
    await ledger.close();
    throw e;
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
  const report = await withLedger(ledger, async (l) => {
    const r = await l.verify({
      ...(keys.length > 0 ? { verifiers: keys.map((k) => k.verifier) } : {}),
      ...(erasure.length > 0 ? { erasureVerifiers: erasure.map((k) => k.verifier) } : {}),
      trusted,
      ...(workers !== undefined ? { workers } : {}),
      onProgress: (done, total) => bar.update(done, total),
    });
    checkRecordedKey(r, l, keys);
    // The latest checkpoint (its log signature checked above) with the cosignatures stored beside it.
    const latest = await l.latestCheckpoint();
    return { r, witnessed: latest && witnesses ? await cosignedNote(l.store, l.log.id, latest) : undefined };
  });
  bar.end();
  if (ctx.json) printJson(ctx, report.r);
  else print(ctx, describeReport(report.r));
  if (!report.r.ok) return EXIT_TAMPERED;
  if (witnesses) {
    if (report.witnessed === undefined) {
      throw new EvidentError(
        ErrorCode.WITNESS_QUORUM_UNMET,
        'the log has no signed checkpoint for witnesses to have cosigned',
        {
          cosigned: [],
        },
      );
    }
    const q = checkQuorum(report.witnessed, witnesses);
    note(ctx, `witness quorum met: cosigned by ${q.cosigned.join(', ')}`);
  }
  return EXIT_OK;
}
