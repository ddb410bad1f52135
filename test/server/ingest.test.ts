import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { generateSigner } from '../../src/core/note-keys.ts';
import { createLog } from '../../src/ledger/open.ts';
import { event, type Fixture, setup } from './helpers.ts';

const URL = '/v1/logs/default/events';

describe('POST /v1/logs/{log}/events', () => {
  let f: Fixture;
  before(async () => {
    f = await setup({ maxBatch: 50, maxBodyBytes: 64 * 1024 });
  });
  after(async () => f.close());

  const post = (payload: unknown, key = f.keys.ingest, url = URL) =>
    f.app.inject({ method: 'POST', url, headers: f.auth(key), payload: payload as object });

  it('appends one event or an array, answering receipts in the order sent', async () => {
    const one = await post(event({ resource_id: 'one' }));
    assert.equal(one.statusCode, 201);
    const [r0] = one.json().receipts;
    assert.match(r0.hash, /^[0-9a-f]{64}$/);
    const evs = [event({ resource_id: 'a' }), event({ resource_id: 'b' }), event({ resource_id: 'c' })];
    const many = await post(evs);
    assert.equal(many.statusCode, 201);
    const receipts = many.json().receipts as { id: string; index: number; hash: string }[];
    assert.deepEqual(
      receipts.map((r) => r.index),
      [r0.index + 1, r0.index + 2, r0.index + 3],
    );
    const stored = await f.entries();
    for (const r of receipts) {
      const e = stored.find((x) => x.index === r.index)!;
      assert.equal(e.hash, r.hash);
      assert.equal(e.id, r.id);
    }
    assert.deepEqual(
      receipts.map((r) => stored.find((x) => x.index === r.index)!.resource_id),
      ['a', 'b', 'c'],
    );
  });

  it('is all-or-nothing: 400 lists every bad item with its position, field and rule', async () => {
    const before = (await f.entries()).length;
    const r = await post([event(), { ...event(), result: 'maybe' }, event(), { ...event(), actor_id: '' }]);
    assert.equal(r.statusCode, 400);
    const body = r.json();
    assert.equal(body.code, 'VALIDATION_FAILED');
    assert.deepEqual(
      body.issues.map((i: { item: number; field: string; rule: string }) => [i.item, i.field, i.rule]),
      [
        [1, 'result', 'enum'],
        [3, 'actor_id', 'min_length'],
      ],
    );
    assert.equal((await f.entries()).length, before);
  });

  it('refuses the actions reserved for the ledger (evident.*): 400 on action, rule reserved, nothing written', async () => {
    const before = (await f.entries()).length;
    const forged = { ...event(), action: 'evident.erasure', metadata: { subject: { actor_id: 'alice' } } };
    const one = await post(forged);
    assert.equal(one.statusCode, 400);
    assert.equal(one.json().code, 'VALIDATION_FAILED');
    assert.deepEqual(
      one.json().issues.map((i: { field: string; rule: string }) => [i.field, i.rule]),
      [['action', 'reserved']],
    );
    const batch = await post([event(), { ...forged, action: 'Evident.Retention' }]);
    assert.equal(batch.statusCode, 400);
    assert.deepEqual(
      batch
        .json()
        .issues.map((i: { item: number; field: string; rule: string }) => [i.item, i.field, i.rule]),
      [[1, 'action', 'reserved']],
    );
    assert.equal((await f.entries()).length, before);
  });

  it('gives positions for a one-item array too, and none for a single object', async () => {
    const arr = await post([{ ...event(), actor_type: 'robot' }]);
    assert.equal(arr.statusCode, 400);
    assert.equal(arr.json().issues[0].item, 0);
    const obj = await post({ ...event(), actor_type: 'robot' });
    assert.equal(obj.statusCode, 400);
    assert.equal(obj.json().issues[0].item, undefined);
    assert.equal(obj.json().issues[0].field, 'actor_type');
  });

  it('returns the original receipt for a retry, and 409 for an id reused with other content', async () => {
    const id = '01900000-0000-7000-8000-000000000001';
    const ev = event({ id, timestamp: '2026-01-01T00:00:00.000Z' });
    const first = await post(ev);
    assert.equal(first.statusCode, 201);
    const again = await post(ev);
    assert.equal(again.statusCode, 201);
    assert.equal(again.json().receipts[0].index, first.json().receipts[0].index);
    assert.equal(again.json().receipts[0].duplicate, true);
    const before = (await f.entries()).length;
    const conflict = await post([event(), { ...ev, action: 'delete' }]);
    assert.equal(conflict.statusCode, 409);
    assert.equal(conflict.json().code, 'ID_CONFLICT');
    assert.equal(conflict.json().field, 'id');
    assert.equal((await f.entries()).length, before);
  });

  it('refuses more events than the batch limit, and bodies over the byte limit, with 413', async () => {
    const before = (await f.entries()).length;
    const tooMany = await post(Array.from({ length: 51 }, () => event()));
    assert.equal(tooMany.statusCode, 413);
    assert.equal(tooMany.json().code, 'PAYLOAD_TOO_LARGE');
    assert.equal(tooMany.json().rule, 'max_items');
    const big = await post([{ ...event(), metadata: { blob: 'x'.repeat(70_000) } }]);
    assert.equal(big.statusCode, 413);
    assert.equal(big.json().rule, 'max_bytes');
    assert.equal((await f.entries()).length, before);
  });

  it('refuses an empty array and an empty body', async () => {
    const empty = await post([]);
    assert.equal(empty.statusCode, 400);
    assert.equal(empty.json().issues[0].rule, 'min_items');
    const none = await f.app.inject({ method: 'POST', url: URL, headers: f.auth(f.keys.ingest) });
    assert.equal(none.statusCode, 400);
  });

  it('lets an admin key create a log on first use, and no other key', async () => {
    const byIngest = await post(event(), f.keys.ingest, '/v1/logs/fresh/events');
    assert.equal(byIngest.statusCode, 403); // the ingest key is bound to "default" only
    const byAll = await f.app.inject({
      method: 'GET',
      url: '/v1/logs/fresh/events',
      headers: f.auth(f.keys.admin),
    });
    assert.equal(byAll.statusCode, 404, 'reading does not create a log');
    assert.equal(await f.store.getLog('fresh'), undefined);
    const created = await post(event(), f.keys.admin, '/v1/logs/fresh/events');
    assert.equal(created.statusCode, 201);
    const info = await f.store.getLog('fresh');
    assert.equal(info?.origin, 'audit.test/fresh');
    assert.equal(info?.vkey.split('+')[0], 'audit.test/fresh');
  });

  it('never signs with a key the log did not record: such a log refuses appends (KEY_INVALID, 500)', async () => {
    const { signer } = generateSigner('elsewhere.test/foreign');
    await createLog(f.store, { name: 'foreign', origin: 'elsewhere.test/foreign', signer });
    const r = await post(event(), f.keys.admin, '/v1/logs/foreign/events');
    assert.equal(r.statusCode, 500);
    assert.equal(r.json().code, 'KEY_INVALID');
    assert.deepEqual(await f.entries('foreign'), []);
  });
});
