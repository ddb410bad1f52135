/** evident prove: RFC 9162 inclusion and consistency proofs from the stored tree. */
import { fromBase64, toHex } from '../../core/bytes.ts';
import { ErrorCode, EvidentError } from '../../core/errors.ts';
import { leafHash } from '../../core/hash.ts';
import { tlogProofFile } from '../../ledger/tiles.ts';
import type { Context } from '../command.ts';
import { usageError } from '../errors.ts';
import { str } from '../globals.ts';
import { openReadOnly, withLedger } from '../open-log.ts';
import { print, printJson } from '../output.ts';
import { optionalCount, parseCount } from '../values.ts';

function required(ctx: Context, name: string): number {
  const v = str(ctx, name);
  if (v === undefined)
    throw usageError(`--${name} is required (see evident ${ctx.command.name} --help)`, `--${name}`);
  return parseCount(name, v);
}

export async function runInclusion(ctx: Context): Promise<number> {
  const index = required(ctx, 'index');
  const size = optionalCount('size', str(ctx, 'size'));
  const format = str(ctx, 'format') ?? 'evident';
  if (format !== 'evident' && format !== 'tlog-proof') {
    throw usageError(`--format is evident or tlog-proof, not "${format}"`, '--format');
  }
  if (format === 'tlog-proof') {
    if (ctx.json)
      throw usageError('--json does not apply to --format tlog-proof (the file is text)', '--json');
    // The published checkpoint (or the one signed at --size), with the leaf bytes as `extra`.
    const text = await withLedger(await openReadOnly(ctx), (l) =>
      tlogProofFile(l, index, { ...(size !== undefined ? { size } : {}), leaf: true }),
    );
    ctx.io.stdout.write(text);
    return 0;
  }
  const proof = await withLedger(await openReadOnly(ctx), async (l) => {
    const n = size ?? (await l.latestCheckpoint())?.size;
    if (n === undefined) {
      throw new EvidentError(
        ErrorCode.NOT_FOUND,
        'no checkpoint yet: run evident checkpoint, or pass --size',
        {
          field: '--size',
        },
      );
    }
    if (index >= n) {
      throw new EvidentError(ErrorCode.PROOF_RANGE, `leaf index ${index} is not in a tree of size ${n}`, {
        field: '--index',
        index,
        size: n,
      });
    }
    return l.proveInclusion(index, n);
  });
  if (ctx.json) {
    printJson(ctx, { index: proof.index, size: proof.size, leaf: proof.leaf, hashes: proof.hashes });
    return 0;
  }
  print(
    ctx,
    [
      `leaf index: ${proof.index}`,
      `tree size: ${proof.size}`,
      `leaf hash: ${toHex(leafHash(fromBase64(proof.leaf)))}`,
      `leaf: ${proof.leaf}`,
      `audit path (${proof.hashes.length} hashes, base64):`,
      ...proof.hashes.map((h) => `  ${h}`),
    ].join('\n'),
  );
  return 0;
}

export async function runConsistency(ctx: Context): Promise<number> {
  const from = required(ctx, 'from');
  const to = required(ctx, 'to');
  if (from > to) throw usageError(`--from (${from}) must not be larger than --to (${to})`, '--from');
  const hashes = await withLedger(await openReadOnly(ctx), (l) => l.proveConsistency(from, to));
  if (ctx.json) printJson(ctx, { hashes });
  else {
    print(
      ctx,
      [
        `from tree size: ${from}`,
        `to tree size: ${to}`,
        `proof (${hashes.length} hashes, base64):`,
        ...hashes.map((h) => `  ${h}`),
      ].join('\n'),
    );
  }
  return 0;
}
