/**
 * Sequencing under concurrency: the naive "read the last hash, then insert" design forks the chain
 * when two writers race. Here many appends in one process, and two processes on one file,
 * must give one chain: every index exactly once, each holding the event it was promised.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Receipt } from '../../src/ledger/integrate.ts';
import type { Ledger } from '../../src/ledger/ledger.ts';
import { startAppender } from './child.ts';
import { event, makeFixture, summary } from './support.ts';

/** Every receipt's index holds its event (same id, same hash), and the indexes are 0..n-1. */
async function allLanded(ledger: Ledger, receipts: readonly Receipt[]): Promise<void> {
  const n = receipts.length;
  assert.deepEqual(
    receipts.map((r) => r.index).sort((a, b) => a - b),
    Array.from({ length: n }, (_, i) => i),
    'every index exactly once',
  );
  assert.equal(new Set(receipts.map((r) => r.id)).size, n);
  assert.equal(await ledger.size(), n);
  const byIndex = new Map(receipts.map((r) => [r.index, r]));
  for (let from = 0; from < n; from += 500) {
    for (const e of await ledger.store.entries(ledger.log.id, from, from + 500, 500)) {
      const r = byIndex.get(e.index)!;
      assert.deepEqual([e.id, e.hash], [r.id, r.hash], `entry ${e.index}`);
    }
  }
}

test('2000 concurrent appends from one process: indexes 0..1999 once each, and the log verifies', async () => {
  const fx = await makeFixture();
  try {
    const ledger = await fx.open();
    const receipts = await Promise.all(Array.from({ length: 2000 }, (_, i) => ledger.append(event(i))));
    await allLanded(ledger, receipts);
    // each receipt's event is the one that was sent
    for (const [i, r] of receipts.entries()) {
      if (i % 97 !== 0) continue;
      assert.equal((await ledger.entryAt(r.index))?.resource_id, `p-${i}`);
    }
    const report = await ledger.verify({ verifiers: fx.verifiers });
    assert.ok(report.ok, summary(report));
    assert.equal(report.entries, 2000);
    await ledger.close();
  } finally {
    fx.cleanup();
  }
});

test('two processes appending to one file at once: no fork, every receipt holds its event', async () => {
  const fx = await makeFixture();
  try {
    const writers = [
      startAppender(fx.db, fx.keyPath, 'alpha', 500, 10),
      startAppender(fx.db, fx.keyPath, 'beta', 500, 10),
    ];
    await Promise.all(writers.map((w) => w.ready));
    for (const w of writers) w.go();
    const ends = await Promise.all(writers.map((w) => w.exited));
    for (const [i, end] of ends.entries()) {
      assert.equal(end.code, 0, `writer ${i} failed: ${end.stderr}`);
      assert.ok(writers[i]!.done);
      assert.equal(writers[i]!.receipts.length, 500);
    }
    const receipts = writers.flatMap((w) => w.receipts);

    const ledger = await fx.open();
    await allLanded(ledger, receipts);
    // the two writers really did interleave: both appear in the first and the second half
    const owner = new Map(writers.flatMap((w, k) => w.receipts.map((r) => [r.index, k] as const)));
    for (const half of [
      [0, 500],
      [500, 1000],
    ]) {
      const ks = new Set<number>();
      for (let i = half[0]!; i < half[1]!; i++) ks.add(owner.get(i)!);
      assert.equal(ks.size, 2, `both writers appended within [${half[0]}, ${half[1]})`);
    }
    // each receipt's index holds that writer's event
    for (const [k, w] of writers.entries()) {
      for (const r of w.receipts.filter((_, i) => i % 50 === 0)) {
        const e = (await ledger.entryAt(r.index))!;
        assert.equal((e.metadata as { writer: string }).writer, k === 0 ? 'alpha' : 'beta');
      }
    }
    const report = await ledger.verify({ verifiers: fx.verifiers });
    assert.ok(report.ok, summary(report));
    assert.equal(report.verified_size, 1000, 'the last checkpoint (signed at close) covers everything');
    await ledger.close();
  } finally {
    fx.cleanup();
  }
});
