import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { CSV_COLUMNS } from '../../src/ledger/siem/csv.ts';
import { event, type Fixture, HOST, setup } from './helpers.ts';

describe('GET /v1/logs/{log}/export?format=', () => {
  let f: Fixture;
  const get = (url: string, key: string) => f.app.inject({ method: 'GET', url, headers: f.auth(key) });

  before(async () => {
    f = await setup();
    const r = await f.app.inject({
      method: 'POST',
      url: '/v1/logs/default/events',
      headers: f.auth(f.keys.ingest),
      payload: [event({ action: 'user.login' }), event({ result: 'denied' }), event({ resource_id: '=1+1' })],
    });
    assert.equal(r.statusCode, 201);
  });
  after(async () => f.close());

  it('streams OCSF, CEF, syslog and CSV; each record names origin, index and leaf hash', async () => {
    const origin = `${HOST}/default`;
    const ocsf = await get('/v1/logs/default/export?format=ocsf', f.keys.read);
    const stored = await f.entries();
    assert.equal(ocsf.statusCode, 200);
    assert.match(ocsf.headers['content-type'] as string, /^application\/x-ndjson/);
    assert.match(ocsf.headers['content-disposition'] as string, /default\.ocsf\.jsonl/);
    const records = ocsf.body
      .trimEnd()
      .split('\n')
      .map((l) => JSON.parse(l));
    // the export's own access event is recorded before the first byte, so it is in the export
    assert.ok(records.length >= 4);
    for (const r of records) {
      const e = stored.find((x) => x.index === r.unmapped.evident_index)!;
      assert.equal(r.unmapped.evident_origin, origin);
      assert.equal(r.unmapped.evident_leaf_hash, e.hash);
    }
    assert.ok(records.some((r) => r.class_uid === 3002));
    assert.ok(records.some((r) => r.class_uid === 6003 && r.api.operation === 'audit_log.export'));

    const cef = await get('/v1/logs/default/export?format=cef', f.keys.read);
    assert.equal(cef.statusCode, 200);
    assert.match(cef.headers['content-type'] as string, /^text\/plain/);
    for (const l of cef.body.trimEnd().split('\n'))
      assert.match(l, /^CEF:0\|evident\|evident\|[^|]+\|.*cs1=audit\.test\/default .*cn1=\d+/);

    const syslog = await get('/v1/logs/default/export?format=syslog', f.keys.read);
    assert.equal(syslog.statusCode, 200);
    for (const l of syslog.body.trimEnd().split('\n'))
      assert.match(
        l,
        /^<(?:108|109|110)>1 \S+ audit\.test evident - \S+ \[evident@32473 origin="audit\.test\/default" index="\d+" leaf_hash="[0-9a-f]{64}"/,
      );

    const csv = await get('/v1/logs/default/export?format=csv&bom=true', f.keys.read);
    assert.equal(csv.statusCode, 200);
    assert.match(csv.headers['content-type'] as string, /^text\/csv/);
    assert.ok(csv.body.startsWith(`\ufeff${CSV_COLUMNS.join(',')}\r\n`));
    assert.ok(csv.body.includes(",'=1+1,"));
    assert.ok(!csv.body.includes(',=1+1,'));
  });

  it('since/until select by received_at for every format', async () => {
    const future = new Date(Date.now() + 3_600_000).toISOString();
    const r = await get(
      `/v1/logs/default/export?format=cef&since=${encodeURIComponent(future)}`,
      f.keys.read,
    );
    assert.equal(r.statusCode, 200);
    assert.equal(r.body, '');
    const csv = await get(`/v1/logs/default/export?format=csv&until=2000-01-01T00:00:00Z`, f.keys.read);
    assert.equal(csv.body, `${CSV_COLUMNS.join(',')}\r\n`);
  });

  it('an unknown format is a 400 naming the parameter; scopes are those of the bundle export', async () => {
    const bad = await get('/v1/logs/default/export?format=leef', f.keys.read);
    assert.equal(bad.statusCode, 400);
    assert.equal(bad.json().code, 'VALIDATION_FAILED');
    assert.match(JSON.stringify(bad.json()), /format/);
    for (const key of [f.keys.ingest, f.keys.verify]) {
      const r = await get('/v1/logs/default/export?format=ocsf', key);
      assert.equal(r.statusCode, 403);
      assert.equal(r.json().code, 'FORBIDDEN');
    }
    const other = await get('/v1/logs/default/export?format=csv', f.keys.other);
    assert.equal(other.statusCode, 403);
    const none = await f.app.inject({ method: 'GET', url: '/v1/logs/default/export?format=cef' });
    assert.equal(none.statusCode, 401);
  });

  it('the export is recorded with its format', async () => {
    const entries = await f.entries();
    const exports = entries.filter((e) => e.action === 'audit_log.export');
    assert.ok(exports.some((e) => (e.metadata as { format?: string }).format === 'syslog'));
  });
});
