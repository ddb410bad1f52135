/**
 * Arithmetic on tree sizes and leaf indices, which are JS numbers up to Number.MAX_SAFE_INTEGER
 * (2^53 - 1). JS bitwise operators truncate to 32 bits, so nothing here applies them to a size
 * or an index: only `2 ** k`, `Math.floor` and `%`, plus Math.clz32 on explicit 32-bit halves.
 */
import type { NodeId } from './node-id.ts';

const TWO_32 = 2 ** 32;

/** A valid tree size or leaf index: a non-negative safe integer. */
export function isTreeSize(n: unknown): n is number {
  return typeof n === 'number' && Number.isSafeInteger(n) && n >= 0;
}

/** Number of bits needed to write n (0 for 0): bitLength(1) = 1, bitLength(8) = 4. */
export function bitLength(n: number): number {
  const hi = Math.floor(n / TWO_32);
  if (hi > 0) return 64 - Math.clz32(hi);
  return 32 - Math.clz32(n % TWO_32);
}

/** Number of set bits: the number of perfect subtrees that make up a tree of size n. */
export function popcount(n: number): number {
  let count = 0;
  for (let v = n; v > 0; v = Math.floor(v / 2)) count += v % 2;
  return count;
}

export function isPowerOfTwo(n: number): boolean {
  return n > 0 && 2 ** (bitLength(n) - 1) === n;
}

/** RFC 9162 §2.1.1: "k is the largest power of two smaller than n", for n > 1. */
export function largestPowerOfTwoBelow(n: number): number {
  return 2 ** (bitLength(n - 1) - 1);
}

/** Largest k with 2^k dividing n; callers never pass 0. */
function trailingZeros(n: number): number {
  let k = 0;
  for (let v = n; v % 2 === 0 && v > 0; v /= 2) k++;
  return k;
}

/**
 * The perfect subtrees covering [start, end), left to right, each as large as alignment allows.
 *
 * For [0, n) these are the roots of the perfect subtrees of a tree of size n, largest first
 * (one per set bit of n). When start is a multiple of a power of two >= end - start, which holds
 * for every range the PATH and SUBPROOF recursions of RFC 9162 §2.1.3.1 and §2.1.4.1 ever split
 * off, they also come largest first, and MTH(D[start:end]) is their hashes folded from the right.
 */
export function perfectSubtrees(start: number, end: number): NodeId[] {
  const out: NodeId[] = [];
  let at = start;
  while (at < end) {
    let level = bitLength(end - at) - 1;
    if (at > 0) level = Math.min(level, trailingZeros(at));
    const width = 2 ** level;
    out.push({ level, index: at / width });
    at += width;
  }
  return out;
}

/** The perfect subtrees of one level whose indexes lie in [first, last]. */
export interface LevelRange {
  level: number;
  first: number;
  last: number;
}

/**
 * The perfect subtrees above the leaves (level >= 1) whose last leaf lies in [from, to): the
 * nodes an append of those leaves completes, as one index range per level. A node of level L
 * and index i ends at leaf (i + 1) * 2^L - 1.
 */
export function completedNodes(from: number, to: number): LevelRange[] {
  const out: LevelRange[] = [];
  if (!isTreeSize(from) || !isTreeSize(to) || from >= to) return out;
  for (let level = 1, width = 2; width <= to && level <= 53; level++, width *= 2) {
    const first = Math.ceil((from + 1) / width) - 1;
    const last = Math.floor(to / width) - 1;
    if (first <= last) out.push({ level, first, last });
  }
  return out;
}

/** A half-open leaf range [start, end) whose MTH is one proof element. */
export interface LeafRange {
  readonly start: number;
  readonly end: number;
}

/**
 * The ranges whose MTH make up PATH(index, D[size]) of RFC 9162 §2.1.3.1, leaf to root.
 * Requires 0 <= index < size. At most ~53 ranges, each sibling of a node on the path.
 */
export function inclusionRanges(index: number, size: number): LeafRange[] {
  const topDown: LeafRange[] = [];
  let start = 0;
  let end = size;
  while (end - start > 1) {
    const k = largestPowerOfTwoBelow(end - start);
    const mid = start + k;
    // m < k: PATH(m, D[0:k]) : MTH(D[k:n]); otherwise PATH(m - k, D[k:n]) : MTH(D[0:k]).
    if (index < mid) {
      topDown.push({ start: mid, end });
      end = mid;
    } else {
      topDown.push({ start, end: mid });
      start = mid;
    }
  }
  // The recursion appends the sibling at each level after the deeper part: reverse to leaf-first.
  return topDown.reverse();
}

/**
 * The ranges whose MTH make up PROOF(size1, D[size2]) = SUBPROOF(size1, D[size2], true) of
 * RFC 9162 §2.1.4.1, in the order the algorithm emits them. Requires 0 < size1 < size2.
 */
export function consistencyRanges(size1: number, size2: number): LeafRange[] {
  const topDown: LeafRange[] = [];
  let start = 0;
  let end = size2;
  // b of SUBPROOF: true while the old tree is still a left-aligned prefix we know the hash of.
  let known = true;
  while (size1 - start < end - start) {
    const k = largestPowerOfTwoBelow(end - start);
    const mid = start + k;
    if (size1 <= mid) {
      // m <= k: SUBPROOF(m, D[0:k], b) : MTH(D[k:n])
      topDown.push({ start: mid, end });
      end = mid;
    } else {
      // m > k: SUBPROOF(m - k, D[k:n], false) : MTH(D[0:k])
      topDown.push({ start, end: mid });
      start = mid;
      known = false;
    }
  }
  // SUBPROOF(m, D[m], true) = {}; SUBPROOF(m, D[m], false) = {MTH(D[m])}.
  if (!known) topDown.push({ start, end });
  return topDown.reverse();
}
