/**
 * A flood without a key. Requests without a valid key cost nothing to send:
 * they get a much lower rate limit per address (600 a minute by default, against 6,000 for a
 * key), their refusals and anonymous reads are counted per address and window and written as
 * one event per window (at most 100 such events a window for the whole server, whatever the
 * number of addresses), and an anonymous checkpoint fetch never makes the server sign.
 * Before: one permanent entry per refused request, at 6,000 a minute per address.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { event, setup } from './helpers.ts';

type Meta = Record<string, unknown>;

describe('a flood without a key does not grow the log without bound', () => {
  it('counts refused requests from one address into one event, and limits them at 600 a minute', async () => {
    const f = await setup();
    try {
      const before = (await f.entries()).length;
      const statuses: Record<number, number> = {};
      for (let i = 0; i < 650; i++) {
        const r = await f.app.inject({ method: 'GET', url: '/v1/logs/default/events' });
        statuses[r.statusCode] = (statuses[r.statusCode] ?? 0) + 1;
      }
      assert.deepEqual(statuses, { 401: 600, 429: 50 }, 'the anonymous limit is 600 a minute per address');
      const keyed = await f.app.inject({
        method: 'GET',
        url: '/v1/logs/default/events?limit=1',
        headers: f.auth(f.keys.read),
      });
      assert.equal(keyed.statusCode, 200, 'a key has its own, higher limit');
      await f.app.flushAccessTally();
      const added = (await f.entries()).slice(before);
      const denied = added.filter((e) => e.result === 'denied');
      assert.equal(denied.length, 1, 'one event for the window, not one per request');
      assert.equal(denied[0]!.actor_id, 'anonymous');
      assert.equal((denied[0]!.metadata as Meta)['count'], 600);
      assert.equal((denied[0]!.metadata as Meta)['rule'], 'missing_key');
      assert.equal(added.length, 2, 'and the keyed read, recorded on its own');
    } finally {
      await f.close();
    }
  });

  it('writes at most maxAddresses events a window, however many addresses', async () => {
    const f = await setup({ trustProxy: ['127.0.0.1'], anonymousAudit: { maxAddresses: 100 } });
    try {
      const before = (await f.entries()).length;
      for (let i = 0; i < 300; i++) {
        const r = await f.app.inject({
          method: 'GET',
          url: '/v1/logs/default/events',
          headers: { 'x-forwarded-for': `198.51.${i >> 8}.${i & 255}` },
        });
        assert.equal(r.statusCode, 401);
      }
      await f.app.flushAccessTally();
      const added = (await f.entries()).slice(before);
      assert.equal(added.length, 101, '100 addresses, then one overflow event');
      const overflow = added.filter((e) => (e.metadata as Meta)['overflow'] === true);
      assert.equal(overflow.length, 1);
      assert.equal(overflow[0]!.ip_address, '::');
      assert.equal((overflow[0]!.metadata as Meta)['count'], 200);
      assert.equal(
        added.reduce((n, e) => n + Number((e.metadata as Meta)['count']), 0),
        300,
        'every attempt is counted',
      );
    } finally {
      await f.close();
    }
  });

  it('counts anonymous proof reads with publicVerify, and an anonymous checkpoint fetch signs nothing', async () => {
    // The ledger signs at most once an hour while appending: only a request could sign sooner.
    const f = await setup({ publicVerify: ['default'], ledger: { checkpointIntervalMs: 3_600_000 } });
    try {
      const ingest = () =>
        f.app.inject({
          method: 'POST',
          url: '/v1/logs/default/events',
          headers: f.auth(f.keys.ingest),
          payload: event(),
        });
      await ingest();
      const keyed = await f.app.inject({
        method: 'GET',
        url: '/v1/logs/default/checkpoint',
        headers: f.auth(f.keys.verify),
      });
      assert.equal(keyed.statusCode, 200);
      const logId = (await f.store.getLog('default'))!.id;
      const before = (await f.entries()).length;
      for (let i = 0; i < 200; i++) {
        const r = await f.app.inject({
          method: 'GET',
          url: '/v1/logs/default/proof/inclusion?index=0&size=1',
        });
        assert.equal(r.statusCode, 200);
      }
      await ingest();
      const signed = await f.store.checkpoints(logId);
      assert.ok(
        (await f.store.head(logId)).size > signed.at(-1)!.size,
        'the tree has outgrown the checkpoint',
      );
      for (let i = 0; i < 20; i++) {
        const r = await f.app.inject({ method: 'GET', url: '/v1/logs/default/checkpoint' });
        assert.equal(r.statusCode, 200);
        assert.equal(r.body, signed.at(-1)!.note, 'the latest checkpoint the server signed, not a new one');
      }
      assert.equal(
        (await f.store.checkpoints(logId)).length,
        signed.length,
        'nothing signed for anonymous callers',
      );
      await f.app.flushAccessTally();
      const added = (await f.entries()).slice(before);
      const proofs = added.filter((e) => e.action === 'audit_log.proof');
      assert.equal(proofs.length, 1, 'one event for 200 anonymous proof reads');
      assert.equal((proofs[0]!.metadata as Meta)['count'], 200);
      assert.equal(proofs[0]!.result, 'success');
    } finally {
      await f.close();
    }
  });

  it('writes what was counted when the server closes', async () => {
    const f = await setup();
    const log = (await f.store.getLog('default'))!;
    for (let i = 0; i < 5; i++) await f.app.inject({ method: 'GET', url: '/v1/logs/default/export' });
    const before = (await f.entries()).length;
    await f.app.close();
    const { openStore } = await import('../../src/store/open.ts');
    const store = await openStore(`${f.dir}/audit.db`);
    try {
      const all = await store.entries(log.id, 0, Number.MAX_SAFE_INTEGER, 1000);
      assert.equal(all.length, before + 1);
      assert.equal((all.at(-1)!.metadata as Meta)['count'], 5);
    } finally {
      await store.close();
      await f.close().catch(() => {});
    }
  });
});
