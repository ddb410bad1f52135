/**
 * Proof verification, RFC 9162 §2.1.3.2 (inclusion) and §2.1.4.2 (consistency).
 *
 * Inputs are hostile: sizes, indices, hash lengths and the proof length are all checked before
 * any arithmetic or hashing, and every failure throws an EvidentError with a code. The RFC
 * algorithms shift fn and sn right; here that is Math.floor(x / 2), since sizes exceed 32 bits.
 */
import { bytesEqual, toHex } from '../bytes.ts';
import { ErrorCode, EvidentError } from '../errors.ts';
import { emptyRoot, HASH_SIZE, nodeHash } from '../hash.ts';
import { consistencyRanges, inclusionRanges, isPowerOfTwo, isTreeSize } from './tree-math.ts';

function invalid(message: string, details: Record<string, unknown>): EvidentError {
  return new EvidentError(ErrorCode.PROOF_INVALID, message, details);
}

function checkHash(h: unknown, what: string): asserts h is Uint8Array {
  if (!(h instanceof Uint8Array) || h.length !== HASH_SIZE) {
    throw invalid(`${what} is not a 32-byte hash`, {
      what,
      length: h instanceof Uint8Array ? h.length : null,
    });
  }
}

function checkProof(proof: unknown, expected: number): asserts proof is Uint8Array[] {
  if (!Array.isArray(proof)) throw invalid('proof is not an array', { what: 'proof' });
  if (proof.length !== expected) {
    throw invalid('proof has the wrong number of hashes', { what: 'proof', expected, got: proof.length });
  }
  for (let i = 0; i < proof.length; i++) checkHash(proof[i], `proof[${i}]`);
}

function mismatch(which: string, expected: Uint8Array, computed: Uint8Array): EvidentError {
  return new EvidentError(ErrorCode.PROOF_ROOT_MISMATCH, `${which} does not match the proof`, {
    which,
    expected: toHex(expected),
    computed: toHex(computed),
  });
}

const odd = (n: number): boolean => n % 2 === 1;
const half = (n: number): number => Math.floor(n / 2);

/**
 * The root that an inclusion proof implies for `leafHash` at `index` in a tree of `size`
 * (§2.1.3.2 steps 1-4). The caller compares it with a root it trusts; see verifyInclusion.
 */
export function rootFromInclusionProof(
  leafHash: Uint8Array,
  index: number,
  size: number,
  proof: readonly Uint8Array[],
): Uint8Array {
  checkHash(leafHash, 'leafHash');
  // Step 1: leaf_index >= tree_size fails. Sizes must also be exact integers to do arithmetic on.
  if (!isTreeSize(index) || !isTreeSize(size) || index >= size) {
    throw invalid('inclusion proof needs 0 <= index < size (safe integers)', { index, size });
  }
  // The tree shape fixes the proof length (§2.1.3.1); checking it first replaces the in-loop
  // "sn is 0" failure and the final "sn is 0" check of step 5 with one early, explicit error.
  checkProof(proof, inclusionRanges(index, size).length);

  // Step 2, 3.
  let fn = index;
  let sn = size - 1;
  let r = leafHash;
  // Step 4.
  for (const p of proof) {
    if (sn === 0) throw invalid('inclusion proof is too long', { index, size }); // 4a (unreachable)
    if (odd(fn) || fn === sn) {
      r = nodeHash(p, r);
      // fn = sn and even: the node is last on its level with no right sibling (right edge of a
      // non-power-of-two tree); climb until it is a right child, which is where p attaches.
      while (!odd(fn) && fn !== 0) {
        fn = half(fn);
        sn = half(sn);
      }
    } else {
      r = nodeHash(r, p);
    }
    fn = half(fn);
    sn = half(sn);
  }
  // Step 5 (first half): sn must have reached 0.
  if (sn !== 0) throw invalid('inclusion proof is too short', { index, size }); // unreachable
  return r;
}

/** §2.1.3.2: throws PROOF_INVALID for a malformed proof, PROOF_ROOT_MISMATCH if it proves another root. */
export function verifyInclusion(
  leafHash: Uint8Array,
  index: number,
  size: number,
  proof: readonly Uint8Array[],
  root: Uint8Array,
): void {
  checkHash(root, 'root');
  const computed = rootFromInclusionProof(leafHash, index, size, proof);
  if (!bytesEqual(computed, root)) throw mismatch('root', root, computed);
}

/**
 * §2.1.4.2: proves that the tree of size2 with root2 extends the tree of size1 with root1.
 * Throws PROOF_INVALID for a malformed proof, PROOF_ROOT_MISMATCH (details.which = 'root1' or
 * 'root2') when the proof leads to other roots.
 */
export function verifyConsistency(
  size1: number,
  size2: number,
  proof: readonly Uint8Array[],
  root1: Uint8Array,
  root2: Uint8Array,
): void {
  checkHash(root1, 'root1');
  checkHash(root2, 'root2');
  if (!isTreeSize(size1) || !isTreeSize(size2) || size1 > size2) {
    throw invalid('consistency proof needs 0 <= size1 <= size2 (safe integers)', { size1, size2 });
  }
  // §2.1.4: nothing to prove for an empty old tree or identical sizes; the proof must be empty,
  // and what can still be checked is checked: MTH({}) for size 0, equal heads for equal sizes.
  if (size1 === 0) {
    checkProof(proof, 0);
    const empty = emptyRoot();
    if (!bytesEqual(root1, empty)) throw mismatch('root1', root1, empty);
    return;
  }
  if (size1 === size2) {
    checkProof(proof, 0);
    if (!bytesEqual(root1, root2)) throw mismatch('root2', root2, root1);
    return;
  }
  // The shape fixes the length (§2.1.4.1), so this also covers step 1 (empty path fails),
  // step 6a (sn reaching 0 early) and the "sn is 0" condition of step 7.
  checkProof(proof, consistencyRanges(size1, size2).length);

  // Step 2: SUBPROOF omits the old root when size1 is a power of two; the verifier puts it back.
  const path = isPowerOfTwo(size1) ? [root1, ...proof] : proof;
  // Step 3.
  let fn = size1 - 1;
  let sn = size2 - 1;
  // Step 4: skip the levels where the old tree's last node is a right child of a complete pair.
  while (odd(fn)) {
    fn = half(fn);
    sn = half(sn);
  }
  // Step 5.
  let fr = path[0]!;
  let sr = path[0]!;
  // Step 6.
  for (let i = 1; i < path.length; i++) {
    const c = path[i]!;
    if (sn === 0) throw invalid('consistency proof is too long', { size1, size2 }); // 6a (unreachable)
    if (odd(fn) || fn === sn) {
      // 6b: c is a left sibling, shared by both trees.
      fr = nodeHash(c, fr);
      sr = nodeHash(c, sr);
      while (!odd(fn) && fn !== 0) {
        fn = half(fn);
        sn = half(sn);
      }
    } else {
      // Otherwise c is a right sibling that only the new tree has.
      sr = nodeHash(sr, c);
    }
    fn = half(fn);
    sn = half(sn);
  }
  // Step 7.
  if (sn !== 0) throw invalid('consistency proof is too short', { size1, size2 }); // unreachable
  if (!bytesEqual(fr, root1)) throw mismatch('root1', root1, fr);
  if (!bytesEqual(sr, root2)) throw mismatch('root2', root2, sr);
}
