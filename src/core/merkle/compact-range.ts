/**
 * The frontier of an append-only Merkle tree: the hashes of the perfect subtrees that make up
 * leaves [0, size), largest first (one per set bit of size). It is all an appender must keep to
 * extend the tree and to compute its head: the stack of RFC 9162 §2.1.2 ("Verifying a Tree Head
 * Given Entries"), kept between appends. An append touches O(log n) hashes.
 */
import { concatBytes, toHex } from '../bytes.ts';
import { ErrorCode, EvidentError, ValidationError } from '../errors.ts';
import { emptyRoot, HASH_SIZE, nodeHash } from '../hash.ts';
import type { NodeHash } from './node-id.ts';
import { isTreeSize, perfectSubtrees, popcount } from './tree-math.ts';

/** Sees one completed perfect subtree: its level (>= 1), index at that level, and hash. */
export type NodeVisitor = (level: number, index: number, hash: Uint8Array) => void;

export class CompactRange {
  #size: number;
  /** Roots of the perfect subtrees of [0, size), largest (leftmost) first. */
  #hashes: Uint8Array[];

  private constructor(size: number, hashes: Uint8Array[]) {
    this.#size = size;
    this.#hashes = hashes;
  }

  /** The frontier of the empty tree. */
  static empty(): CompactRange {
    return new CompactRange(0, []);
  }

  /** Number of leaves appended so far. */
  get size(): number {
    return this.#size;
  }

  /**
   * Appends one leaf hash (SHA-256(0x00 || entry), §2.1.1) and returns every perfect node this
   * append completes, the leaf itself (level 0) first, then upward: what a store must save.
   */
  append(leafHash: Uint8Array): NodeHash[] {
    const completed: NodeHash[] = [];
    this.#add(leafHash, completed);
    return completed;
  }

  /**
   * append() for a caller that needs only the frontier (a verifier): no list of completed nodes.
   * `visit`, if given, sees each node above the leaf that this append completes, lowest level
   * first, without an object per node: how a verifier compares a store's nodes as leaves stream
   * in. The hash passed is the range's own: read it, never keep or change it.
   */
  push(leafHash: Uint8Array, visit?: NodeVisitor): void {
    this.#add(leafHash, undefined, visit);
  }

  #add(leafHash: Uint8Array, completed: NodeHash[] | undefined, visit?: NodeVisitor): void {
    if (!(leafHash instanceof Uint8Array) || leafHash.length !== HASH_SIZE) {
      throw new ValidationError([{ field: 'leafHash', rule: 'length', message: 'must be 32 bytes' }]);
    }
    if (this.#size >= Number.MAX_SAFE_INTEGER) {
      throw new EvidentError(ErrorCode.PROOF_RANGE, 'tree is full', { size: this.#size });
    }
    let hash: Uint8Array = leafHash.slice();
    let level = 0;
    let index = this.#size;
    completed?.push({ level, index, hash });
    // Each trailing 1 bit of the old size is a same-level left sibling now completed on its right.
    while (index % 2 === 1) {
      hash = nodeHash(this.#hashes.pop()!, hash);
      level += 1;
      index = (index - 1) / 2;
      completed?.push({ level, index, hash });
      visit?.(level, index, hash);
    }
    // A copy when the nodes were handed out, so that a caller mutating them cannot corrupt the
    // frontier; otherwise `hash` is already this range's own (a copy, or a fresh node hash).
    this.#hashes.push(completed ? hash.slice() : hash);
    this.#size += 1;
  }

  /**
   * Appends the root of a whole perfect subtree of 2^level leaves, which must start where the
   * range ends (size a multiple of 2^level). With the subtrees `perfectSubtrees(size, n)` this
   * extends a compact range to size n without the leaves: how a bundle of entries [a, b) is tied
   * to the root of a larger tree (the frontier of [0, a), then leaves, then [b, n)).
   * `visit`, if given, sees each node above the subtree that this append completes, as push()'s.
   */
  appendSubtree(level: number, hash: Uint8Array, visit?: NodeVisitor): void {
    if (!Number.isInteger(level) || level < 0 || level > 52 || this.#size % 2 ** level !== 0) {
      throw new EvidentError(ErrorCode.PROOF_INVALID, 'subtree is not aligned with the end of the range', {
        size: this.#size,
        level,
      });
    }
    if (!(hash instanceof Uint8Array) || hash.length !== HASH_SIZE) {
      throw new EvidentError(ErrorCode.PROOF_INVALID, 'subtree hash must be 32 bytes', { level });
    }
    if (this.#size + 2 ** level > Number.MAX_SAFE_INTEGER) {
      throw new EvidentError(ErrorCode.PROOF_RANGE, 'tree is full', { size: this.#size });
    }
    let h: Uint8Array = hash.slice();
    let index = this.#size / 2 ** level;
    let at = level;
    // Like binary addition: merge with left siblings of the same size while there are any.
    while (index % 2 === 1) {
      h = nodeHash(this.#hashes.pop()!, h);
      index = (index - 1) / 2;
      at += 1;
      visit?.(at, index, h);
    }
    this.#hashes.push(h);
    this.#size += 2 ** level;
  }

  /** MTH(D[size]) (§2.1.1): the frontier folded from the right; SHA-256() when empty. */
  root(): Uint8Array {
    const n = this.#hashes.length;
    if (n === 0) return emptyRoot();
    let h = this.#hashes[n - 1]!;
    for (let i = n - 2; i >= 0; i--) h = nodeHash(this.#hashes[i]!, h);
    return h;
  }

  /** The frontier nodes with their ids, largest first. */
  nodes(): NodeHash[] {
    return perfectSubtrees(0, this.#size).map((id, i) => ({ ...id, hash: this.#hashes[i]!.slice() }));
  }

  /** An independent copy, e.g. to stage appends inside a transaction. */
  clone(): CompactRange {
    return new CompactRange(this.#size, this.#hashes.slice());
  }

  /** The frontier hashes concatenated, largest subtree first: 32 * popcount(size) bytes. */
  encode(): Uint8Array {
    return concatBytes(...this.#hashes);
  }

  /** Inverse of encode; the size is stored beside the bytes and fixes how many hashes to expect. */
  static decode(size: number, bytes: Uint8Array): CompactRange {
    if (!isTreeSize(size)) {
      throw new EvidentError(ErrorCode.ENCODING_INVALID, 'compact range size is not a safe integer', {
        size,
      });
    }
    const expected = popcount(size) * HASH_SIZE;
    if (!(bytes instanceof Uint8Array) || bytes.length !== expected) {
      throw new EvidentError(ErrorCode.ENCODING_INVALID, 'compact range bytes do not match its size', {
        size,
        expected,
        got: bytes instanceof Uint8Array ? bytes.length : null,
      });
    }
    const hashes: Uint8Array[] = [];
    for (let o = 0; o < bytes.length; o += HASH_SIZE) hashes.push(bytes.slice(o, o + HASH_SIZE));
    return new CompactRange(size, hashes);
  }

  /** For debugging and logs. */
  toJSON(): { size: number; hashes: string[] } {
    return { size: this.#size, hashes: this.#hashes.map(toHex) };
  }
}
