/**
 * Runs of entries checked apart from the streaming verifier (by another thread, say), so that
 * the per-entry work (re-hashing every field, the links inside the run, the erasable values,
 * the stored tree nodes inside the run) can be spread over several cores.
 *
 * A run is handed to the verifier only when it is clean: every entry stands at its index,
 * hashes to its stored hash, links to the one before it, has nothing wrong with its erasable
 * values, is no erasure event and names no erasure, and every stored node inside the run is
 * the hash the entries give. For such a run, the verifier's verdict depends only on what the
 * run carries (the first entry's link, the last hash, the leaf hashes, the subtree roots and
 * the stored nodes that reach before the run), so it reaches the same report as when fed the
 * entries one by one. Anything else is not a run: its entries go through the verifier one by
 * one, which finds and names the fault exactly as it always does.
 */
import { bytesEqual, toHex } from '../bytes.ts';
import { type Entry, leafText } from '../event/entry.ts';
import { ERASURE_ACTION } from '../event/erasure.ts';
import { leafHashOfText, nodeHash } from '../hash.ts';
import { type NodeHash, perfectSubtrees } from '../merkle/index.ts';
import { checkValues } from './entry-checks.ts';

/** What a clean run of entries [start, start + count) gives the verifier. */
export interface RunSummary {
  start: number;
  count: number;
  /** prev_hash of the first entry: its link to the entry before the run. */
  firstPrev: string;
  /** hash of the last entry. */
  lastHash: string;
  /** The first entry itself: what the verifier sees when it looks ahead from the entry before the run. */
  first: Entry;
  /** The leaf hashes, 32 bytes each, in order. */
  leaves: Uint8Array;
  /** The perfect subtrees of [start, start + count) (perfectSubtrees order) with their hashes. */
  pieces: NodeHash[];
  /**
   * The stored nodes that the run's leaves complete but that begin before the run: the run
   * checked that exactly these nodes are stored; their hashes need the tree before the run.
   */
  upper: NodeHash[];
  /** The entries `keep` selected, in order (events the caller gathers, such as API key events). */
  kept: Entry[];
}

/** A run as the verifier receives it among pages of entries. */
export interface VerifiedRun extends RunSummary {
  readonly kind: 'run';
  /** The run's entries, for when the verifier cannot take the run whole (it then checks them one by one). */
  expand(): Promise<readonly Entry[]>;
}

export function isRun(x: unknown): x is VerifiedRun {
  return (x as { kind?: unknown } | undefined)?.kind === 'run';
}

/**
 * The summary of entries read for [start, end), or undefined when they are not a clean run.
 * `stored`: the store's nodes of level >= 1 whose last leaf lies in [start, end) (see
 * completedNodes), when the store keeps nodes; omitted for a bundle.
 */
export function checkRun(
  entries: readonly Entry[],
  start: number,
  end: number,
  stored?: readonly NodeHash[],
  keep?: (e: Entry) => boolean,
  leafHex: (text: string) => string = portableLeafHex,
): RunSummary | undefined {
  const run = new RunCheck(start, end, keep, leafHex);
  for (const e of entries) if (!run.add(e)) return undefined;
  return run.finish(stored);
}

/**
 * checkRun fed entry by entry, so that a run's entries need not all be held at once: a worker
 * reads or parses them a few at a time and lets each go once it is added. What the run keeps
 * is its leaf hashes (32 bytes an entry), its first entry and the entries `keep` selects.
 */
export class RunCheck {
  private readonly count: number;
  private readonly leaves: Uint8Array;
  private readonly kept: Entry[] = [];
  private at = 0;
  private first: Entry | undefined;
  private prev: unknown;
  private clean: boolean;

  constructor(
    private readonly start: number,
    end: number,
    private readonly keep?: (e: Entry) => boolean,
    private readonly leafHex: LeafHex = portableLeafHex,
  ) {
    this.count = end - start;
    this.clean =
      Number.isSafeInteger(start) && start >= 0 && Number.isSafeInteger(this.count) && this.count > 0;
    this.leaves = new Uint8Array(this.clean ? this.count * 32 : 0);
  }

  /** Whether the run is still clean with `e` as its next entry (once false, it stays false). */
  add(e: Entry): boolean {
    if (!this.clean) return false;
    this.clean = this.check(e);
    return this.clean;
  }

  private check(e: Entry): boolean {
    const i = this.at;
    if (i >= this.count || e.index !== this.start + i) return false;
    let text: string;
    try {
      text = leafText(e);
    } catch {
      return false; // no canonical form: the verifier says so
    }
    // leafHashOf(e, e.index) compared with hexEquals: lowercase hex, character for character.
    const hex = this.leafHex(text);
    if (hex !== e.hash) return false;
    if (i > 0 && e.prev_hash !== this.prev) return false;
    if (e.action === ERASURE_ACTION) return false;
    if (e.erased && (e.erased as unknown[]).length > 0) return false;
    let faulty = false;
    checkValues(e, e.index, () => {
      faulty = true;
    });
    if (faulty) return false;
    if (this.keep?.(e)) this.kept.push(e);
    writeHex(hex, this.leaves, i * 32);
    if (i === 0) this.first = e;
    this.prev = e.hash;
    this.at++;
    return true;
  }

  /** The summary, once every entry of [start, end) was added: undefined when the run is not clean. */
  finish(stored?: readonly NodeHash[]): RunSummary | undefined {
    if (!this.clean || this.at !== this.count) return undefined;
    const { start, count, leaves } = this;
    const end = start + count;
    const { pieces, inside } = subtrees(leaves, start, end, stored !== undefined);
    let upper: NodeHash[] = [];
    if (stored) {
      const expected = upperIds(start, end);
      let insideSeen = 0;
      for (const n of stored) {
        const first = n.index * 2 ** n.level;
        if (first >= start) {
          const h = inside[n.level]?.get(n.index);
          if (h === undefined || !bytesEqual(h, n.hash)) return undefined;
          insideSeen++;
        } else {
          if (expected.get(n.level) !== n.index) return undefined;
          upper.push(n);
        }
      }
      let insideCount = 0;
      for (const m of inside) insideCount += m?.size ?? 0;
      if (insideSeen !== insideCount || upper.length !== expected.size) return undefined;
      upper = upper.map((n) => ({ level: n.level, index: n.index, hash: n.hash }));
    }
    const first = this.first!;
    return {
      start,
      count,
      firstPrev: first.prev_hash,
      lastHash: this.prev as string,
      first,
      leaves,
      pieces,
      upper,
      kept: this.kept,
    };
  }
}

/** hex(SHA-256(0x00 || UTF-8 of text)): the leaf hash of a leaf text (RFC 9162 §2.1.1). */
export type LeafHex = (text: string) => string;

const portableLeafHex: LeafHex = (text) => toHex(leafHashOfText(text));

/** 64 lowercase hex digits (already compared equal to a hash computed here) into 32 bytes at `at`. */
function writeHex(hex: string, out: Uint8Array, at: number): void {
  for (let j = 0; j < 32; j++)
    out[at + j] = (nibble(hex.charCodeAt(2 * j)) << 4) | nibble(hex.charCodeAt(2 * j + 1));
}

const nibble = (c: number): number => (c <= 57 ? c - 48 : c - 87);

/** level -> index of each node that the leaves [start, end) complete and that begins before start. */
function upperIds(start: number, end: number): Map<number, number> {
  const out = new Map<number, number>();
  for (let level = 1, width = 2; width <= end; level++, width *= 2) {
    if (start % width === 0) continue;
    const last = Math.ceil(start / width) * width; // the first node boundary after start
    if (last <= end) out.set(level, last / width - 1);
  }
  return out;
}

/**
 * The perfect subtrees of [start, end) and, when asked, every node inside them by level and
 * index (RFC 9162 §2.1.1: node = SHA-256(0x01 || left || right)).
 */
function subtrees(
  leaves: Uint8Array,
  start: number,
  end: number,
  all: boolean,
): { pieces: NodeHash[]; inside: Map<number, Uint8Array>[] } {
  const pieces: NodeHash[] = [];
  const inside: Map<number, Uint8Array>[] = [];
  for (const p of perfectSubtrees(start, end)) {
    const first = p.index * 2 ** p.level;
    let level: Uint8Array[] = [];
    for (let i = first; i < first + 2 ** p.level; i++) {
      const o = (i - start) * 32;
      level.push(leaves.subarray(o, o + 32));
    }
    for (let l = 1; l <= p.level; l++) {
      const up: Uint8Array[] = new Array(level.length / 2);
      const base = first / 2 ** l;
      let at = inside[l];
      if (all && at === undefined) {
        at = new Map();
        inside[l] = at;
      }
      for (let j = 0; j < up.length; j++) {
        const h = nodeHash(level[2 * j]!, level[2 * j + 1]!);
        up[j] = h;
        at?.set(base + j, h);
      }
      level = up;
    }
    pieces.push({ level: p.level, index: p.index, hash: level[0]!.slice() });
  }
  return { pieces, inside };
}
