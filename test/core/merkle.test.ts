/**
 * Known answers: the Certificate Transparency 8-leaf test tree and the RFC 6962 §2.1.3 example
 * (test/vectors/rfc6962.json), reproduced by the plans, the reference and CompactRange, and
 * accepted by the verifiers. Plus unit tests of tree-math and of every coded error path.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { fromBase64, fromHex, toHex } from '../../src/core/bytes.ts';
import { ErrorCode } from '../../src/core/errors.ts';
import { emptyRoot, leafHash, nodeHash } from '../../src/core/hash.ts';
import {
  bitLength,
  CompactRange,
  consistencyPlan,
  inclusionPlan,
  isPowerOfTwo,
  largestPowerOfTwoBelow,
  perfectSubtrees,
  popcount,
  referenceConsistencyProof,
  referenceInclusionProof,
  referenceRoot,
  rootFromInclusionProof,
  rootPlan,
  verifyConsistency,
  verifyInclusion,
} from '../../src/core/merkle/index.ts';
import { assertCode, assertHashesEqual, LeafStore, makeLeaves, runPlan } from './merkle-support.ts';

interface Vectors {
  leaves: { hex: string; b64: string }[];
  roots: { size: number; hex: string; b64: string }[];
  node_hashes_by_level: { level: number; index: number; hex: string; b64: string }[][];
  inclusion_proofs: { index: number; size: number; hashes_hex: string[]; hashes: string[] }[];
  consistency_proofs: { old_size: number; new_size: number; hashes_hex: string[]; hashes: string[] }[];
  hasher_vectors: {
    empty_tree_root_hex: string;
    leaf_hashes: { leaf_hex: string; hash_hex: string }[];
    node_hashes: { left_hex: string; right_hex: string; hash_hex: string }[];
  };
  rfc6962_section_2_1_3_example: {
    tree_size: number;
    nodes: Record<string, [number, number]>;
    audit_paths: { index: number; path: string[] }[];
    consistency_proofs: { old_size: number; proof: string[] }[];
  };
}

// Relative to this file, so it works wherever the repository is cloned.
const V: Vectors = JSON.parse(readFileSync(new URL('../vectors/rfc6962.json', import.meta.url), 'utf8'));

/** Decodes a vector's base64 hashes and checks them against its hex twin. */
function hashesOf(b64: string[], hex: string[]): Uint8Array[] {
  const out = b64.map((s) => fromBase64(s, 32));
  assert.deepEqual(out.map(toHex), hex);
  return out;
}

const leaves = V.leaves.map((l) => leafHash(fromHex(l.hex)));
const store = new LeafStore(leaves);
const rootOf = (size: number): Uint8Array => {
  const r = V.roots.find((x) => x.size === size);
  assert.ok(r, `no vector root for size ${size}`);
  return hashesOf([r.b64], [r.hex])[0]!;
};

describe('merkle known answers (rfc6962.json)', () => {
  it('hasher vectors', () => {
    assert.equal(toHex(emptyRoot()), V.hasher_vectors.empty_tree_root_hex);
    for (const v of V.hasher_vectors.leaf_hashes)
      assert.equal(toHex(leafHash(fromHex(v.leaf_hex))), v.hash_hex);
    for (const v of V.hasher_vectors.node_hashes) {
      assert.equal(toHex(nodeHash(fromHex(v.left_hex), fromHex(v.right_hex))), v.hash_hex);
    }
  });

  it('node hashes by level', () => {
    for (const level of V.node_hashes_by_level) {
      for (const n of level) {
        assert.equal(toHex(store.get(n)), n.hex);
        assert.equal(toHex(fromBase64(n.b64)), n.hex);
      }
    }
  });

  it('roots of sizes 0..8: reference, rootPlan and CompactRange', () => {
    assert.deepEqual(
      V.roots.map((r) => r.size),
      [0, 1, 2, 3, 4, 5, 6, 7, 8],
    );
    const range = CompactRange.empty();
    const completed = new Map<string, string>();
    for (const r of V.roots) {
      const root = rootOf(r.size);
      assert.equal(toHex(referenceRoot(leaves.slice(0, r.size))), r.hex);
      const plan = rootPlan(r.size);
      const assembled = runPlan(plan, store);
      assert.equal(assembled.length, 1);
      assertHashesEqual(assembled, [root]);
      assert.equal(range.size, r.size);
      assert.equal(toHex(range.root()), r.hex);
      assert.equal(toHex(CompactRange.decode(r.size, range.encode()).root()), r.hex);
      if (r.size < leaves.length) {
        for (const n of range.append(leaves[r.size]!)) completed.set(`${n.level}:${n.index}`, toHex(n.hash));
      }
    }
    // Every perfect node of the 8-leaf tree was reported exactly as the vectors have it.
    const expected = new Map(V.node_hashes_by_level.flat().map((n) => [`${n.level}:${n.index}`, n.hex]));
    assert.deepEqual(completed, expected);
  });

  it('inclusion proofs', () => {
    assert.ok(V.inclusion_proofs.length > 0);
    for (const p of V.inclusion_proofs) {
      const proof = hashesOf(p.hashes, p.hashes_hex);
      const tree = leaves.slice(0, p.size);
      assertHashesEqual(runPlan(inclusionPlan(p.index, p.size), store), proof);
      assertHashesEqual(referenceInclusionProof(p.index, tree), proof);
      verifyInclusion(leaves[p.index]!, p.index, p.size, proof, rootOf(p.size));
      assert.equal(
        toHex(rootFromInclusionProof(leaves[p.index]!, p.index, p.size, proof)),
        toHex(rootOf(p.size)),
      );
    }
  });

  it('consistency proofs', () => {
    assert.ok(V.consistency_proofs.length > 0);
    for (const p of V.consistency_proofs) {
      const proof = hashesOf(p.hashes, p.hashes_hex);
      const tree = leaves.slice(0, p.new_size);
      assertHashesEqual(runPlan(consistencyPlan(p.old_size, p.new_size), store), proof);
      assertHashesEqual(referenceConsistencyProof(p.old_size, tree), proof);
      verifyConsistency(p.old_size, p.new_size, proof, rootOf(p.old_size), rootOf(p.new_size));
    }
  });

  it('every inclusion and consistency proof of the 8-leaf tree verifies against the vector roots', () => {
    for (let size = 1; size <= 8; size++) {
      for (let index = 0; index < size; index++) {
        const proof = runPlan(inclusionPlan(index, size), store);
        assertHashesEqual(proof, referenceInclusionProof(index, leaves.slice(0, size)));
        verifyInclusion(leaves[index]!, index, size, proof, rootOf(size));
      }
    }
    for (let size2 = 0; size2 <= 8; size2++) {
      for (let size1 = 0; size1 <= size2; size1++) {
        const proof = runPlan(consistencyPlan(size1, size2), store);
        assertHashesEqual(proof, referenceConsistencyProof(size1, leaves.slice(0, size2)));
        verifyConsistency(size1, size2, proof, rootOf(size1), rootOf(size2));
      }
    }
  });

  describe('RFC 6962 §2.1.3 example (7 leaves): proof order', () => {
    const ex = V.rfc6962_section_2_1_3_example;
    const tree = makeLeaves(ex.tree_size, 'd');
    const exStore = new LeafStore(tree);
    const named = (names: string[]): Uint8Array[] =>
      names.map((name) => {
        const range = ex.nodes[name];
        assert.ok(range, `unknown node ${name}`);
        return referenceRoot(tree.slice(range[0], range[1]));
      });
    const root = referenceRoot(tree);

    it('audit paths', () => {
      for (const a of ex.audit_paths) {
        const expected = named(a.path);
        assertHashesEqual(runPlan(inclusionPlan(a.index, ex.tree_size), exStore), expected);
        assertHashesEqual(referenceInclusionProof(a.index, tree), expected);
        verifyInclusion(tree[a.index]!, a.index, ex.tree_size, expected, root);
      }
    });

    it('consistency proofs', () => {
      for (const c of ex.consistency_proofs) {
        const expected = named(c.proof);
        assertHashesEqual(runPlan(consistencyPlan(c.old_size, ex.tree_size), exStore), expected);
        assertHashesEqual(referenceConsistencyProof(c.old_size, tree), expected);
        verifyConsistency(c.old_size, ex.tree_size, expected, referenceRoot(tree.slice(0, c.old_size)), root);
      }
    });
  });
});

describe('tree-math', () => {
  it('bitLength, popcount, isPowerOfTwo beyond 32 bits', () => {
    const cases: [number, number, number][] = [
      [0, 0, 0],
      [1, 1, 1],
      [2, 2, 1],
      [3, 2, 2],
      [2 ** 31, 32, 1],
      [2 ** 32 - 1, 32, 32],
      [2 ** 32, 33, 1],
      [2 ** 32 + 1, 33, 2],
      [2 ** 52, 53, 1],
      [Number.MAX_SAFE_INTEGER, 53, 53],
    ];
    for (const [n, bits, ones] of cases) {
      assert.equal(bitLength(n), bits, `bitLength(${n})`);
      assert.equal(popcount(n), ones, `popcount(${n})`);
      assert.equal(isPowerOfTwo(n), ones === 1, `isPowerOfTwo(${n})`);
    }
  });

  it('largestPowerOfTwoBelow', () => {
    const cases: [number, number][] = [
      [2, 1],
      [3, 2],
      [4, 2],
      [5, 4],
      [2 ** 32, 2 ** 31],
      [2 ** 32 + 1, 2 ** 32],
      [2 ** 33, 2 ** 32],
      [Number.MAX_SAFE_INTEGER, 2 ** 52],
    ];
    for (const [n, k] of cases) assert.equal(largestPowerOfTwoBelow(n), k, `n = ${n}`);
  });

  it('perfectSubtrees of [0, n) follow the set bits of n, largest first', () => {
    assert.deepEqual(perfectSubtrees(0, 0), []);
    assert.deepEqual(perfectSubtrees(0, 7), [
      { level: 2, index: 0 },
      { level: 1, index: 2 },
      { level: 0, index: 6 },
    ]);
    const big = perfectSubtrees(0, Number.MAX_SAFE_INTEGER);
    assert.equal(big.length, 53);
    assert.deepEqual(big[0], { level: 52, index: 0 });
    assert.deepEqual(big[52], { level: 0, index: Number.MAX_SAFE_INTEGER - 1 });
    // An unaligned range: sizes grow then shrink.
    assert.deepEqual(perfectSubtrees(3, 13), [
      { level: 0, index: 3 },
      { level: 2, index: 1 },
      { level: 2, index: 2 },
      { level: 0, index: 12 },
    ]);
  });
});

describe('coded errors', () => {
  const h = leaves[0]!;

  it('plans reject ranges with PROOF_RANGE', () => {
    for (const [i, n] of [
      [0, 0],
      [3, 3],
      [4, 3],
      [-1, 3],
      [0.5, 3],
      [0, Number.NaN],
      [0, 2 ** 53],
      [0, Number.POSITIVE_INFINITY],
    ] as [number, number][]) {
      assertCode(() => inclusionPlan(i, n), ErrorCode.PROOF_RANGE);
    }
    for (const [a, b] of [
      [4, 3],
      [-1, 3],
      [1, 2 ** 53],
      [1.5, 3],
    ] as [number, number][]) {
      assertCode(() => consistencyPlan(a, b), ErrorCode.PROOF_RANGE);
    }
    assertCode(() => rootPlan(-1), ErrorCode.PROOF_RANGE);
    assertCode(() => rootPlan(2 ** 53), ErrorCode.PROOF_RANGE);
  });

  it('empty plans where RFC 9162 §2.1.4 has nothing to prove', () => {
    for (const [a, b] of [
      [0, 0],
      [0, 5],
      [5, 5],
    ] as [number, number][]) {
      const plan = consistencyPlan(a, b);
      assert.deepEqual(plan.nodes, []);
      assert.deepEqual(plan.assemble([]), []);
    }
    assertHashesEqual(rootPlan(0).assemble([]), [emptyRoot()]);
  });

  it('assemble rejects the wrong number or size of hashes', () => {
    const plan = inclusionPlan(2, 7);
    const hashes = plan.nodes.map((n) => store.get(n));
    assertCode(() => plan.assemble(hashes.slice(1)), ErrorCode.PROOF_INVALID);
    assertCode(() => plan.assemble([...hashes, h]), ErrorCode.PROOF_INVALID);
    assertCode(() => plan.assemble([hashes[0]!.subarray(1), ...hashes.slice(1)]), ErrorCode.PROOF_INVALID);
  });

  it('verifyInclusion: malformed inputs are PROOF_INVALID', () => {
    const proof = runPlan(inclusionPlan(1, 5), store);
    const root = rootOf(5);
    verifyInclusion(leaves[1]!, 1, 5, proof, root);
    assertCode(() => verifyInclusion(leaves[1]!, 5, 5, proof, root), ErrorCode.PROOF_INVALID);
    assertCode(() => verifyInclusion(leaves[1]!, 1, 0, [], root), ErrorCode.PROOF_INVALID);
    assertCode(() => verifyInclusion(leaves[1]!, -1, 5, proof, root), ErrorCode.PROOF_INVALID);
    assertCode(() => verifyInclusion(leaves[1]!, 1.5, 5, proof, root), ErrorCode.PROOF_INVALID);
    assertCode(() => verifyInclusion(leaves[1]!, 1, 2 ** 53 + 2, proof, root), ErrorCode.PROOF_INVALID);
    assertCode(() => verifyInclusion(leaves[1]!.subarray(1), 1, 5, proof, root), ErrorCode.PROOF_INVALID);
    assertCode(() => verifyInclusion(leaves[1]!, 1, 5, proof, root.subarray(0, 31)), ErrorCode.PROOF_INVALID);
    const long = [proof[0]!, new Uint8Array(33), proof[2]!];
    assertCode(() => verifyInclusion(leaves[1]!, 1, 5, long, root), ErrorCode.PROOF_INVALID);
    // A leaf at the right edge: index 4 of 5 has a one-element path (MTH(D[0:4])).
    const edge = runPlan(inclusionPlan(4, 5), store);
    assert.equal(edge.length, 1);
    assertCode(() => verifyInclusion(leaves[4]!, 4, 5, [...edge, h], root), ErrorCode.PROOF_INVALID);
    assertCode(() => verifyInclusion(leaves[4]!, 4, 5, [], root), ErrorCode.PROOF_INVALID);
  });

  it('root mismatches carry expected and computed roots as hex', () => {
    const proof = runPlan(inclusionPlan(1, 5), store);
    const wrong = rootOf(6);
    assert.throws(
      () => verifyInclusion(leaves[1]!, 1, 5, proof, wrong),
      (e: { code?: string; details?: Record<string, unknown> }) =>
        e.code === ErrorCode.PROOF_ROOT_MISMATCH &&
        e.details?.['expected'] === toHex(wrong) &&
        e.details['computed'] === toHex(rootOf(5)),
    );
  });

  it('verifyConsistency: sizes, empty proofs, roots', () => {
    const r = (n: number) => rootOf(n);
    assertCode(() => verifyConsistency(4, 3, [], r(4), r(3)), ErrorCode.PROOF_INVALID);
    assertCode(() => verifyConsistency(-1, 3, [], r(0), r(3)), ErrorCode.PROOF_INVALID);
    assertCode(() => verifyConsistency(0, 2 ** 53, [], r(0), r(3)), ErrorCode.PROOF_INVALID);
    // size1 = 0: the empty tree is a prefix of every tree, with MTH({}) as its root.
    verifyConsistency(0, 0, [], r(0), r(0));
    verifyConsistency(0, 8, [], r(0), r(8));
    assertCode(() => verifyConsistency(0, 8, [], r(1), r(8)), ErrorCode.PROOF_ROOT_MISMATCH);
    assertCode(() => verifyConsistency(0, 8, [h], r(0), r(8)), ErrorCode.PROOF_INVALID);
    // size1 = size2: empty proof, equal roots.
    verifyConsistency(5, 5, [], r(5), r(5));
    assertCode(() => verifyConsistency(5, 5, [], r(5), r(6)), ErrorCode.PROOF_ROOT_MISMATCH);
    assertCode(() => verifyConsistency(5, 5, [h], r(5), r(5)), ErrorCode.PROOF_INVALID);
    // A proper proof must not be empty (§2.1.4.2 step 1).
    assertCode(() => verifyConsistency(4, 8, [], r(4), r(8)), ErrorCode.PROOF_INVALID);
    assertCode(() => verifyConsistency(3, 8, [], r(3), r(8)), ErrorCode.PROOF_INVALID);
    assertCode(() => verifyConsistency(3, 8, [], r(3).subarray(1), r(8)), ErrorCode.PROOF_INVALID);
    const proof = runPlan(consistencyPlan(3, 8), store);
    verifyConsistency(3, 8, proof, r(3), r(8));
    assertCode(() => verifyConsistency(3, 8, proof, r(3), r(8).subarray(1)), ErrorCode.PROOF_INVALID);
    const bad = [...proof.slice(0, -1), new Uint8Array(31)];
    assertCode(() => verifyConsistency(3, 8, bad, r(3), r(8)), ErrorCode.PROOF_INVALID);
  });

  it('consistency mismatch says which root', () => {
    const proof = runPlan(consistencyPlan(3, 8), store);
    for (const [which, args] of [
      ['root1', [rootOf(4), rootOf(8)]],
      ['root2', [rootOf(3), rootOf(7)]],
    ] as [string, [Uint8Array, Uint8Array]][]) {
      assert.throws(
        () => verifyConsistency(3, 8, proof, ...args),
        (e: { code?: string; details?: Record<string, unknown> }) =>
          e.code === ErrorCode.PROOF_ROOT_MISMATCH &&
          e.details?.['which'] === which &&
          typeof e.details['expected'] === 'string' &&
          typeof e.details['computed'] === 'string',
      );
    }
  });

  it('CompactRange rejects bad input', () => {
    assertCode(() => CompactRange.empty().append(new Uint8Array(31)), ErrorCode.VALIDATION_FAILED);
    assertCode(() => CompactRange.decode(3, new Uint8Array(32)), ErrorCode.ENCODING_INVALID);
    assertCode(() => CompactRange.decode(3, new Uint8Array(96)), ErrorCode.ENCODING_INVALID);
    assertCode(() => CompactRange.decode(0, new Uint8Array(32)), ErrorCode.ENCODING_INVALID);
    assertCode(() => CompactRange.decode(-1, new Uint8Array(0)), ErrorCode.ENCODING_INVALID);
    assertCode(() => CompactRange.decode(2 ** 53, new Uint8Array(32)), ErrorCode.ENCODING_INVALID);
    assert.equal(CompactRange.decode(3, new Uint8Array(64)).size, 3);
  });

  it('CompactRange hands out copies', () => {
    const range = CompactRange.empty();
    const leaf = leaves[0]!.slice();
    const [first] = range.append(leaf);
    leaf.fill(0);
    first!.hash.fill(0);
    range.nodes()[0]!.hash.fill(0);
    assert.equal(toHex(range.root()), V.roots[1]!.hex);
    const copy = range.clone();
    copy.append(leaves[1]!);
    assert.equal(range.size, 1);
    assert.equal(toHex(copy.root()), V.roots[2]!.hex);
  });
});
