/**
 * The upper tree nodes a ledger keeps from the proofs it checked (src/ledger/proof-nodes.ts):
 * proofs answered from them equal proofs read from the store, a node is kept only once a proof
 * it was part of passed its check, a node kept stays what the checked proof vouched for while
 * `verify` still reports the database changed under it, and the process-wide budget holds.
 */
import assert from 'node:assert/strict';
import { after, afterEach, before, describe, test } from 'node:test';
import Database from 'better-sqlite3';
import { fromBase64 } from '../../src/core/bytes.ts';
import { ErrorCode } from '../../src/core/errors.ts';
import { leafHash } from '../../src/core/hash.ts';
import { verifyInclusion } from '../../src/core/merkle/index.ts';
import { FaultKind } from '../../src/core/verify/report.ts';
import type { InclusionProof, Ledger } from '../../src/ledger/ledger.ts';
import {
  DEFAULT_PROOF_NODES,
  keptProofNodes,
  LOWEST_KEPT_LEVEL,
  setProofNodeCapacity,
} from '../../src/ledger/proof-nodes.ts';
import { event, type Fixture, makeFixture, rejectsWith } from './support.ts';

const SIZE = 3_000; // 11 nodes of level 8, 5 of 9, 2 of 10, 1 of 11
const fixtures: Fixture[] = [];
let fx: Fixture;

before(async () => {
  fx = await makeFixture('evident-proof-nodes-');
  fixtures.push(fx);
  const l = await fx.open({ checkpointIntervalMs: 3_600_000 });
  for (let i = 0; i < SIZE; i += 500) await l.appendMany(Array.from({ length: 500 }, (_, k) => event(i + k)));
  assert.equal((await l.checkpoint()).size, SIZE);
  await l.close();
});
after(() => {
  for (const f of fixtures) f.cleanup();
});
afterEach(() => setProofNodeCapacity(DEFAULT_PROOF_NODES));

const raw = (path: string, sql: string, ...args: unknown[]) => {
  const d = new Database(path);
  try {
    d.exec('DROP TRIGGER IF EXISTS tree_nodes_no_update');
    return d.prepare(sql).run(...args);
  } finally {
    d.close();
  }
};
const nodeHash = (path: string, level: number, idx: number): Buffer => {
  const d = new Database(path, { readonly: true });
  try {
    return d
      .prepare('SELECT hash FROM tree_nodes WHERE level = ? AND idx = ?')
      .pluck()
      .get(level, idx) as Buffer;
  } finally {
    d.close();
  }
};

/** Throws unless `p` proves entry `index` in the tree of SIZE whose root is `root`. */
function proves(p: InclusionProof, index: number, root: Uint8Array): void {
  verifyInclusion(
    leafHash(fromBase64(p.leaf)),
    index,
    SIZE,
    p.hashes.map((h) => fromBase64(h)),
    root,
  );
}

async function withLedger<T>(fn: (l: Ledger) => Promise<T>): Promise<T> {
  const l = await fx.open({ checkpointIntervalMs: 3_600_000 });
  try {
    return await fn(l);
  } finally {
    await l.close();
  }
}

describe('upper proof nodes kept in memory', () => {
  test('proofs answered from kept nodes equal those read from the store, and verify', async () => {
    setProofNodeCapacity(0); // nothing kept: every node from the store
    const cases = [0, 5, 255, 256, 1000, 2047, 2048, 2999];
    const pairs = [
      [1, SIZE],
      [256, 2048],
      [700, 2900],
    ] as const;
    const fromStore = await withLedger(async (l) => ({
      inclusion: await Promise.all(cases.map((i) => l.proveInclusion(i, SIZE))),
      consistency: await Promise.all(pairs.map(([a, b]) => l.proveConsistency(a, b))),
    }));
    assert.equal(keptProofNodes(), 0);
    setProofNodeCapacity(DEFAULT_PROOF_NODES);
    await withLedger(async (l) => {
      const root = (await l.latestCheckpoint())!.root;
      for (let round = 0; round < 2; round++) {
        for (const [k, i] of cases.entries()) {
          const p = await l.proveInclusion(i, SIZE);
          assert.deepEqual(p, fromStore.inclusion[k]);
          proves(p, i, root);
        }
        for (const [k, [a, b]] of pairs.entries()) {
          assert.deepEqual(await l.proveConsistency(a, b), fromStore.consistency[k]);
        }
        if (round === 0) assert.ok(keptProofNodes() > 0, 'the first round kept the upper nodes');
      }
    });
  });

  test('a node is kept only once a proof it was part of passed its check', async () => {
    // level 8, index 1: leaves [256, 512), on the audit path of every entry in [0, 256)
    const good = nodeHash(fx.db, LOWEST_KEPT_LEVEL, 1);
    raw(fx.db, 'UPDATE tree_nodes SET hash = zeroblob(32) WHERE level = 8 AND idx = 1');
    try {
      await withLedger(async (l) => {
        const e = await rejectsWith(l.proveInclusion(10, SIZE), ErrorCode.TAMPER_DETECTED);
        assert.equal(e.details['rule'], 'proof_mismatch');
        raw(fx.db, 'UPDATE tree_nodes SET hash = ? WHERE level = 8 AND idx = 1', good);
        // the wrong hash was not kept: the same ledger now reads the repaired one and proves
        const p = await l.proveInclusion(10, SIZE);
        const root = (await l.latestCheckpoint())!.root;
        proves(p, 10, root);
      });
    } finally {
      raw(fx.db, 'UPDATE tree_nodes SET hash = ? WHERE level = 8 AND idx = 1', good);
    }
  });

  test('a kept node stays what its checked proof vouched for; verify still reports the database changed', async () => {
    const good = nodeHash(fx.db, LOWEST_KEPT_LEVEL, 1);
    try {
      await withLedger(async (l) => {
        const before = await l.proveInclusion(10, SIZE); // keeps (8, 1)
        raw(fx.db, 'UPDATE tree_nodes SET hash = zeroblob(32) WHERE level = 8 AND idx = 1');
        assert.deepEqual(await l.proveInclusion(10, SIZE), before, 'served from the kept node, still valid');
        const r = await l.verify();
        assert.equal(r.ok, false);
        const f = r.faults.find((x) => x.kind === FaultKind.TREE_NODE_MISMATCH);
        assert.deepEqual([f?.['level'], f?.['node_index']], [8, 1]);
      });
      // a ledger opened afterwards keeps nothing of it: its proof over the node is refused
      await withLedger(async (l) => {
        await rejectsWith(l.proveInclusion(10, SIZE), ErrorCode.TAMPER_DETECTED);
      });
    } finally {
      raw(fx.db, 'UPDATE tree_nodes SET hash = ? WHERE level = 8 AND idx = 1', good);
    }
  });

  test('the process keeps at most its capacity, dropping all and keeping again when full', async () => {
    setProofNodeCapacity(5);
    await withLedger(async (l) => {
      let peak = 0;
      for (let i = 0; i < SIZE; i += 97) {
        await l.proveInclusion(i, SIZE);
        await l.proveConsistency(1 + (i % 1500), SIZE);
        peak = Math.max(peak, keptProofNodes());
        assert.ok(keptProofNodes() <= 5, `kept ${keptProofNodes()}`);
      }
      assert.equal(peak, 5, 'it filled up');
      const p = await l.proveInclusion(2999, SIZE);
      const root = (await l.latestCheckpoint())!.root;
      proves(p, 2999, root);
    });
    assert.throws(() => setProofNodeCapacity(-1), RangeError);
  });
});
