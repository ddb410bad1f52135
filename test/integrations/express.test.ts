/**
 * evidentExpress on Express 5 and Express 4: real apps on loopback, real requests, a real
 * ledger on a SQLite file as the sink, and the log read back.
 */
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { after, before, describe, test } from 'node:test';
import { ErrorCode } from '../../src/core/errors.ts';
import { evidentExpress } from '../../src/integrations/express/index.ts';
import { buildExpressApp, type ExpressModule, express4, express5 } from './express-app.ts';
import {
  assertScenarioEvents,
  close,
  entries,
  type LedgerSinkFixture,
  ledgerFixture,
  listen,
  runScenario,
  SECRET_HEADERS,
  settled,
} from './support.ts';

const VERSIONS: [string, ExpressModule][] = [
  ['Express 5', express5],
  ['Express 4', express4],
];

for (const [name, e] of VERSIONS) {
  describe(`${name}: evidentExpress`, () => {
    let fx: LedgerSinkFixture;
    before(async () => {
      fx = await ledgerFixture();
    });
    after(() => fx.cleanup());

    async function serve(options: Parameters<typeof evidentExpress>[0], trustProxy = false) {
      const mw = evidentExpress(options);
      const sideEffects = { count: 0 };
      const server = createServer(buildExpressApp(e, mw, { trustProxy, sideEffects }));
      return { mw, sideEffects, server, base: await listen(server) };
    }

    test('records one event per request of every result kind, none for the skipped health check', async () => {
      const { mw, server, base } = await serve({
        sink: fx.sink,
        skipPaths: ['/health'],
        onError: fx.onError,
      });
      try {
        const { events, expected } = await runScenario(base, fx.ledger, mw.counters);
        assertScenarioEvents(events, expected, '127.0.0.1');
        assert.equal(mw.counters.skipped, 1);
        assert.deepEqual(fx.failures, []);
        // X-Forwarded-For is not trusted here: the socket's address was recorded.
        assert.equal(events[0]!.ip_address, '127.0.0.1');
      } finally {
        await close(server);
      }
    });

    test('X-Forwarded-For counts only when trust proxy is on', async () => {
      const { mw, server, base } = await serve({ sink: fx.sink }, true);
      try {
        const n = (await entries(fx.ledger)).length;
        const res = await fetch(`${base}/patients/1`, {
          headers: { 'x-forwarded-for': '203.0.113.9, 10.0.0.1' },
        });
        assert.equal(res.status, 200);
        await settled(mw.counters, 1);
        const [ev] = (await entries(fx.ledger)).slice(n);
        assert.equal(ev?.ip_address, '203.0.113.9');
      } finally {
        await close(server);
      }
    });

    test('a skip predicate, and headers captured only when listed (even authorization)', async () => {
      const { mw, server, base } = await serve({
        sink: fx.sink,
        skip: (req) => req.path.startsWith('/old'),
        captureHeaders: ['X-Tenant', 'authorization'],
      });
      try {
        const n = (await entries(fx.ledger)).length;
        await (await fetch(`${base}/old/1`, { redirect: 'manual' })).arrayBuffer();
        await (
          await fetch(`${base}/patients/1`, { headers: { 'x-tenant': 'clinic-a', ...SECRET_HEADERS } })
        ).arrayBuffer();
        await settled(mw.counters, 1);
        const got = (await entries(fx.ledger)).slice(n);
        assert.equal(got.length, 1);
        assert.equal(mw.counters.skipped, 1);
        assert.deepEqual(got[0]!.metadata?.['headers'], {
          'x-tenant': 'clinic-a',
          authorization: SECRET_HEADERS.authorization,
        });
        assert.ok(!JSON.stringify(got[0]).includes('secret-cookie'), 'cookie was not listed');
      } finally {
        await close(server);
      }
    });

    test('custom getters: actor, actor type, session, request id, resource', async () => {
      const { mw, server, base } = await serve({
        sink: fx.sink,
        actor: (req) => req.get('x-service'),
        actorType: () => 'service',
        session: (req) => req.get('x-session'),
        requestId: (req) => req.get('x-request-id'),
        resource: (_req, route) => ({ type: 'patient_record', id: route.params['id'] ?? 'none' }),
      });
      try {
        const n = (await entries(fx.ledger)).length;
        await fetch(`${base}/patients/9`, {
          headers: { 'x-service': 'billing', 'x-session': 's-1', 'x-request-id': 'rq-1' },
        }).then((r) => r.arrayBuffer());
        await settled(mw.counters, 1);
        const [ev] = (await entries(fx.ledger)).slice(n);
        assert.equal(ev?.actor_id, 'billing');
        assert.equal(ev?.actor_type, 'service');
        assert.equal(ev?.session_id, 's-1');
        assert.equal(ev?.metadata?.['request_id'], 'rq-1');
        assert.equal(ev?.resource_type, 'patient_record');
        assert.equal(ev?.resource_id, '9');
      } finally {
        await close(server);
      }
    });

    test('fail-closed route: the event is durable before the response arrives, streamed bodies too', async () => {
      // A ledger that commits 50 ms after an append: a response released before the commit would
      // reach the client before its event is in the log.
      const slow = await ledgerFixture({ maxDelayMs: 50 });
      const { mw, server, base } = await serve({ sink: slow.sink, onError: slow.onError });
      try {
        for (const path of ['/phi/5', '/phi-stream/6']) {
          const res = await fetch(base + path);
          assert.equal(res.status, 200);
          const id = res.headers.get('x-audit-id')!;
          // Read straight from the log, before the body and before any wait.
          const entry = await slow.ledger.entry(id);
          assert.ok(entry, `${path}: recorded before release`);
          assert.equal(entry.metadata?.['status'], 200);
          const body = await res.text();
          if (path === '/phi-stream/6') assert.equal(body, 'part-1;part-2;end');
        }
        assert.equal(mw.counters.recorded, 2);
      } finally {
        await close(server);
        await slow.cleanup();
      }
    });

    test('fail-closed: an event that cannot be recorded replaces the response with a 503', async () => {
      const { mw, sideEffects, server, base } = await serve({ sink: fx.sink, onError: fx.onError });
      const failuresBefore = fx.failures.length;
      try {
        const res = await fetch(`${base}/phi-invalid/5`);
        assert.equal(res.status, 503);
        const body = (await res.json()) as { code: string; message: string };
        assert.equal(body.code, ErrorCode.VALIDATION_FAILED);
        assert.ok(!JSON.stringify(body).includes('confidential'), 'the PHI did not go out');
        assert.ok(res.headers.get('retry-after'));
        assert.equal(sideEffects.count, 1, 'the handler had run: only its response was withheld');
        assert.equal(mw.counters.refused, 1);
        const reported = fx.failures.slice(failuresBefore);
        assert.equal(reported.length, 1);
        assert.equal(reported[0]!.error.code, ErrorCode.VALIDATION_FAILED);
        assert.equal(reported[0]!.failure.stage, 'record');
      } finally {
        await close(server);
      }
    });
  });

  describe(`${name}: sinks that cannot write`, () => {
    test('closed ledger: fail-closed route answers 503 without running; fail-open route answers 200 and reports', async () => {
      const fx = await ledgerFixture({ closed: true });
      const mw = evidentExpress({ sink: fx.sink, onError: fx.onError });
      const sideEffects = { count: 0 };
      const server = createServer(buildExpressApp(e, mw, { sideEffects }));
      const base = await listen(server);
      try {
        const refused = await fetch(`${base}/phi/1`);
        assert.equal(refused.status, 503);
        assert.equal(refused.headers.get('retry-after'), '1');
        assert.match(refused.headers.get('content-type') ?? '', /application\/json/);
        assert.deepEqual(Object.keys((await refused.json()) as object).sort(), ['code', 'message']);
        assert.equal(sideEffects.count, 0, 'the handler never ran');

        const open = await fetch(`${base}/patients/1`);
        assert.equal(open.status, 200);
        assert.deepEqual(await open.json(), { id: '1' });
        await settled(mw.counters, 1);
        assert.equal(mw.counters.failed, 1);
        assert.equal(mw.counters.refused, 1);
        assert.deepEqual(
          fx.failures.map((f) => [f.error.code, f.failure.stage]),
          [
            [ErrorCode.LEDGER_CLOSED, 'preflight'],
            [ErrorCode.LEDGER_CLOSED, 'record'],
          ],
        );
        assert.match(fx.failures[1]!.failure.event_id, /^[0-9a-f-]{36}$/);
      } finally {
        await close(server);
        fx.fixture.cleanup();
      }
    });

    test('ledger at its maxPending with failClosed for every route: 503 STORE_BUSY with Retry-After', async () => {
      const fx = await ledgerFixture({ maxPending: 0 });
      const mw = evidentExpress({ sink: fx.sink, onError: fx.onError, failClosed: true });
      const sideEffects = { count: 0 };
      const server = createServer(buildExpressApp(e, mw, { sideEffects }));
      const base = await listen(server);
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
        await close(server);
        await fx.cleanup();
      }
    });

    test('the default onError writes one JSON line on stderr with the code and the event id', async () => {
      const fx = await ledgerFixture({ closed: true });
      const mw = evidentExpress({ sink: fx.sink });
      const server = createServer(buildExpressApp(e, mw));
      const base = await listen(server);
      const lines: string[] = [];
      const write = process.stderr.write;
      process.stderr.write = ((chunk: string | Uint8Array) => {
        lines.push(String(chunk));
        return true;
      }) as typeof process.stderr.write;
      try {
        await (await fetch(`${base}/patients/1`)).arrayBuffer();
        await settled(mw.counters, 1);
      } finally {
        process.stderr.write = write;
        await close(server);
        fx.fixture.cleanup();
      }
      const reports = lines
        .map((l) => JSON.parse(l) as Record<string, unknown>)
        .filter((l) => l['source'] === 'evident');
      assert.equal(reports.length, 1);
      assert.equal(reports[0]!['code'], ErrorCode.LEDGER_CLOSED);
      assert.match(String(reports[0]!['event_id']), /^[0-9a-f-]{36}$/);
    });
  });
}

test('options are checked when the middleware is made', () => {
  assert.throws(
    () => evidentExpress({} as Parameters<typeof evidentExpress>[0]),
    (err: unknown) => (err as { code?: string }).code === ErrorCode.USAGE,
  );
});
