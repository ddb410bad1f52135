/**
 * A direct, slow transcription of RFC 9162 §2.1.1 (MTH), §2.1.3.1 (PATH) and §2.1.4.1
 * (PROOF/SUBPROOF) over a list of leaf hashes. O(n) per call: for tests, which cross-check the
 * stored-node plans against it, never for production paths.
 *
 * `leaves` are leaf hashes (SHA-256(0x00 || d)), so MTH of one leaf is the element itself.
 */
import { emptyRoot, nodeHash } from '../hash.ts';

/** k of §2.1.1: the largest power of two smaller than n (n > 1); kept independent of tree-math. */
function split(n: number): number {
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}

/** MTH(D[n]), §2.1.1. */
export function referenceRoot(leaves: readonly Uint8Array[]): Uint8Array {
  const n = leaves.length;
  if (n === 0) return emptyRoot();
  if (n === 1) return leaves[0]!;
  const k = split(n);
  return nodeHash(referenceRoot(leaves.slice(0, k)), referenceRoot(leaves.slice(k)));
}

/** PATH(m, D[n]), §2.1.3.1, leaf to root. Requires 0 <= m < n. */
export function referenceInclusionProof(m: number, leaves: readonly Uint8Array[]): Uint8Array[] {
  const n = leaves.length;
  if (m < 0 || m >= n) throw new RangeError(`index ${m} outside tree of size ${n}`);
  if (n === 1) return [];
  const k = split(n);
  if (m < k) return [...referenceInclusionProof(m, leaves.slice(0, k)), referenceRoot(leaves.slice(k))];
  return [...referenceInclusionProof(m - k, leaves.slice(k)), referenceRoot(leaves.slice(0, k))];
}

/** PROOF(m, D[n]) = SUBPROOF(m, D[n], true), §2.1.4.1; empty for m = 0 or m = n. */
export function referenceConsistencyProof(m: number, leaves: readonly Uint8Array[]): Uint8Array[] {
  if (m < 0 || m > leaves.length) throw new RangeError(`size ${m} outside tree of size ${leaves.length}`);
  if (m === 0) return [];
  return subproof(m, leaves, true);
}

function subproof(m: number, leaves: readonly Uint8Array[], b: boolean): Uint8Array[] {
  const n = leaves.length;
  if (m === n) return b ? [] : [referenceRoot(leaves)];
  const k = split(n);
  if (m <= k) return [...subproof(m, leaves.slice(0, k), b), referenceRoot(leaves.slice(k))];
  return [...subproof(m - k, leaves.slice(k), false), referenceRoot(leaves.slice(0, k))];
}
