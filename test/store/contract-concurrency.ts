/**
 * Store contract, concurrency: many appends at once on one store, two stores (two processes)
 * on one log, and several logs in parallel. Registered by storeContract (contract.ts) inside
 * its suite.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Ledger } from '../../src/ledger/ledger.ts';
import { event } from '../ledger/support.ts';
import type { ContractFixture } from './contract.ts';

export function concurrencyTests(fx: ContractFixture): void {
  test('1000 concurrent appends: indexes 0..999 once each, and the log verifies', async () => {
    const l = await fx.newLog('concurrent');
    const receipts = await Promise.all(Array.from({ length: 1000 }, (_, i) => l.append(event(i))));
    for (const [i, r] of receipts.entries()) {
      if (i % 97 === 0) assert.equal((await l.entryAt(r.index))?.resource_id, `p-${i}`);
    }
    await fx.allLanded(l, receipts);
  });

  test('two stores (two processes) appending to one log at once: no fork, no duplicate', async () => {
    const other = await fx.h.open();
    fx.stores.push(other);
    const a = await fx.newLog('shared');
    const b = await fx.newLog('shared', {}, other);
    const send = (l: Ledger, writer: string) =>
      Promise.all(Array.from({ length: 300 }, (_, i) => l.append(event(i, { metadata: { writer, i } }))));
    const [ra, rb] = await Promise.all([send(a, 'a'), send(b, 'b')]);
    await fx.allLanded(a, [...ra, ...rb]);
    for (const [writer, rs] of [
      ['a', ra],
      ['b', rb],
    ] as const) {
      for (const r of rs.filter((_, i) => i % 25 === 0)) {
        assert.equal(((await a.entryAt(r.index))!.metadata as { writer: string }).writer, writer);
      }
    }
  });

  test('different logs append in parallel, each its own chain', async () => {
    const logs = await Promise.all(['par-1', 'par-2', 'par-3', 'par-4'].map((n) => fx.newLog(n)));
    const receipts = await Promise.all(
      logs.map((l) => Promise.all(Array.from({ length: 200 }, (_, i) => l.append(event(i))))),
    );
    for (const [k, l] of logs.entries()) await fx.allLanded(l, receipts[k]!);
  });
}
