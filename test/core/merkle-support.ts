/** Shared fixtures for the merkle tests: node stores, plan runners, tampering helpers. */
import assert from 'node:assert/strict';
import { utf8 } from '../../src/core/bytes.ts';
import { type ErrorCode, isEvidentError } from '../../src/core/errors.ts';
import { emptyRoot, leafHash, nodeHash } from '../../src/core/hash.ts';
import { type NodeId, type ProofPlan, referenceRoot } from '../../src/core/merkle/index.ts';

/** n distinct leaf hashes. */
export function makeLeaves(n: number, tag = 'entry'): Uint8Array[] {
  return Array.from({ length: n }, (_, i) => leafHash(utf8(`${tag} ${i}`)));
}

/** Perfect-node hashes computed by the reference MTH over real leaves, as a database would hold them. */
export class LeafStore {
  readonly #leaves: readonly Uint8Array[];
  readonly #memo = new Map<string, Uint8Array>();

  constructor(leaves: readonly Uint8Array[]) {
    this.#leaves = leaves;
  }

  get(node: NodeId): Uint8Array {
    const key = `${node.level}:${node.index}`;
    let h = this.#memo.get(key);
    if (h === undefined) {
      const width = 2 ** node.level;
      const start = node.index * width;
      assert.ok(start + width <= this.#leaves.length, `node ${key} is outside the stored tree`);
      h = referenceRoot(this.#leaves.slice(start, start + width));
      this.#memo.set(key, h);
    }
    return h;
  }
}

/**
 * A tree of any size up to 2^53 - 1 whose leaf i is LEAF[i mod 64]: every hash is computable in
 * O(log n) with memoisation, so plans can be checked on huge sizes against a direct transcription
 * of the RFC 9162 §2.1 recursions (MTH, PATH, SUBPROOF), which is what the methods below are.
 */
export class PeriodicTree {
  static readonly PERIOD = 64;
  readonly #leaves = makeLeaves(PeriodicTree.PERIOD, 'periodic');
  readonly #mth = new Map<string, Uint8Array>();

  leaf(i: number): Uint8Array {
    return this.#leaves[i % PeriodicTree.PERIOD]!;
  }

  /** Stored perfect node: MTH of its leaves. */
  get(node: NodeId): Uint8Array {
    return this.mth(node.index * 2 ** node.level, 2 ** node.level);
  }

  /** MTH(D[start:start+n]); its value only depends on start mod 64 and n. */
  mth(start: number, n: number): Uint8Array {
    if (n === 0) return emptyRoot();
    if (n === 1) return this.leaf(start);
    const key = `${start % PeriodicTree.PERIOD}:${n}`;
    let h = this.#mth.get(key);
    if (h === undefined) {
      const k = split(n);
      h = nodeHash(this.mth(start, k), this.mth(start + k, n - k));
      this.#mth.set(key, h);
    }
    return h;
  }

  /** PATH(m, D[start:start+n]). */
  path(m: number, start: number, n: number): Uint8Array[] {
    if (n === 1) return [];
    const k = split(n);
    if (m < k) return [...this.path(m, start, k), this.mth(start + k, n - k)];
    return [...this.path(m - k, start + k, n - k), this.mth(start, k)];
  }

  /** SUBPROOF(m, D[start:start+n], b). */
  subproof(m: number, start: number, n: number, b: boolean): Uint8Array[] {
    if (m === n) return b ? [] : [this.mth(start, n)];
    const k = split(n);
    if (m <= k) return [...this.subproof(m, start, k, b), this.mth(start + k, n - k)];
    return [...this.subproof(m - k, start + k, n - k, false), this.mth(start, k)];
  }
}

function split(n: number): number {
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}

/** Runs a plan the way a store would: fetch every listed node, then assemble. */
export function runPlan(plan: ProofPlan, store: { get(node: NodeId): Uint8Array }): Uint8Array[] {
  return plan.assemble(plan.nodes.map((n) => store.get(n)));
}

export function flipBit(bytes: Uint8Array, bit: number): Uint8Array {
  const out = bytes.slice();
  const at = Math.floor(bit / 8) % out.length;
  out[at] = out[at]! ^ (1 << (bit % 8));
  return out;
}

export function assertCode(fn: () => unknown, code: ErrorCode): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(isEvidentError(e), `expected an EvidentError, got ${String(e)}`);
    assert.equal(e.code, code);
    return true;
  });
}

export function assertHashesEqual(actual: readonly Uint8Array[], expected: readonly Uint8Array[]): void {
  assert.deepEqual(
    actual.map((h) => Buffer.from(h).toString('hex')),
    expected.map((h) => Buffer.from(h).toString('hex')),
  );
}
