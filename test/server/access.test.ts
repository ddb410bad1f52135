import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Entry } from '../../src/core/event/entry.ts';
import { event, type Fixture, setup } from './helpers.ts';

describe('API keys, tenants and the access audit', () => {
  let f: Fixture;
  before(async () => {
    f = await setup();
    await f.app.inject({
      method: 'POST',
      url: '/v1/logs/default/events',
      headers: f.auth(f.keys.ingest),
      payload: [event({ actor_id: 'bob' }), event({ actor_id: 'carol' })],
    });
  });
  after(async () => f.close());

  const lastEntry = async (log = 'default'): Promise<Entry> => {
    const all = await f.entries(log);
    return all[all.length - 1]!;
  };
  const keyId = (key: string) => key.slice(4, 16);

  it('records a query as an audit_log.query event by the reader, with the filters', async () => {
    const r = await f.app.inject({
      method: 'GET',
      url: '/v1/logs/default/events?actor_id=bob&limit=5',
      headers: { ...f.auth(f.keys.read), 'user-agent': 'auditor-tool/1.0' },
    });
    assert.equal(r.statusCode, 200);
    assert.equal(r.json().entries.length, 1);
    const e = await lastEntry();
    assert.equal(e.action, 'audit_log.query');
    assert.equal(e.actor_id, keyId(f.keys.read));
    assert.equal(e.actor_type, 'service');
    assert.equal(e.resource_type, 'audit_log');
    assert.equal(e.resource_id, 'default');
    assert.equal(e.result, 'success');
    assert.equal(e.ip_address, '127.0.0.1');
    assert.equal(e.user_agent, 'auditor-tool/1.0');
    assert.deepEqual((e.metadata as Record<string, unknown>)['filters'], { actor_id: 'bob', limit: 5 });
    assert.equal((e.metadata as Record<string, unknown>)['returned'], 1);
    // The next query sees the previous one.
    const next = await f.app.inject({
      method: 'GET',
      url: '/v1/logs/default/events?action=audit_log.query',
      headers: f.auth(f.keys.read),
    });
    assert.ok(next.json().entries.length >= 1);
  });

  it('records entry reads, proofs and exports; an admin key is recorded as admin', async () => {
    const cases: [string, string, string][] = [
      ['/v1/logs/default/events/0', f.keys.read, 'audit_log.read'],
      ['/v1/logs/default/proof/inclusion?index=0', f.keys.verify, 'audit_log.proof'],
      ['/v1/logs/default/proof/consistency?from=1&to=2', f.keys.verify, 'audit_log.proof'],
      ['/v1/logs/default/export', f.keys.admin, 'audit_log.export'],
    ];
    for (const [url, key, action] of cases) {
      const r = await f.app.inject({ method: 'GET', url, headers: f.auth(key) });
      assert.equal(r.statusCode, 200, url);
      const all = await f.entries();
      const e = all.filter((x) => x.action === action).pop()!;
      assert.equal(e.actor_id, keyId(key), url);
      if (key === f.keys.admin) assert.equal(e.actor_type, 'admin');
    }
  });

  it('refuses requests without a key (401) and records them as denied by anonymous', async () => {
    const r = await f.app.inject({ method: 'GET', url: '/v1/logs/default/events' });
    assert.equal(r.statusCode, 401);
    assert.equal(r.json().code, 'UNAUTHENTICATED');
    await f.app.flushAccessTally(); // counted per address and window
    const e = await lastEntry();
    assert.equal((e.metadata as Record<string, unknown>)['count'], 1);
    assert.equal(e.action, 'audit_log.query');
    assert.equal(e.result, 'denied');
    assert.equal(e.actor_id, 'anonymous');
    assert.equal(e.actor_type, 'anonymous');
  });

  it('refuses a malformed, unknown or revoked key with 401', async () => {
    for (const header of [
      'Bearer nope',
      'Basic dXNlcjpwYXNz',
      `Bearer evk_000000000000_${'A'.repeat(43)}`,
      `Bearer ${f.keys.read.slice(0, -1)}${f.keys.read.endsWith('A') ? 'B' : 'A'}`,
      `Bearer ${f.keys.revoked}`,
    ]) {
      const r = await f.app.inject({
        method: 'GET',
        url: '/v1/logs/default/events',
        headers: { authorization: header },
      });
      assert.equal(r.statusCode, 401, header);
      assert.equal(r.json().code, 'UNAUTHENTICATED');
    }
    await f.app.flushAccessTally();
    const e = await lastEntry();
    assert.equal(e.result, 'denied');
    assert.equal(e.actor_id, keyId(f.keys.revoked), 'a revoked key is named in its denial');
    const forged = (await f.entries()).find(
      (x) => (x.metadata as Record<string, unknown> | undefined)?.['claimed_key_id'] === keyId(f.keys.read),
    );
    assert.ok(forged, 'a wrong secret is recorded as anonymous, with the key id it claimed');
    assert.equal(forged.actor_id, 'anonymous');
  });

  it("never lets a key reach another tenant's log, whatever the URL says", async () => {
    const before = (await f.entries('tenant-b')).length;
    for (const url of [
      '/v1/logs/tenant-b/events',
      '/v1/logs/tenant-b/events/0',
      '/v1/logs/tenant-b/export',
      '/v1/logs/tenant-b/checkpoint',
      '/v1/logs/tenant-b/proof/inclusion?index=0',
    ]) {
      const r = await f.app.inject({ method: 'GET', url, headers: f.auth(f.keys.auditor) });
      assert.equal(r.statusCode, 403, url);
      assert.equal(r.json().code, 'FORBIDDEN');
    }
    const w = await f.app.inject({
      method: 'POST',
      url: '/v1/logs/tenant-b/events',
      headers: f.auth(f.keys.ingest),
      payload: event(),
    });
    assert.equal(w.statusCode, 403);
    // The other tenant sees the attempts: one denied event each, nothing else.
    const after = await f.entries('tenant-b');
    assert.equal(after.length, before + 6);
    assert.ok(after.slice(before).every((e) => e.result === 'denied' && e.action.startsWith('audit_log.')));
    // The other tenant's own key works there, and not here.
    const own = await f.app.inject({
      method: 'GET',
      url: '/v1/logs/tenant-b/events',
      headers: f.auth(f.keys.other),
    });
    assert.equal(own.statusCode, 200);
    const here = await f.app.inject({
      method: 'GET',
      url: '/v1/logs/default/events',
      headers: f.auth(f.keys.other),
    });
    assert.equal(here.statusCode, 403);
  });

  it('gives 403 for a log the key does not reach even if it does not exist (no probing)', async () => {
    const r = await f.app.inject({
      method: 'GET',
      url: '/v1/logs/no-such-log/events',
      headers: f.auth(f.keys.read),
    });
    assert.equal(r.statusCode, 403);
    const admin = await f.app.inject({
      method: 'GET',
      url: '/v1/logs/no-such-log/events',
      headers: f.auth(f.keys.admin),
    });
    assert.equal(admin.statusCode, 404);
  });

  it('holds each key to its scopes: ingest cannot read, read cannot write, verify cannot query', async () => {
    const before = await f.entries();
    const cases: [string, string, string, unknown?][] = [
      ['GET', '/v1/logs/default/events', f.keys.ingest],
      ['GET', '/v1/logs/default/events/0', f.keys.ingest],
      ['GET', '/v1/logs/default/export', f.keys.ingest],
      ['GET', '/v1/logs/default/checkpoint', f.keys.ingest],
      ['POST', '/v1/logs/default/events', f.keys.read, event({ actor_id: 'intruder' })],
      ['POST', '/v1/logs/default/events', f.keys.verify, event({ actor_id: 'intruder' })],
      ['GET', '/v1/logs/default/events', f.keys.verify],
      ['GET', '/v1/logs/default/proof/inclusion?index=0', f.keys.read],
    ];
    for (const [method, url, key, payload] of cases) {
      const r = await f.app.inject({
        method: method as 'GET' | 'POST',
        url,
        headers: f.auth(key),
        ...(payload ? { payload: payload as object } : {}),
      });
      assert.equal(r.statusCode, 403, `${method} ${url}`);
      assert.equal(r.json().rule, 'scope_missing');
    }
    const after = await f.entries();
    const added = after.slice(before.length);
    assert.equal(added.length, cases.length, 'one denied event per refusal');
    assert.ok(added.every((e) => e.result === 'denied'));
    assert.ok(!after.some((e) => e.actor_id === 'intruder'), 'nothing the refused writers sent');
    assert.deepEqual(
      added.map((e) => e.action),
      [
        'audit_log.query',
        'audit_log.read',
        'audit_log.export',
        'audit_log.checkpoint',
        'audit_log.ingest',
        'audit_log.ingest',
        'audit_log.query',
        'audit_log.proof',
      ],
    );
  });

  it('serves verifier endpoints without a key only when publicVerify is on', async () => {
    const closed = await f.app.inject({ method: 'GET', url: '/v1/logs/default/key' });
    assert.equal(closed.statusCode, 401);
    const pub = await setup({ publicVerify: ['default'] });
    try {
      // Only a key makes the server sign: the first checkpoint is signed so.
      const signed = await pub.app.inject({
        method: 'GET',
        url: '/v1/logs/default/checkpoint',
        headers: pub.auth(pub.keys.verify),
      });
      assert.equal(signed.statusCode, 200);
      for (const url of ['/v1/logs/default/key', '/v1/logs/default/checkpoint']) {
        const r = await pub.app.inject({ method: 'GET', url });
        assert.equal(r.statusCode, 200, url);
      }
      const before = (await pub.entries()).length;
      await pub.app.inject({
        method: 'POST',
        url: '/v1/logs/default/events',
        headers: pub.auth(pub.keys.ingest),
        payload: event(),
      });
      const proof = await pub.app.inject({
        method: 'GET',
        url: '/v1/logs/default/proof/inclusion?index=0&size=1',
      });
      assert.equal(proof.statusCode, 200);
      assert.equal(proof.json().leaf, undefined);
      await pub.app.flushAccessTally();
      const last = (await pub.entries()).pop()!;
      assert.equal(last.action, 'audit_log.proof');
      assert.equal(last.actor_type, 'anonymous');
      assert.equal((await pub.entries()).length, before + 2);
      // Reading stays closed, and a bad key is not downgraded to anonymous.
      assert.equal((await pub.app.inject({ method: 'GET', url: '/v1/logs/default/events' })).statusCode, 401);
      const bad = await pub.app.inject({
        method: 'GET',
        url: '/v1/logs/default/key',
        headers: { authorization: 'Bearer evk_bad' },
      });
      assert.equal(bad.statusCode, 401);
    } finally {
      await pub.close();
    }
  });

  it('records the client address, from X-Forwarded-For only behind a trusted proxy', async () => {
    const headers = { ...f.auth(f.keys.read), 'x-forwarded-for': '203.0.113.9' };
    await f.app.inject({ method: 'GET', url: '/v1/logs/default/events?limit=1', headers });
    assert.equal((await lastEntry()).ip_address, '127.0.0.1', 'a forwarded header is not trusted by default');
    const proxied = await setup({ trustProxy: ['127.0.0.1'] });
    try {
      await proxied.app.inject({
        method: 'GET',
        url: '/v1/logs/default/events?limit=1',
        headers: { ...proxied.auth(proxied.keys.read), 'x-forwarded-for': '2001:DB8::0:1' },
      });
      const all = await proxied.entries();
      assert.equal(all[all.length - 1]!.ip_address, '2001:db8::1');
    } finally {
      await proxied.close();
    }
  });
});
