/**
 * Names for the perfect subtrees of an RFC 9162 §2.1.1 Merkle tree.
 *
 * In an append-only tree, a perfect subtree (2^level leaves, aligned on a multiple of 2^level)
 * never changes once its last leaf is appended, so its hash can be stored under `{ level, index }`
 * forever. Every hash a proof needs is either such a node or is computed from a few of them.
 */

/** The perfect subtree covering leaves [index * 2^level, (index + 1) * 2^level); level 0 = leaf hashes. */
export interface NodeId {
  readonly level: number;
  readonly index: number;
}

/** A perfect subtree together with its hash: what a store saves and what a frontier holds. */
export interface NodeHash extends NodeId {
  readonly hash: Uint8Array;
}

/** First leaf covered by the node. Arithmetic, not shifts: indices go beyond 32 bits. */
export function nodeStart(node: NodeId): number {
  return node.index * 2 ** node.level;
}

/** One past the last leaf covered by the node. */
export function nodeEnd(node: NodeId): number {
  return (node.index + 1) * 2 ** node.level;
}

/** A stable string key, for de-duplication and as a map key. */
export function nodeKey(node: NodeId): string {
  return `${node.level}:${node.index}`;
}
