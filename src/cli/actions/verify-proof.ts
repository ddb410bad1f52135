/**
 * evident verify-proof: checks a C2SP tlog-proof file offline (../../core/tlog/proof-file.ts):
 * the checkpoint's signature with --vkey, then the entry's inclusion proof against its root.
 * Exit 0: the proof holds; 1: it does not (TLOG_PROOF_REJECTED); 2: a malformed file or input.
 */
import { promises as fs } from 'node:fs';
import { toBase64, toHex } from '../../core/bytes.ts';
import { ErrorCode, EvidentError } from '../../core/errors.ts';
import { type Entry, leafBytes } from '../../core/event/entry.ts';
import { parseJson } from '../../core/json.ts';
import { MAX_TLOG_PROOF_BYTES, parseTlogProof, verifyTlogProof } from '../../core/tlog/proof-file.ts';
import type { Context } from '../command.ts';
import { usageError } from '../errors.ts';
import { readUserFile } from '../files.ts';
import { str, strs } from '../globals.ts';
import { parseVkeyArg } from '../keys.ts';
import { print, printJson } from '../output.ts';
import { checkQuorum, witnessPolicyOf } from '../witness-args.ts';

/** The largest leaf or entry file read: an event is at most 256 KiB, its entry a little more. */
const MAX_LEAF_FILE = 1024 * 1024;

async function readBytes(path: string, field: string, max: number): Promise<Uint8Array> {
  let h: fs.FileHandle;
  try {
    h = await fs.open(path, 'r');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new EvidentError(
      code === 'ENOENT' ? ErrorCode.NOT_FOUND : ErrorCode.USAGE,
      `${field}: cannot read ${path}: ${(e as Error).message}`,
      { field, path },
    );
  }
  try {
    const { size } = await h.stat();
    if (size > max) throw usageError(`${field}: ${path} is over ${max} bytes`, field);
    return new Uint8Array(await h.readFile());
  } finally {
    await h.close();
  }
}

export async function run(ctx: Context): Promise<number> {
  const file = ctx.positionals[0];
  if (file === undefined)
    throw usageError('name the proof file: evident verify-proof FILE --vkey KEY', 'FILE');
  const vkeys = strs(ctx, 'vkey');
  if (vkeys.length === 0) throw usageError("--vkey is required: the log's published verifier key", '--vkey');
  const leafFile = str(ctx, 'leaf');
  const entryFile = str(ctx, 'entry');
  if (leafFile !== undefined && entryFile !== undefined) {
    throw usageError('give --leaf or --entry, not both', '--entry');
  }
  const keys = await Promise.all(vkeys.map((v) => parseVkeyArg(v)));
  const witnesses = await witnessPolicyOf(ctx);
  let leaf: Uint8Array | undefined;
  if (leafFile !== undefined) leaf = await readBytes(leafFile, '--leaf', MAX_LEAF_FILE);
  if (entryFile !== undefined) {
    const entry = parseJson(await readUserFile(entryFile, '--entry'));
    if (entry === null || typeof entry !== 'object' || Array.isArray(entry)) {
      throw usageError('--entry must hold one entry, a JSON object', '--entry');
    }
    leaf = leafBytes(entry as Entry);
  }
  const bytes = await readBytes(file, 'FILE', MAX_TLOG_PROOF_BYTES);
  const parsed = parseTlogProof(bytes);
  const r = verifyTlogProof(parsed, { verifiers: keys.map((k) => k.verifier), ...(leaf ? { leaf } : {}) });
  const cp = r.opened.checkpoint;
  // The checkpoint's own signature verified above (with the log's key); now its witnesses.
  const quorum = witnesses ? checkQuorum(parsed.checkpoint, witnesses) : undefined;
  if (ctx.json) {
    printJson(ctx, {
      ok: true,
      index: r.index,
      origin: cp.origin,
      size: cp.size,
      root: toBase64(cp.rootHash),
      leaf_hash: toHex(r.leafHash),
      leaf_from: leafFile !== undefined ? 'leaf' : entryFile !== undefined ? 'entry' : 'extra',
      signed_by: r.opened.verified.map((s) => s.name),
      ...(quorum ? { cosigned_by: quorum.cosigned } : {}),
    });
  } else {
    print(
      ctx,
      `OK: entry ${r.index} (leaf hash ${toHex(r.leafHash)}) is in ${cp.origin} at tree size ${cp.size}, ` +
        `checkpoint signed by ${r.opened.verified.map((s) => s.name).join(', ')}` +
        (r.leafFromExtra ? ' (entry taken from the proof file)' : '') +
        (quorum ? `; witness quorum met: cosigned by ${quorum.cosigned.join(', ')}` : ''),
    );
  }
  return 0;
}
