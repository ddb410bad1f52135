/**
 * Store contract, writes: logs, appends and their chain, idempotent retries, all-or-nothing
 * batches, a batch larger than one statement, and a write transaction that rolls back.
 * Registered by storeContract (contract.ts) inside its suite.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ErrorCode } from '../../src/core/errors.ts';
import { validateEvent } from '../../src/core/event/validate.ts';
import { integrate } from '../../src/ledger/integrate.ts';
import { createLog } from '../../src/ledger/open.ts';
import { event, rejectsWith, summary } from '../ledger/support.ts';
import type { ContractFixture } from './contract.ts';

export function writeTests(fx: ContractFixture): void {
  test('logs are created with their head at GENESIS, found by name, and listed', async () => {
    const info = await createLog(fx.store, {
      name: 'logs',
      origin: fx.origin('logs'),
      signer: fx.ring,
      erasable: ['old_values'],
    });
    assert.equal(info.name, 'logs');
    assert.equal(info.origin, fx.origin('logs'));
    assert.deepEqual(info.erasable, ['old_values']);
    assert.match(info.createdAt, /^\d{4}-\d{2}-\d{2}T/);
    assert.deepEqual(await fx.store.getLog('logs'), info);
    assert.equal(await fx.store.getLog('nope'), undefined);
    assert.ok((await fx.store.listLogs()).some((l) => l.id === info.id && l.vkey === info.vkey));
    const head = await fx.store.head(info.id);
    assert.deepEqual([head.size, head.lastHash, head.frontier.length], [0, 'GENESIS', 0]);
    await rejectsWith(
      createLog(fx.store, { name: 'logs', origin: fx.origin('logs2'), signer: fx.ring }),
      ErrorCode.USAGE,
    );
  });

  test('appends resolve with receipts; indexes run 0..n-1, each entry linked to the one before', async () => {
    const l = await fx.newLog('append');
    const first = await l.append(event(0));
    assert.deepEqual([first.index, first.duplicate], [0, undefined]);
    const more = await l.appendMany([event(1), event(2), event(3)]);
    assert.deepEqual(
      more.map((r) => r.index),
      [1, 2, 3],
    );
    let prev = 'GENESIS';
    for (const [i, r] of [first, ...more].entries()) {
      const e = (await l.entryAt(i))!;
      assert.deepEqual([e.id, e.hash, e.prev_hash, e.resource_id], [r.id, r.hash, prev, `p-${i}`]);
      assert.equal((await l.entry(r.id))?.index, i);
      prev = e.hash;
    }
    const head = await fx.store.head(l.log.id);
    assert.deepEqual([head.size, head.lastHash], [4, prev]);
    assert.deepEqual(
      (await fx.store.entries(l.log.id, 1, 3, 10)).map((e) => e.index),
      [1, 2],
    );
    assert.deepEqual(
      (await fx.store.entries(l.log.id, 0, 100, 2)).map((e) => e.index),
      [0, 1],
    );
    assert.equal(await fx.store.entryById(l.log.id, 'no-such-id'), undefined);
  });

  test('idempotency: a retry returns the original receipt, other content is a conflict', async () => {
    const l = await fx.newLog('idem');
    const id = '01890a5d-ac96-774b-bcce-b302099a8057';
    const ts = '2026-01-02T03:04:05.000Z';
    await l.append(event(0));
    const first = await l.append(event(1, { id, timestamp: ts }));
    assert.deepEqual(await l.append(event(1, { id, timestamp: ts })), { ...first, duplicate: true });
    const e = await rejectsWith(
      l.append(event(1, { id, timestamp: ts, result: 'denied' })),
      ErrorCode.ID_CONFLICT,
    );
    assert.equal(e.details['index'], 1);
    await rejectsWith(
      l.appendMany([event(5), event(1, { id, timestamp: ts, action: 'export' })]),
      ErrorCode.ID_CONFLICT,
    );
    assert.equal(await l.size(), 2, 'nothing was written');
    // another store on the same database (another process) recognises the retry
    const other = await fx.h.open();
    fx.stores.push(other);
    const l2 = await fx.newLog('idem', {}, other);
    assert.deepEqual(await l2.append(event(1, { id, timestamp: ts })), { ...first, duplicate: true });
    assert.equal(await l2.size(), 2);
  });

  test('appendMany is all or nothing', async () => {
    const l = await fx.newLog('atomic');
    await l.append(event(0));
    const { actor_id: _a, ...noActor } = event(2);
    await rejectsWith(l.appendMany([event(1), noActor, event(3)]), ErrorCode.VALIDATION_FAILED);
    assert.equal(await l.size(), 1);
    assert.equal((await l.appendMany([event(1), event(2)])).at(-1)!.index, 2);
  });

  test('a batch larger than one statement (2 500 events in one appendMany) lands whole, in order', async () => {
    const l = await fx.newLog('large');
    await l.append(event(0));
    const rs = await l.appendMany(
      Array.from({ length: 2500 }, (_, i) => event(i + 1, { old_values: { i } })),
    );
    assert.deepEqual([rs[0]!.index, rs.at(-1)!.index], [1, 2500]);
    assert.deepEqual((await l.entryAt(2500))!.old_values, { i: 2499 });
    const r = await l.verify();
    assert.ok(r.ok, summary(r));
  });

  test('a write transaction that fails leaves nothing behind', async () => {
    const l = await fx.newLog('rollback');
    await l.append(event(0));
    const ev = validateEvent(event(1));
    await assert.rejects(
      fx.store.write(l.log.id, async (tx) => {
        const r = integrate(await tx.head(), [[ev]], new Map(), {
          erasable: l.log.erasable,
          receivedAt: new Date().toISOString(),
        });
        await tx.insertEntries(r.entries, r.nodes, r.head);
        assert.equal((await tx.head()).size, 2, 'the transaction sees its own head');
        throw new Error('the caller gave up');
      }),
    );
    assert.equal((await fx.store.head(l.log.id)).size, 1);
    assert.equal(await fx.store.entryById(l.log.id, ev.id), undefined);
    assert.equal((await l.append(event(2))).index, 1, 'the next append takes the free index');
  });
}
