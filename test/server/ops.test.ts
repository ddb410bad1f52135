import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { ErrorCode, EvidentError } from '../../src/core/errors.ts';
import { HTTP_STATUS, toHttpError } from '../../src/server/errors.ts';
import { event, type Fixture, setup } from './helpers.ts';

describe('operations: health, metrics, OpenAPI, docs', () => {
  let f: Fixture;
  before(async () => {
    f = await setup();
  });
  after(async () => f.close());

  it('answers /healthz and /readyz without a key', async () => {
    assert.deepEqual((await f.app.inject('/healthz')).json(), { status: 'ok' });
    assert.deepEqual((await f.app.inject('/readyz')).json(), { status: 'ready' });
  });

  it('exposes Prometheus metrics for ingest, commits, errors and requests', async () => {
    await f.app.inject({
      method: 'POST',
      url: '/v1/logs/default/events',
      headers: f.auth(f.keys.ingest),
      payload: [event(), event(), event()],
    });
    await f.app.inject({ method: 'GET', url: '/v1/logs/default/events' });
    await f.app.flushAccessTally(); // a refusal without a key is written once its window ends
    const r = await f.app.inject('/metrics');
    assert.equal(r.statusCode, 200);
    assert.match(r.headers['content-type'] as string, /^text\/plain; version=0\.0\.4/);
    const text = r.body;
    assert.match(text, /^evident_ingest_events_total 3$/m);
    assert.match(text, /^evident_commit_batches_total \d+$/m);
    assert.match(text, /^evident_commit_batch_size_bucket\{le="5"\} \d+$/m);
    assert.match(text, /^evident_commit_duration_seconds_count \d+$/m);
    assert.match(text, /^evident_errors_total\{code="UNAUTHENTICATED"\} 1$/m);
    assert.match(
      text,
      /^evident_http_requests_total\{method="POST",route="\/v1\/logs\/:log\/events",status="201"\} 1$/m,
    );
    assert.match(text, /^evident_access_audit_events_total\{action="audit_log.query",result="denied"\} 1$/m);
    assert.doesNotMatch(text, /default/, 'no log names in labels');
  });

  it('publishes the OpenAPI document built from the route schemas, and a docs page', async () => {
    const doc = (await f.app.inject('/openapi.json')).json();
    assert.equal(doc.openapi, '3.0.3');
    const ingest = doc.paths['/v1/logs/{log}/events'].post;
    assert.ok(ingest.requestBody.content['application/json'].schema.anyOf, 'the event schema is published');
    assert.ok(ingest.responses['413']);
    const query = doc.paths['/v1/logs/{log}/events'].get;
    const names = query.parameters.map((p: { name: string }) => p.name);
    for (const n of ['log', 'actor_id', 'since', 'cursor', 'limit']) assert.ok(names.includes(n), n);
    for (const p of [
      '/v1/logs/{log}/events/{ref}',
      '/v1/logs/{log}/checkpoint',
      '/v1/logs/{log}/proof/inclusion',
      '/v1/logs/{log}/proof/consistency',
      '/v1/logs/{log}/key',
      '/v1/logs/{log}/export',
      '/v1/logs/{log}/failures',
      '/healthz',
      '/readyz',
      '/metrics',
    ]) {
      assert.ok(doc.paths[p], p);
    }
    const page = await f.app.inject('/docs');
    assert.equal(page.statusCode, 200);
    assert.match(page.headers['content-type'] as string, /^text\/html/);
    assert.match(page.headers['content-security-policy'] as string, /default-src 'none'/);
    assert.match(page.body, /\/v1\/logs\/\{log\}\/proof\/consistency/);
    assert.doesNotMatch(
      page.body,
      /<script|https?:\/\/(?!127)/,
      'self-contained: no script, nothing fetched',
    );
  });

  it('answers unknown routes with the JSON error shape', async () => {
    const r = await f.app.inject('/v2/nothing');
    assert.equal(r.statusCode, 404);
    assert.equal(r.json().code, 'NOT_FOUND');
  });
});

describe('error mapping (src/server/errors.ts)', () => {
  it('gives every error code a status, and never a 500 to a client error', () => {
    for (const code of Object.values(ErrorCode)) assert.ok(HTTP_STATUS[code], code);
    for (const code of [
      'VALIDATION_FAILED',
      'JSON_INVALID',
      'ENCODING_INVALID',
      'ID_CONFLICT',
      'NOT_FOUND',
    ] as const) {
      assert.ok(HTTP_STATUS[code] < 500, code);
    }
    const busy = toHttpError(new EvidentError(ErrorCode.STORE_BUSY, 'busy', { retry_after_ms: 2500 }));
    assert.equal(busy.status, 503);
    assert.equal(busy.headers['retry-after'], '3');
    const internal = toHttpError(new TypeError('secret detail'));
    assert.deepEqual(internal.body, { code: 'INTERNAL', message: 'internal error' });
    const fst = toHttpError(
      Object.assign(new Error('x'), { code: 'FST_ERR_CTP_BODY_TOO_LARGE', statusCode: 413 }),
    );
    assert.equal(fst.status, 413);
    assert.equal(fst.body.code, 'PAYLOAD_TOO_LARGE');
  });

  it('lists every code with its status in docs/http-api.md', () => {
    const doc = readFileSync(new URL('../../docs/http-api.md', import.meta.url), 'utf8');
    for (const [code, status] of Object.entries(HTTP_STATUS)) {
      assert.match(doc, new RegExp(`^\\| \`${code}\` \\| ${status} \\|`, 'm'), `${code} ${status}`);
    }
  });
});
