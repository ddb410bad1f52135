/** The signed checkpoints a verification compares the rebuilt tree with. */
import { bytesEqual, toBase64 } from '../bytes.ts';
import { openCheckpoint } from '../checkpoint.ts';
import { EvidentError } from '../errors.ts';
import { type CompactRange, perfectSubtrees, verifyConsistency } from '../merkle/index.ts';
import type { VerifyLogInput } from './log-verifier.ts';
import { type Fault, FaultKind } from './report.ts';

export interface Target {
  size: number;
  root: Uint8Array;
  trusted: boolean;
}

/** Extends the rebuilt tree from the entries' end to a checkpoint's size by whole subtrees. */
export function extendBySuffix(
  range: CompactRange,
  suffix: NonNullable<VerifyLogInput['suffix']>,
  add: (f: Fault) => void,
): void {
  const nodes = suffix.size >= range.size ? perfectSubtrees(range.size, suffix.size) : undefined;
  if (!nodes || nodes.length !== suffix.hashes.length) {
    add({
      kind: FaultKind.CHECKPOINT_ROOT_MISMATCH,
      index: range.size,
      message: `the subtree hashes given from ${range.size} to ${suffix.size} do not have the shape of that range`,
      size: suffix.size,
    });
    return;
  }
  for (const [i, n] of nodes.entries()) range.appendSubtree(n.level, suffix.hashes[i]!);
}

/** Opens every checkpoint; bad signatures and malformed notes become faults. */
export function openTargets(input: VerifyLogInput, add: (f: Fault) => void): Target[] {
  const bySize = new Map<number, Target>();
  for (const cp of input.checkpoints) {
    const where = cp.trusted
      ? 'trusted checkpoint'
      : `stored checkpoint${cp.size === undefined ? '' : ` of size ${cp.size}`}`;
    let size: number;
    let root: Uint8Array;
    try {
      const opened = openCheckpoint(cp.note, input.verifiers, input.origin);
      size = opened.checkpoint.size;
      root = opened.checkpoint.rootHash;
    } catch (e) {
      const code = e instanceof EvidentError ? e.code : 'UNKNOWN';
      const sig = code === 'NOTE_SIGNATURE_INVALID' || code === 'NOTE_UNVERIFIED';
      add({
        kind: sig ? FaultKind.CHECKPOINT_SIGNATURE_INVALID : FaultKind.CHECKPOINT_MALFORMED,
        index: null,
        message: `${where}: ${sig ? 'no valid signature by the trusted key' : (e as Error).message}`,
        code,
        ...(cp.size === undefined ? {} : { size: cp.size }),
      });
      continue;
    }
    if (
      (cp.size !== undefined && cp.size !== size) ||
      (cp.root !== undefined && !bytesEqual(cp.root, root))
    ) {
      add({
        kind: FaultKind.CHECKPOINT_MALFORMED,
        index: null,
        message: `${where}: the size or root recorded beside the note differs from the signed note`,
        size,
      });
    }
    const seen = bySize.get(size);
    if (seen && !bytesEqual(seen.root, root)) {
      add({
        kind: FaultKind.CHECKPOINT_INCONSISTENT,
        index: null,
        message: `two validly signed checkpoints of tree size ${size} have different roots: the log was forked`,
        size,
        roots: [toBase64(seen.root), toBase64(root)],
      });
      continue;
    }
    if (!seen || cp.trusted) bySize.set(size, { size, root, trusted: cp.trusted ?? false });
  }
  return [...bySize.values()].sort((a, b) => a.size - b.size);
}

/**
 * Consecutive checkpoints must be consistent (RFC 9162 §2.1.4) according to the stored tree.
 * A failure bounds where the history diverges, like a root mismatch; a proof the store cannot
 * assemble (nodes gone with a truncated tail) is no finding of its own: the rebuilt tree says more.
 */
export async function checkPairwise(
  targets: Target[],
  input: VerifyLogInput,
  add: (f: Fault) => void,
): Promise<void> {
  if (!input.consistencyProof) return;
  for (let i = 1; i < targets.length; i++) {
    const a = targets[i - 1]!;
    const b = targets[i]!;
    if (a.size === 0) continue;
    let proof: Uint8Array[];
    try {
      proof = await input.consistencyProof(a.size, b.size);
    } catch {
      continue;
    }
    try {
      verifyConsistency(a.size, b.size, proof, a.root, b.root);
    } catch (e) {
      add({
        kind: FaultKind.CHECKPOINT_INCONSISTENT,
        index: a.size,
        approximate: true,
        message: `signed checkpoints of sizes ${a.size} and ${b.size} are not consistent in the stored tree`,
        from: a.size,
        to: b.size,
        code: e instanceof EvidentError ? e.code : 'UNKNOWN',
      });
    }
  }
}
