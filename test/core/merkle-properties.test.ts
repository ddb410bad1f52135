/**
 * Property tests (fast-check): stored-node plans against the RFC 9162 reference on every shape up
 * to 300 leaves, CompactRange against the reference at every size, and rejection of every
 * single-bit change, wrong index or size, and truncated or extended proof, by error code.
 * Huge sizes (up to 2^53 - 1) run on a periodic tree whose hashes are computable in O(log n).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { toHex } from '../../src/core/bytes.ts';
import { ErrorCode, isEvidentError } from '../../src/core/errors.ts';
import { leafHash } from '../../src/core/hash.ts';
import {
  bitLength,
  CompactRange,
  consistencyPlan,
  inclusionPlan,
  largestPowerOfTwoBelow,
  type NodeHash,
  nodeEnd,
  nodeKey,
  nodeStart,
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
import {
  assertCode,
  assertHashesEqual,
  flipBit,
  LeafStore,
  makeLeaves,
  PeriodicTree,
  runPlan,
} from './merkle-support.ts';

const MAX = 300;
const leaves = makeLeaves(MAX);
const store = new LeafStore(leaves);
const roots = Array.from({ length: MAX + 1 }, (_, n) => referenceRoot(leaves.slice(0, n)));
const RUNS = { numRuns: 300 };

/** (size, index) with 0 <= index < size <= MAX. */
const sizeAndIndex = fc
  .integer({ min: 1, max: MAX })
  .chain((size) => fc.tuple(fc.constant(size), fc.integer({ min: 0, max: size - 1 })));
/** (size1, size2) with 0 <= size1 <= size2 <= MAX, biased to proper proofs. */
const twoSizes = fc
  .integer({ min: 1, max: MAX })
  .chain((size2) => fc.tuple(fc.integer({ min: 0, max: size2 }), fc.constant(size2)));
const properSizes = fc
  .integer({ min: 2, max: MAX })
  .chain((size2) => fc.tuple(fc.integer({ min: 1, max: size2 - 1 }), fc.constant(size2)));

const inclusionProof = (index: number, size: number) => runPlan(inclusionPlan(index, size), store);
const consistencyProof = (size1: number, size2: number) => runPlan(consistencyPlan(size1, size2), store);

describe('plans equal the RFC 9162 reference', () => {
  it('rootPlan at every size 0..300', () => {
    for (let n = 0; n <= MAX; n++) assertHashesEqual(runPlan(rootPlan(n), store), [roots[n]!]);
  });

  it('inclusion proofs: every (index, size) up to 64, random ones up to 300', () => {
    const check = (index: number, size: number) => {
      const proof = inclusionProof(index, size);
      assertHashesEqual(proof, referenceInclusionProof(index, leaves.slice(0, size)));
      verifyInclusion(leaves[index]!, index, size, proof, roots[size]!);
      assert.equal(toHex(rootFromInclusionProof(leaves[index]!, index, size, proof)), toHex(roots[size]!));
    };
    for (let size = 1; size <= 64; size++) for (let i = 0; i < size; i++) check(i, size);
    fc.assert(
      fc.property(sizeAndIndex, ([size, index]) => check(index, size)),
      RUNS,
    );
  });

  it('consistency proofs: every (size1, size2) up to 64, random ones up to 300', () => {
    const check = (size1: number, size2: number) => {
      const proof = consistencyProof(size1, size2);
      assertHashesEqual(proof, referenceConsistencyProof(size1, leaves.slice(0, size2)));
      verifyConsistency(size1, size2, proof, roots[size1]!, roots[size2]!);
    };
    for (let s2 = 0; s2 <= 64; s2++) for (let s1 = 0; s1 <= s2; s1++) check(s1, s2);
    fc.assert(
      fc.property(twoSizes, ([size1, size2]) => check(size1, size2)),
      RUNS,
    );
  });

  it('plans fetch each node once, only perfect nodes inside the tree, O(log n) of them', () => {
    fc.assert(
      fc.property(sizeAndIndex, twoSizes, ([size, index], [size1, size2]) => {
        for (const [plan, n] of [
          [inclusionPlan(index, size), size],
          [consistencyPlan(size1, size2), size2],
          [rootPlan(size), size],
        ] as const) {
          const keys = plan.nodes.map(nodeKey);
          assert.equal(new Set(keys).size, keys.length);
          for (const node of plan.nodes) {
            assert.ok(Number.isInteger(node.index) && node.index >= 0 && nodeEnd(node) <= n);
          }
          assert.ok(plan.nodes.length <= 2 * bitLength(n));
        }
      }),
      RUNS,
    );
  });
});

describe('CompactRange', () => {
  it('root, frontier and completed nodes match the reference at every size 0..300', () => {
    let range = CompactRange.empty();
    const seen = new Map<string, NodeHash>();
    for (let n = 0; n <= MAX; n++) {
      assert.equal(range.size, n);
      assert.equal(toHex(range.root()), toHex(roots[n]!));
      // The frontier is the decomposition of [0, n) into perfect subtrees, largest first.
      const frontier = range.nodes();
      assert.deepEqual(
        frontier.map(({ level, index }) => ({ level, index })),
        perfectSubtrees(0, n),
      );
      for (const f of frontier) assert.equal(toHex(f.hash), toHex(store.get(f)));
      // encode/decode round trip; a stored row restores the same frontier.
      const bytes = range.encode();
      assert.equal(bytes.length, 32 * popcount(n));
      range = CompactRange.decode(n, bytes);
      if (n === MAX) break;
      const completed = range.append(leaves[n]!);
      assert.deepEqual(completed[0] && { level: completed[0].level, index: completed[0].index }, {
        level: 0,
        index: n,
      });
      for (const c of completed) {
        assert.ok(!seen.has(nodeKey(c)), `node ${nodeKey(c)} reported twice`);
        assert.equal(nodeEnd(c), n + 1, 'a completed node ends at the new leaf');
        assert.equal(toHex(c.hash), toHex(store.get(c)));
        seen.set(nodeKey(c), c);
      }
    }
    // Every perfect node inside [0, MAX) was reported exactly once.
    let expected = 0;
    for (let level = 0; 2 ** level <= MAX; level++) expected += Math.floor(MAX / 2 ** level);
    assert.equal(seen.size, expected);
  });

  it('rejects an encoding whose length does not match popcount(size)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 2 ** 40 }), fc.integer({ min: 0, max: 60 }), (size, hashes) => {
        fc.pre(hashes !== popcount(size));
        assertCode(() => CompactRange.decode(size, new Uint8Array(32 * hashes)), ErrorCode.ENCODING_INVALID);
      }),
    );
  });
});

describe('verifiers reject tampering with the right code', () => {
  it('inclusion: any bit of the leaf, a proof element or the root', () => {
    fc.assert(
      fc.property(sizeAndIndex, fc.nat(), fc.nat(255), ([size, index], pick, bit) => {
        const leaf = leaves[index]!;
        const proof = inclusionProof(index, size);
        const root = roots[size]!;
        const code = ErrorCode.PROOF_ROOT_MISMATCH;
        assertCode(() => verifyInclusion(flipBit(leaf, bit), index, size, proof, root), code);
        assertCode(() => verifyInclusion(leaf, index, size, proof, flipBit(root, bit)), code);
        if (proof.length > 0) {
          const at = pick % proof.length;
          const bad = proof.map((p, i) => (i === at ? flipBit(p, bit) : p));
          assertCode(() => verifyInclusion(leaf, index, size, bad, root), code);
        }
      }),
      RUNS,
    );
  });

  it('inclusion: every bit of every element, exhaustively for one proof', () => {
    const [index, size] = [37, 203];
    const proof = inclusionProof(index, size);
    for (let at = 0; at < proof.length; at++) {
      for (let bit = 0; bit < 256; bit++) {
        const bad = proof.map((p, i) => (i === at ? flipBit(p, bit) : p));
        assertCode(
          () => verifyInclusion(leaves[index]!, index, size, bad, roots[size]!),
          ErrorCode.PROOF_ROOT_MISMATCH,
        );
      }
    }
  });

  it('inclusion: a wrong index or size', () => {
    fc.assert(
      fc.property(sizeAndIndex, sizeAndIndex, ([size, index], [size2, index2]) => {
        const proof = inclusionProof(index, size);
        const leaf = leaves[index]!;
        // The code a verifier must give for a claim of (i, n, MTH(D[n])) with this proof.
        const expect = (i: number, n: number) =>
          referenceInclusionProof(i, leaves.slice(0, n)).length === proof.length
            ? ErrorCode.PROOF_ROOT_MISMATCH
            : ErrorCode.PROOF_INVALID;
        if (index2 !== index && index2 < size) {
          assertCode(() => verifyInclusion(leaf, index2, size, proof, roots[size]!), expect(index2, size));
        }
        if (size2 !== size && index < size2) {
          // The size as a signed checkpoint would carry it: with its own root.
          assertCode(() => verifyInclusion(leaf, index, size2, proof, roots[size2]!), expect(index, size2));
        }
        assertCode(() => verifyInclusion(leaf, size, size, proof, roots[size]!), ErrorCode.PROOF_INVALID);
      }),
      RUNS,
    );
  });

  it('inclusion: truncated and extended proofs', () => {
    fc.assert(
      fc.property(sizeAndIndex, fc.uint8Array({ minLength: 32, maxLength: 32 }), ([size, index], extra) => {
        const proof = inclusionProof(index, size);
        const check = (p: Uint8Array[]) =>
          assertCode(
            () => verifyInclusion(leaves[index]!, index, size, p, roots[size]!),
            ErrorCode.PROOF_INVALID,
          );
        if (proof.length > 0) {
          check(proof.slice(0, -1));
          check(proof.slice(1));
        }
        check([...proof, extra]);
        check([extra, ...proof]);
        check([...proof, roots[size]!]);
      }),
      RUNS,
    );
  });

  it('consistency: any bit of a proof element or either root', () => {
    fc.assert(
      fc.property(properSizes, fc.nat(), fc.nat(255), ([size1, size2], pick, bit) => {
        const proof = consistencyProof(size1, size2);
        const [r1, r2] = [roots[size1]!, roots[size2]!];
        const code = ErrorCode.PROOF_ROOT_MISMATCH;
        assertCode(() => verifyConsistency(size1, size2, proof, flipBit(r1, bit), r2), code);
        assertCode(() => verifyConsistency(size1, size2, proof, r1, flipBit(r2, bit)), code);
        const at = pick % proof.length;
        const bad = proof.map((p, i) => (i === at ? flipBit(p, bit) : p));
        assertCode(() => verifyConsistency(size1, size2, bad, r1, r2), code);
      }),
      RUNS,
    );
  });

  it('consistency: every bit of every element, exhaustively for two proofs', () => {
    for (const [size1, size2] of [
      [37, 203],
      [64, 203],
    ]) {
      const proof = consistencyProof(size1!, size2!);
      for (let at = 0; at < proof.length; at++) {
        for (let bit = 0; bit < 256; bit++) {
          const bad = proof.map((p, i) => (i === at ? flipBit(p, bit) : p));
          assertCode(
            () => verifyConsistency(size1!, size2!, bad, roots[size1!]!, roots[size2!]!),
            ErrorCode.PROOF_ROOT_MISMATCH,
          );
        }
      }
    }
  });

  it('consistency: wrong sizes', () => {
    fc.assert(
      fc.property(properSizes, twoSizes, ([size1, size2], [other1, other2]) => {
        const proof = consistencyProof(size1, size2);
        const expect = (a: number, b: number) =>
          a !== 0 && a !== b && referenceConsistencyProof(a, leaves.slice(0, b)).length === proof.length
            ? ErrorCode.PROOF_ROOT_MISMATCH
            : ErrorCode.PROOF_INVALID;
        if (other1 !== size1 && other1 <= size2) {
          const run = () => verifyConsistency(other1, size2, proof, roots[other1]!, roots[size2]!);
          assertCode(run, expect(other1, size2));
        }
        if (other2 !== size2 && size1 <= other2) {
          const run = () => verifyConsistency(size1, other2, proof, roots[size1]!, roots[other2]!);
          assertCode(run, expect(size1, other2));
        }
        assertCode(
          () => verifyConsistency(size2, size1, proof, roots[size2]!, roots[size1]!),
          ErrorCode.PROOF_INVALID,
        );
      }),
      RUNS,
    );
  });

  it('consistency: truncated and extended proofs', () => {
    fc.assert(
      fc.property(twoSizes, fc.uint8Array({ minLength: 32, maxLength: 32 }), ([size1, size2], extra) => {
        const proof = consistencyProof(size1, size2);
        const check = (p: Uint8Array[]) =>
          assertCode(
            () => verifyConsistency(size1, size2, p, roots[size1]!, roots[size2]!),
            ErrorCode.PROOF_INVALID,
          );
        if (proof.length > 0) {
          check(proof.slice(0, -1));
          check(proof.slice(1));
        }
        check([...proof, extra]);
        check([extra, ...proof]);
        // The old root that §2.1.4.2 step 2 prepends must not be sent along.
        check([roots[size1]!, ...proof]);
      }),
      RUNS,
    );
  });
});

describe('huge trees (plans only, periodic leaves)', () => {
  const tree = new PeriodicTree();
  const SIZES = [2 ** 20 + 3, 2 ** 32 - 1, 2 ** 32 + 5, 2 ** 52, Number.MAX_SAFE_INTEGER];

  it('roots, inclusion and consistency proofs match the RFC recursions and verify', () => {
    for (const size of SIZES) {
      const root = runPlan(rootPlan(size), tree)[0]!;
      assert.equal(toHex(root), toHex(tree.mth(0, size)));
      for (const index of [0, 1, size - 2, size - 1, Math.floor(size / 3), largestPowerOfTwoBelow(size)]) {
        const plan = inclusionPlan(index, size);
        assert.ok(plan.nodes.length <= 2 * 53);
        const proof = runPlan(plan, tree);
        assertHashesEqual(proof, tree.path(index, 0, size));
        verifyInclusion(tree.leaf(index), index, size, proof, root);
        assertCode(
          () => verifyInclusion(tree.leaf(index + 1), index, size, proof, root),
          ErrorCode.PROOF_ROOT_MISMATCH,
        );
      }
      for (const size1 of [1, 2, 3, 2 ** 20, size - 1, Math.floor(size / 2) + 1]) {
        const proof = runPlan(consistencyPlan(size1, size), tree);
        assertHashesEqual(proof, tree.subproof(size1, 0, size, true));
        verifyConsistency(size1, size, proof, tree.mth(0, size1), root);
      }
    }
  });

  it('random positions in huge trees', () => {
    fc.assert(
      fc.property(
        fc
          .integer({ min: 2, max: Number.MAX_SAFE_INTEGER })
          .chain((size) =>
            fc.tuple(
              fc.constant(size),
              fc.integer({ min: 0, max: size - 1 }),
              fc.integer({ min: 1, max: size - 1 }),
            ),
          ),
        ([size, index, size1]) => {
          const root = tree.mth(0, size);
          assertHashesEqual(runPlan(rootPlan(size), tree), [root]);
          const proof = runPlan(inclusionPlan(index, size), tree);
          assertHashesEqual(proof, tree.path(index, 0, size));
          verifyInclusion(tree.leaf(index), index, size, proof, root);
          const cproof = runPlan(consistencyPlan(size1, size), tree);
          assertHashesEqual(cproof, tree.subproof(size1, 0, size, true));
          verifyConsistency(size1, size, cproof, tree.mth(0, size1), root);
          for (const node of perfectSubtrees(0, size)) assert.ok(nodeStart(node) < size);
        },
      ),
      { numRuns: 200 },
    );
  });

  it('tree-math agrees with BigInt arithmetic on all safe integers', () => {
    fc.assert(
      fc.property(fc.integer({ min: 2, max: Number.MAX_SAFE_INTEGER }), (n) => {
        const big = BigInt(n);
        assert.equal(bitLength(n), big.toString(2).length);
        assert.equal(popcount(n), big.toString(2).replaceAll('0', '').length);
        let k = 1n;
        while (k * 2n < big) k *= 2n;
        assert.equal(BigInt(largestPowerOfTwoBelow(n)), k);
      }),
      { numRuns: 1000 },
    );
  });
});

describe('CompactRange.appendSubtree', () => {
  it('extends [0, a) + leaves [a, b) + perfect subtrees of [b, n) to the root of n', () => {
    const leaves = Array.from({ length: 70 }, (_, i) => leafHash(Uint8Array.of(i, i >> 8)));
    for (let n = 1; n <= 70; n += 3) {
      const want = referenceRoot(leaves.slice(0, n));
      for (let a = 0; a <= n; a += 5) {
        for (let b = a; b <= n; b += 7) {
          const left = CompactRange.empty();
          for (let i = 0; i < a; i++) left.append(leaves[i]!);
          const range = CompactRange.decode(a, left.encode());
          for (let i = a; i < b; i++) range.append(leaves[i]!);
          for (const node of perfectSubtrees(b, n)) {
            const start = node.index * 2 ** node.level;
            range.appendSubtree(node.level, referenceRoot(leaves.slice(start, start + 2 ** node.level)));
          }
          assert.equal(range.size, n);
          assert.deepEqual(range.root(), want, `n=${n} a=${a} b=${b}`);
        }
      }
    }
  });

  it('rejects a subtree that does not start at the end of the range', () => {
    const range = CompactRange.empty();
    range.append(leafHash(Uint8Array.of(1)));
    assert.throws(
      () => range.appendSubtree(1, new Uint8Array(32)),
      (e: unknown) => isEvidentError(e, ErrorCode.PROOF_INVALID),
    );
    assert.throws(
      () => range.appendSubtree(0, new Uint8Array(31)),
      (e: unknown) => isEvidentError(e, ErrorCode.PROOF_INVALID),
    );
  });
});
