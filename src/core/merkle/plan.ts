/**
 * Proofs assembled from STORED perfect-subtree hashes.
 *
 * Every RFC 9162 proof element is the MTH of a leaf range that either is a perfect subtree (stored
 * once, never changes) or lies on the right edge of the tree, where it is the fold of at most
 * ~53 stored perfect subtrees. A plan lists every node to fetch, so a store answers with one
 * query; `assemble` then does O(log n) hashing. No leaf data is needed.
 */
import { ErrorCode, EvidentError } from '../errors.ts';
import { emptyRoot, HASH_SIZE, nodeHash } from '../hash.ts';
import { type NodeId, nodeKey } from './node-id.ts';
import {
  consistencyRanges,
  inclusionRanges,
  isTreeSize,
  type LeafRange,
  perfectSubtrees,
} from './tree-math.ts';

export interface ProofPlan {
  /** De-duplicated perfect nodes to fetch. */
  readonly nodes: NodeId[];
  /** Takes the hashes of `nodes`, in the same order; returns the proof hashes in RFC 9162 order. */
  assemble(hashes: Uint8Array[]): Uint8Array[];
}

function rangeError(message: string, details: Record<string, unknown>): EvidentError {
  return new EvidentError(ErrorCode.PROOF_RANGE, message, details);
}

/** Builds a plan computing MTH(D[start:end]) for each range, in order. */
function planFor(ranges: LeafRange[], emptyResult: Uint8Array[] = []): ProofPlan {
  const nodes: NodeId[] = [];
  const position = new Map<string, number>();
  // For each proof element, where its perfect subtrees sit in `nodes`, largest (leftmost) first.
  const parts: number[][] = ranges.map((r) =>
    perfectSubtrees(r.start, r.end).map((node) => {
      const key = nodeKey(node);
      let at = position.get(key);
      if (at === undefined) {
        at = nodes.length;
        position.set(key, at);
        nodes.push(node);
      }
      return at;
    }),
  );

  return {
    nodes,
    assemble(hashes: Uint8Array[]): Uint8Array[] {
      if (hashes.length !== nodes.length) {
        throw new EvidentError(ErrorCode.PROOF_INVALID, 'wrong number of node hashes for this plan', {
          expected: nodes.length,
          got: hashes.length,
        });
      }
      for (let i = 0; i < hashes.length; i++) {
        const h = hashes[i];
        if (!(h instanceof Uint8Array) || h.length !== HASH_SIZE) {
          throw new EvidentError(ErrorCode.PROOF_INVALID, 'node hash is not 32 bytes', {
            position: i,
            node: nodes[i],
            length: h instanceof Uint8Array ? h.length : null,
          });
        }
      }
      if (parts.length === 0) return emptyResult.slice();
      // A right-edge range splits (§2.1.1) at its largest power of two, which is its first perfect
      // subtree; the rest recurses the same way. Hence MTH = fold of the subtrees from the right.
      return parts.map((at) => {
        let h = hashes[at[at.length - 1]!]!;
        for (let i = at.length - 2; i >= 0; i--) h = nodeHash(hashes[at[i]!]!, h);
        return h;
      });
    },
  };
}

/** Plan for PATH(index, D[size]), the audit path of RFC 9162 §2.1.3.1, leaf to root. */
export function inclusionPlan(index: number, size: number): ProofPlan {
  if (!isTreeSize(index) || !isTreeSize(size) || index >= size) {
    throw rangeError('inclusion proof needs 0 <= index < size (safe integers)', { index, size });
  }
  return planFor(inclusionRanges(index, size));
}

/**
 * Plan for PROOF(size1, D[size2]) of RFC 9162 §2.1.4.1. The proof is empty when size1 = size2
 * (SUBPROOF(m, D[m], true) = {}) and when size1 = 0 (§2.1.4: the empty tree is a prefix of all).
 */
export function consistencyPlan(size1: number, size2: number): ProofPlan {
  if (!isTreeSize(size1) || !isTreeSize(size2) || size1 > size2) {
    throw rangeError('consistency proof needs 0 <= size1 <= size2 (safe integers)', { size1, size2 });
  }
  if (size1 === 0 || size1 === size2) return planFor([]);
  return planFor(consistencyRanges(size1, size2));
}

/** Plan for MTH(D[size]) (§2.1.1); assemble returns [root]. MTH({}) = SHA-256() for size 0. */
export function rootPlan(size: number): ProofPlan {
  if (!isTreeSize(size)) {
    throw rangeError('tree size must be a non-negative safe integer', { size });
  }
  if (size === 0) return planFor([], [emptyRoot()]);
  return planFor([{ start: 0, end: size }]);
}
