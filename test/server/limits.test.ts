import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { event, setup } from './helpers.ts';

describe('overload: rate limits and pushback', () => {
  it('limits each API key on its own: 429 with Retry-After, other keys unaffected', async () => {
    const f = await setup({ rateLimit: { max: 3, timeWindowMs: 60_000 } });
    try {
      const get = (key: string) =>
        f.app.inject({ method: 'GET', url: '/v1/logs/default/checkpoint', headers: f.auth(key) });
      for (let i = 0; i < 3; i++) assert.equal((await get(f.keys.verify)).statusCode, 200);
      const limited = await get(f.keys.verify);
      assert.equal(limited.statusCode, 429);
      assert.equal(limited.json().code, 'RATE_LIMITED');
      assert.ok(Number(limited.headers['retry-after']) >= 1);
      assert.equal((await get(f.keys.auditor)).statusCode, 200, 'another key has its own budget');
      // Requests without a key are counted per address, before their denial is recorded.
      const before = (await f.entries()).length;
      const codes: number[] = [];
      for (let i = 0; i < 6; i++) {
        codes.push((await f.app.inject({ method: 'GET', url: '/v1/logs/default/events' })).statusCode);
      }
      assert.deepEqual(codes, [401, 401, 401, 429, 429, 429]);
      await f.app.flushAccessTally();
      const added = (await f.entries()).slice(before);
      assert.equal(added.length, 1, 'the refusals of one address in one window: one event');
      assert.equal(
        (added[0]!.metadata as Record<string, unknown>)['count'],
        3,
        'throttled attempts are not counted',
      );
    } finally {
      await f.close();
    }
  });

  it('answers 503 with Retry-After when the ledger pushes back, and commits what it accepted', async () => {
    const f = await setup({ ledger: { maxPending: 5, maxDelayMs: 300 }, rateLimit: false });
    try {
      const post = (n: number) =>
        f.app.inject({
          method: 'POST',
          url: '/v1/logs/default/events',
          headers: f.auth(f.keys.ingest),
          payload: Array.from({ length: n }, () => event()),
        });
      const before = (await f.entries()).length; // the fixture's key events
      const results = await Promise.all([post(4), post(4), post(4)]);
      const codes = results.map((r) => r.statusCode).sort();
      assert.deepEqual(codes, [201, 503, 503]);
      const busy = results.find((r) => r.statusCode === 503)!;
      assert.equal(busy.json().code, 'STORE_BUSY');
      assert.ok(Number(busy.headers['retry-after']) >= 1);
      assert.equal((await f.entries()).length, before + 4, 'the accepted batch only');
      assert.equal((await post(4)).statusCode, 201, 'serving again once the queue drained');
    } finally {
      await f.close();
    }
  });
});
