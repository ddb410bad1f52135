/**
 * The evidentFastify plugin on Fastify 5: real apps on loopback, real requests, a real ledger on
 * a SQLite file as the sink, and the log read back.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { ErrorCode } from '../../src/core/errors.ts';
import type { FastifyAuditOptions } from '../../src/integrations/fastify/index.ts';
import { buildFastifyApp } from './fastify-app.ts';
import {
  assertScenarioEvents,
  entries,
  type LedgerSinkFixture,
  ledgerFixture,
  runScenario,
  SECRET_HEADERS,
  settled,
} from './support.ts';

async function serve(options: FastifyAuditOptions, trustProxy = false) {
  const sideEffects = { count: 0 };
  const app = await buildFastifyApp(options, { trustProxy, sideEffects });
  await app.listen({ port: 0, host: '127.0.0.1' });
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return { app, sideEffects, base: `http://127.0.0.1:${port}`, counters: app.evident.counters };
}

const stop = (app: FastifyInstance) => app.close();

describe('Fastify: evidentFastify', () => {
  let fx: LedgerSinkFixture;
  before(async () => {
    fx = await ledgerFixture();
  });
  after(() => fx.cleanup());

  test('records one event per request of every result kind, none for the skipped health check', async () => {
    const { app, base, counters } = await serve({
      sink: fx.sink,
      skipPaths: ['/health'],
      onError: fx.onError,
    });
    try {
      const { events, expected } = await runScenario(base, fx.ledger, counters);
      assertScenarioEvents(events, expected, '127.0.0.1');
      assert.equal(counters.skipped, 1);
      assert.deepEqual(fx.failures, []);
      // Fastify's own request id is the default request id.
      assert.match(String(events[0]!.metadata?.['request_id']), /^req-/);
    } finally {
      await stop(app);
    }
  });

  test('X-Forwarded-For counts only when trustProxy is on', async () => {
    const { app, base, counters } = await serve({ sink: fx.sink }, true);
    try {
      const n = (await entries(fx.ledger)).length;
      const res = await fetch(`${base}/patients/1`, { headers: { 'x-forwarded-for': '203.0.113.9' } });
      assert.equal(res.status, 200);
      await settled(counters, 1);
      assert.equal((await entries(fx.ledger)).slice(n)[0]?.ip_address, '203.0.113.9');
    } finally {
      await stop(app);
    }
  });

  test('route config skip, a skip predicate, and headers captured only when listed', async () => {
    const { app, base, counters } = await serve({
      sink: fx.sink,
      skip: (request) => request.url.startsWith('/old'),
      captureHeaders: ['x-tenant'],
    });
    try {
      const n = (await entries(fx.ledger)).length;
      await (await fetch(`${base}/quiet`)).arrayBuffer();
      await (await fetch(`${base}/old/1`, { redirect: 'manual' })).arrayBuffer();
      await (
        await fetch(`${base}/patients/1`, { headers: { 'x-tenant': 'clinic-a', ...SECRET_HEADERS } })
      ).arrayBuffer();
      await settled(counters, 1);
      const got = (await entries(fx.ledger)).slice(n);
      assert.equal(got.length, 1);
      assert.equal(counters.skipped, 2);
      assert.deepEqual(got[0]!.metadata?.['headers'], { 'x-tenant': 'clinic-a' });
      assert.ok(!JSON.stringify(got[0]).includes('secret-'), 'authorization and cookie were not listed');
    } finally {
      await stop(app);
    }
  });

  test('fail-closed route: the event is durable before the response arrives', async () => {
    // A ledger that commits 50 ms after an append (see the Express test).
    const slow = await ledgerFixture({ maxDelayMs: 50 });
    const { app, base, counters } = await serve({ sink: slow.sink, onError: slow.onError });
    try {
      const res = await fetch(`${base}/phi/5`);
      assert.equal(res.status, 200);
      const entry = await slow.ledger.entry(res.headers.get('x-audit-id')!);
      assert.ok(entry, 'recorded before release');
      assert.equal(entry.action, 'phi.read');
      assert.deepEqual(await res.json(), { id: '5', diagnosis: 'confidential' });
      assert.equal(counters.recorded, 1);
    } finally {
      await stop(app);
      await slow.cleanup();
    }
  });

  test('fail-closed: an event that cannot be recorded replaces the response with a 503', async () => {
    const { app, base, counters, sideEffects } = await serve({ sink: fx.sink, onError: fx.onError });
    const failuresBefore = fx.failures.length;
    try {
      const res = await fetch(`${base}/phi-invalid/5`);
      assert.equal(res.status, 503);
      const text = await res.text();
      assert.equal((JSON.parse(text) as { code: string }).code, ErrorCode.VALIDATION_FAILED);
      assert.ok(!text.includes('confidential'), 'the PHI did not go out');
      assert.equal(res.headers.get('retry-after'), '1');
      assert.equal(sideEffects.count, 1, 'the handler had run: only its response was withheld');
      assert.equal(counters.refused, 1);
      assert.deepEqual(
        fx.failures.slice(failuresBefore).map((f) => [f.error.code, f.failure.stage]),
        [[ErrorCode.VALIDATION_FAILED, 'record']],
      );
    } finally {
      await stop(app);
    }
  });
});

describe('Fastify: sinks that cannot write', () => {
  test('closed ledger: fail-closed route answers 503 without running; fail-open route answers 200 and reports', async () => {
    const fx = await ledgerFixture({ closed: true });
    const { app, base, counters, sideEffects } = await serve({ sink: fx.sink, onError: fx.onError });
    try {
      const refused = await fetch(`${base}/phi/1`);
      assert.equal(refused.status, 503);
      assert.equal(refused.headers.get('retry-after'), '1');
      const body = (await refused.json()) as Record<string, unknown>;
      assert.deepEqual(Object.keys(body).sort(), ['code', 'message']);
      assert.equal(body['code'], ErrorCode.LEDGER_CLOSED);
      assert.equal(sideEffects.count, 0, 'the handler never ran');

      const open = await fetch(`${base}/patients/1`);
      assert.equal(open.status, 200);
      assert.deepEqual(await open.json(), { id: '1' });
      await settled(counters, 1);
      assert.equal(counters.failed, 1);
      assert.deepEqual(
        fx.failures.map((f) => [f.error.code, f.failure.stage]),
        [
          [ErrorCode.LEDGER_CLOSED, 'preflight'],
          [ErrorCode.LEDGER_CLOSED, 'record'],
        ],
      );
    } finally {
      await stop(app);
      fx.fixture.cleanup();
    }
  });

  test('ledger at its maxPending with failClosed for every route: 503 STORE_BUSY', async () => {
    const fx = await ledgerFixture({ maxPending: 0 });
    const { app, base, sideEffects } = await serve({ sink: fx.sink, onError: fx.onError, failClosed: true });
    try {
      for (const path of ['/patients/1', '/phi/1']) {
        const res = await fetch(base + path);
        assert.equal(res.status, 503, path);
        assert.equal(((await res.json()) as { code: string }).code, ErrorCode.STORE_BUSY);
        assert.equal(res.headers.get('retry-after'), '1');
      }
      assert.equal(sideEffects.count, 0);
      assert.equal((await entries(fx.ledger)).length, 0);
    } finally {
      await stop(app);
      await fx.cleanup();
    }
  });
});
