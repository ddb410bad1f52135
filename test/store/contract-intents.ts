/**
 * Store contract, write-ahead intents of fail-closed requests (src/ledger/intents.ts): durable
 * before the handler, not in the log, retired in the transaction that appends their event, and
 * orphans appended when a ledger opens. Registered by storeContract (contract.ts).
 */
import assert from 'node:assert/strict';
import { hostname } from 'node:os';
import { test } from 'node:test';
import { ErrorCode } from '../../src/core/errors.ts';
import { uuidv7 } from '../../src/core/event/uuid.ts';
import { validateEvent } from '../../src/core/event/validate.ts';
import { event, rejectsWith } from '../ledger/support.ts';
import type { ContractFixture } from './contract.ts';

const provisional = (i: number) => event(i, { result: 'failure', metadata: { evident_outcome: 'unknown' } });

export function intentTests(fx: ContractFixture): void {
  test('begin stores an intent outside the log; complete appends the final event and retires it', async () => {
    const l = await fx.newLog('intents');
    const intent = await l.begin(provisional(0));
    const held = await fx.store.intents(l.log.id);
    assert.deepEqual(
      held.map((i) => i.id),
      [intent.eventId],
    );
    assert.equal(await l.size(), 0, 'an intent is not in the log');
    const final = { ...provisional(0), id: intent.eventId, result: 'success', metadata: { status: 200 } };
    await rejectsWith(l.complete(intent, { ...final, id: uuidv7() }), ErrorCode.USAGE);
    const r = await l.complete(intent, final);
    assert.equal(r.index, 0);
    assert.deepEqual(await fx.store.intents(l.log.id), []);
    const [entry] = await l.query({});
    assert.equal(entry!.result, 'success');
    await rejectsWith(l.complete(intent, final), ErrorCode.NOT_FOUND);

    const second = await l.begin(provisional(1));
    await l.release(second);
    assert.deepEqual(await fx.store.intents(l.log.id), []);
    const released = await l.entry(second.eventId);
    assert.equal((released!.metadata as Record<string, unknown>)['evident_outcome'], 'unknown');
    assert.equal((await l.verify()).ok, true);
  });

  test('open appends the orphans of dead processes, leaves live and damaged ones', async () => {
    const l = await fx.newLog('orphans');
    const put = (id: string, body: string, owner: string, createdAt = new Date().toISOString()) =>
      fx.store.write(l.log.id, (tx) => tx.putIntent({ id, event: body, owner, createdAt }));
    const dead = validateEvent(provisional(2));
    await put(dead.id!, JSON.stringify(dead), `${hostname()}:2147483646:dead`);
    const remote = validateEvent(provisional(3));
    await put(remote.id!, JSON.stringify(remote), 'elsewhere:12:live');
    const old = validateEvent(provisional(4));
    await put(old.id!, JSON.stringify(old), 'elsewhere:13:gone', '2020-01-01T00:00:00Z');
    const damaged = uuidv7();
    await put(damaged, '{not json', `${hostname()}:2147483646:dead`);
    const live = await l.begin(provisional(5));

    const again = await fx.newLog('orphans');
    assert.deepEqual(again.recovery, { recovered: 2, live: 2, invalid: 1 });
    assert.ok(await again.entry(dead.id!));
    assert.ok(await again.entry(old.id!));
    assert.equal(await again.entry(remote.id!), undefined);
    assert.deepEqual(
      (await fx.store.intents(l.log.id)).map((i) => i.id).sort(),
      [remote.id!, damaged, live.eventId].sort(),
    );
    // Closing a ledger releases what it still holds.
    await l.close();
    assert.ok(await again.entry(live.eventId));
  });
}
