/**
 * The upper tree nodes of served proofs, kept in memory. Every proof of a log needs the same
 * few nodes of levels 8 and up (each the root of 256 leaves or more: fewer than one node in 128
 * of a log), and reading them again from the database for each proof costs a statement's share
 * and its garbage. A node is kept only once a proof it was part of has been checked against
 * the root it is judged by (./proofs.ts), and a stored node never changes: whatever the
 * database says afterwards, a kept node is one a checked proof has vouched for. Verification
 * (`evident verify`) never reads from here: it re-derives every stored node from the entries.
 *
 * One budget for the whole process, whatever the number of logs open: DEFAULT_PROOF_NODES
 * hashes in one buffer (2 MiB, allocated on first use; setProofNodeCapacity changes it). When
 * it is full everything is dropped and kept again as proofs ask: the nodes near the root come
 * back first, because every proof asks for them.
 */
import { HASH_SIZE } from '../core/hash.ts';
import type { NodeId } from '../core/merkle/index.ts';

/** The lowest level kept: a node of tile level 1 or above (C2SP tiles of 256). */
export const LOWEST_KEPT_LEVEL = 8;
/** Hashes kept by default: 2 MiB, every upper node of logs up to 8M entries. */
export const DEFAULT_PROOF_NODES = 65_536;

let capacity = DEFAULT_PROOF_NODES;
let slab: Uint8Array | undefined;
let used = 0;
/** By the cache's own id (one per ledger): node key → slot in `slab`. */
const kept = new Map<number, Map<number, number>>();
let nextId = 0;

/** Level below 64 in the low bits: a level-8 index is below 2^45 for any safe tree size. */
const keyOf = (level: number, index: number): number => index * 64 + level;

/** Hashes kept in the whole process (for tests and measurements). */
export function keptProofNodes(): number {
  return used;
}

/**
 * Sets how many hashes the process keeps (32 bytes each; 0 keeps none), dropping those kept.
 * For an embedder that wants less memory, and for tests.
 */
export function setProofNodeCapacity(hashes: number): void {
  if (!Number.isSafeInteger(hashes) || hashes < 0)
    throw new RangeError('capacity must be a non-negative integer');
  capacity = hashes;
  slab = undefined;
  used = 0;
  kept.clear();
}

/** One log's view of the process-wide buffer. */
export class ProofNodeCache {
  readonly #id = nextId++;

  /** The kept hash of a node, if there is one (a view into the shared buffer: do not keep it). */
  #get(node: NodeId): Uint8Array | undefined {
    if (node.level < LOWEST_KEPT_LEVEL) return undefined;
    const slot = kept.get(this.#id)?.get(keyOf(node.level, node.index));
    return slot === undefined ? undefined : slab!.subarray(slot * HASH_SIZE, (slot + 1) * HASH_SIZE);
  }

  /** Keeps the upper nodes of a proof that was checked; `hashes[i]` is the hash of `nodes[i]`. */
  keep(nodes: readonly NodeId[], hashes: readonly Uint8Array[]): void {
    for (let i = 0; i < nodes.length; i++) {
      const { level, index } = nodes[i]!;
      if (level < LOWEST_KEPT_LEVEL || hashes[i]!.length !== HASH_SIZE) continue;
      let mine = kept.get(this.#id);
      const key = keyOf(level, index);
      if (mine?.has(key)) continue;
      if (capacity === 0) return;
      if (used === capacity) {
        kept.clear();
        used = 0;
        mine = undefined;
      }
      if (!mine) {
        mine = new Map();
        kept.set(this.#id, mine);
      }
      slab ??= new Uint8Array(capacity * HASH_SIZE);
      slab.set(hashes[i]!, used * HASH_SIZE);
      mine.set(key, used++);
    }
  }

  /**
   * The hashes of `nodes`: kept ones from memory, the others from `read` (one call, in order).
   * A kept hash is copied out, so that a later drop cannot change what the caller holds.
   */
  async read(
    nodes: readonly NodeId[],
    read: (ids: NodeId[]) => Promise<Uint8Array[]>,
  ): Promise<Uint8Array[]> {
    const out: Uint8Array[] = new Array(nodes.length);
    const missing: number[] = [];
    for (let i = 0; i < nodes.length; i++) {
      const h = this.#get(nodes[i]!);
      if (h) out[i] = h.slice();
      else missing.push(i);
    }
    if (missing.length > 0) {
      const got = await read(missing.map((i) => nodes[i]!));
      for (let k = 0; k < missing.length; k++) out[missing[k]!] = got[k]!;
    }
    return out;
  }

  /** Forgets this log's nodes (its ledger closed); their slots are reused at the next drop. */
  forget(): void {
    kept.delete(this.#id);
  }
}
