/**
 * /failures answers a page at a time with a cursor; publicVerify names its
 * logs, so that a caller without a key cannot tell which log names exist; an entry read with
 * an index past 2^53 - 1 is a precise 400, recorded like any other failed read.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { event, setup } from './helpers.ts';

describe('smaller bounds', () => {
  it('/failures pages with limit and cursor, each actor exactly once', async () => {
    const f = await setup();
    try {
      const events = [];
      for (let a = 0; a < 25; a++) {
        // Actor a fails 6 + (a % 4) times: ties in the count are ordered by actor_id.
        for (let k = 0; k < 6 + (a % 4); k++)
          events.push(event({ actor_id: `actor-${a}`, result: 'failure' }));
      }
      const r = await f.app.inject({
        method: 'POST',
        url: '/v1/logs/default/events',
        headers: f.auth(f.keys.admin),
        payload: events,
      });
      assert.equal(r.statusCode, 201);
      const seen: { actor_id: string; failures: number }[] = [];
      let cursor: string | null = null;
      let pages = 0;
      do {
        const q = `/v1/logs/default/failures?limit=10${cursor ? `&cursor=${cursor}` : ''}`;
        const page: { statusCode: number; body: string } = await f.app.inject({
          method: 'GET',
          url: q,
          headers: f.auth(f.keys.read),
        });
        assert.equal(page.statusCode, 200, page.body);
        const body = JSON.parse(page.body) as {
          actors: { actor_id: string; failures: number }[];
          next_cursor: string | null;
        };
        assert.ok(body.actors.length <= 10);
        seen.push(...body.actors);
        cursor = body.next_cursor;
        pages++;
      } while (cursor !== null);
      assert.equal(pages, 3);
      assert.equal(seen.length, 25);
      assert.equal(new Set(seen.map((a) => a.actor_id)).size, 25, 'each actor once');
      for (let i = 1; i < seen.length; i++) {
        const [a, b] = [seen[i - 1]!, seen[i]!];
        assert.ok(a.failures > b.failures || (a.failures === b.failures && a.actor_id < b.actor_id));
      }
      const over = await f.app.inject({
        method: 'GET',
        url: '/v1/logs/default/failures?limit=1001',
        headers: f.auth(f.keys.read),
      });
      assert.equal(over.statusCode, 400);
      assert.equal(over.json().code, 'VALIDATION_FAILED');
      const forged = await f.app.inject({
        method: 'GET',
        url: '/v1/logs/default/failures?cursor=Zm9v',
        headers: f.auth(f.keys.read),
      });
      assert.equal(forged.statusCode, 400);
      assert.equal(forged.json().code, 'VALIDATION_FAILED');
    } finally {
      await f.close();
    }
  });

  it('with publicVerify, a caller without a key cannot tell which log names exist', async () => {
    const f = await setup({ publicVerify: ['default'] });
    try {
      const anon = (url: string) => f.app.inject({ method: 'GET', url });
      assert.equal((await anon('/v1/logs/default/key')).statusCode, 200, 'the public log');
      for (const log of ['tenant-b', 'no-such-log']) {
        for (const path of ['key', 'checkpoint', 'proof/consistency?from=0&to=0']) {
          const r = await anon(`/v1/logs/${log}/${path}`);
          assert.equal(r.statusCode, 401, `${log}/${path}`);
          assert.equal(r.json().code, 'UNAUTHENTICATED');
          assert.equal(r.json().rule, 'missing_key');
        }
      }
    } finally {
      await f.close();
    }
  });

  it('an entry read with an index past 2^53 - 1 is a 400 on ref, recorded as a failed read', async () => {
    const f = await setup();
    try {
      const before = (await f.entries()).length;
      for (const ref of ['9007199254740992', '9999999999999999']) {
        const r = await f.app.inject({
          method: 'GET',
          url: `/v1/logs/default/events/${ref}`,
          headers: f.auth(f.keys.read),
        });
        assert.equal(r.statusCode, 400, ref);
        assert.equal(r.json().code, 'VALIDATION_FAILED');
        assert.deepEqual(
          r.json().issues.map((i: { field: string; rule: string }) => [i.field, i.rule]),
          [['ref', 'maximum']],
        );
      }
      const added = (await f.entries()).slice(before);
      assert.deepEqual(
        added.map((e) => [
          e.action,
          e.result,
          (e.metadata as Record<string, unknown>)['code'],
          (e.metadata as Record<string, unknown>)['ref'],
        ]),
        [
          ['audit_log.read', 'failure', 'VALIDATION_FAILED', '9007199254740992'],
          ['audit_log.read', 'failure', 'VALIDATION_FAILED', '9999999999999999'],
        ],
      );
      const max = await f.app.inject({
        method: 'GET',
        url: `/v1/logs/default/events/${Number.MAX_SAFE_INTEGER}`,
        headers: f.auth(f.keys.read),
      });
      assert.equal(max.statusCode, 404, 'the largest exact index is a well-formed miss');
    } finally {
      await f.close();
    }
  });
});
