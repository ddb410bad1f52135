/**
 * Checks a store's perfect-subtree nodes against the tree rebuilt from the entries, as the
 * leaves stream in: each node the rebuilt tree completes (RFC 9162 §2.1.1: a perfect subtree
 * never changes once its last leaf is in) is compared with the stored one. Proofs are built from
 * these nodes (../merkle/plan.ts), so a node that no longer matches would hand out proofs that
 * fail against the signed checkpoint they are served with. The store is read in windows of
 * NODE_WINDOW leaves: memory stays flat however long the log.
 */
import { bytesEqual, toBase64 } from '../bytes.ts';
import type { NodeHash } from '../merkle/index.ts';
import { type Fault, FaultKind } from './report.ts';

/**
 * The stored nodes above the leaves (level >= 1) whose last leaf lies in [from, to), in any
 * order (see completedNodes in ../merkle/tree-math.ts).
 */
export type StoredNodes = (from: number, to: number) => Promise<readonly NodeHash[]>;

/** Leaves per read of stored nodes (default); runs checked apart (./runs.ts) start on multiples of it. */
export const NODE_WINDOW = 4096;

const end = (n: NodeHash) => (n.index + 1) * 2 ** n.level;

export class NodeCheck {
  /** The window's stored nodes by level, each in index order: the order the rebuilt tree completes them. */
  #levels: NodeHash[][] = [];
  /** Per level, the next stored node to compare. */
  #at: number[] = [];
  #until = 0;
  /** The leaf being pushed: the nodes it completes end at it. */
  #pos = 0;
  readonly #read: StoredNodes;
  readonly #add: (f: Fault) => void;
  /** Whether an entry in [start, end) was already blamed: its ancestors' mismatch is not news. */
  readonly #blamed: (start: number, end: number) => boolean;

  readonly #window: number;

  constructor(
    read: StoredNodes,
    add: (f: Fault) => void,
    blamed: (start: number, end: number) => boolean,
    window = NODE_WINDOW,
  ) {
    this.#window = window;
    this.#read = read;
    this.#add = add;
    this.#blamed = blamed;
  }

  /** Call before pushing leaf `pos`; awaits only once per window. */
  needs(pos: number): boolean {
    this.#pos = pos;
    return pos >= this.#until;
  }

  async load(pos: number): Promise<void> {
    this.#levels = byLevel(await this.#read(pos, pos + this.#window));
    this.#at = this.#levels.map(() => 0);
    this.#until = pos + this.#window;
  }

  /** The visitor for CompactRange.push: compares one completed node with the stored one. */
  readonly visit = (level: number, index: number, hash: Uint8Array): void => {
    const at = this.#at[level] ?? 0;
    const stored = this.#levels[level]?.[at];
    if (stored !== undefined && stored.index === index) {
      this.#at[level] = at + 1;
      if (bytesEqual(stored.hash, hash)) return;
      this.#fault(level, index, hash, stored.hash);
    } else {
      this.#fault(level, index, hash, undefined);
    }
  };

  /**
   * visit() for a node completed by a run's leaves (./runs.ts) that begins before the run:
   * compared with `stored`, the one the run read, if any. Reads no window.
   */
  checkGiven(level: number, index: number, hash: Uint8Array, stored: Uint8Array | undefined): void {
    this.#pos = (index + 1) * 2 ** level - 1;
    if (stored !== undefined && bytesEqual(stored, hash)) return;
    this.#fault(level, index, hash, stored);
  }

  /**
   * After the last leaf of a tree of `size`: stored nodes that end beyond it belong to no tree
   * the entries give (and would make the next append that completes them fail).
   */
  async finish(size: number, currentSize?: () => Promise<number>): Promise<void> {
    let rest = this.#levels
      .flatMap((ns, level) => ns.slice(this.#at[level] ?? 0))
      .filter((n) => end(n) > size);
    rest.push(...(await this.#read(Math.max(this.#until, size), Number.MAX_SAFE_INTEGER)));
    // Nodes and head are committed together: a node within the size read after it was appended
    // while the entries were being read.
    if (rest.length > 0 && currentSize) {
      const now = await currentSize();
      rest = rest.filter((n) => end(n) > now);
    }
    for (const n of rest) {
      this.#add({
        kind: FaultKind.TREE_NODE_MISMATCH,
        index: null,
        message: `a tree node (level ${n.level}, index ${n.index}) is stored beyond the tree of size ${size}`,
        level: n.level,
        node_index: n.index,
        leaves: [n.index * 2 ** n.level, end(n)],
        expected: null,
        found: toBase64(n.hash),
      });
    }
  }

  #fault(level: number, index: number, computed: Uint8Array, stored: Uint8Array | undefined): void {
    const start = index * 2 ** level;
    if (this.#blamed(start, this.#pos + 1)) return;
    this.#add({
      kind: FaultKind.TREE_NODE_MISMATCH,
      index: null,
      message:
        stored === undefined
          ? `the tree node over entries [${start}, ${this.#pos + 1}) (level ${level}, index ${index}) is missing from the store`
          : `the stored tree node over entries [${start}, ${this.#pos + 1}) (level ${level}, index ${index}) is not the hash of those entries: proofs through it would fail`,
      level,
      node_index: index,
      leaves: [start, this.#pos + 1],
      expected: toBase64(computed),
      found: stored === undefined ? null : toBase64(stored),
    });
  }
}

/** Nodes grouped by level, each group in index order (a store usually returns them so). */
function byLevel(nodes: readonly NodeHash[]): NodeHash[][] {
  const out: NodeHash[][] = [];
  for (const n of nodes) {
    const group = out[n.level];
    if (group) group.push(n);
    else out[n.level] = [n];
  }
  for (const ns of out) {
    if (ns === undefined) continue;
    for (let i = 1; i < ns.length; i++) {
      if (ns[i - 1]!.index > ns[i]!.index) {
        ns.sort((a, b) => a.index - b.index);
        break;
      }
    }
  }
  return out;
}
