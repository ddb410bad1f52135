/**
 * The middleware with the client SDK as its sink (delivery off: only the durable spool is
 * involved). A spool that cannot be written must refuse fail-closed routes before they run.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { EvidentClient } from '../../src/client/index.ts';
import { ErrorCode, type EvidentError } from '../../src/core/errors.ts';
import {
  type AuditCounters,
  type AuditFailure,
  evidentExpress,
} from '../../src/integrations/express/index.ts';
import { buildExpressApp, express5 } from './express-app.ts';
import { buildFastifyApp } from './fastify-app.ts';
import { close, listen, settled } from './support.ts';

async function openClient() {
  const dir = mkdtempSync(join(tmpdir(), 'evident-mw-client-'));
  const spoolDir = join(dir, 'spool');
  const client = await EvidentClient.open({
    url: 'http://127.0.0.1:9',
    apiKey: 'evk_000000000000_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA',
    log: 'default',
    spoolDir,
    deliver: false,
    probeIntervalMs: 0,
  });
  return {
    client,
    /** Puts a regular file where the spool directory was: every later write fails for real. */
    breakSpool: () => {
      rmSync(spoolDir, { recursive: true, force: true });
      writeFileSync(spoolDir, 'not a directory');
    },
    dispose: async () => {
      await client.close({ timeoutMs: 100 }).catch(() => undefined);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

type App = { base: string; counters: AuditCounters; sideEffects: { count: number }; stop(): Promise<void> };

async function expressApp(client: EvidentClient, failures: unknown[]): Promise<App> {
  const mw = evidentExpress({ sink: client, onError: (e, f) => failures.push([e.code, f.stage]) });
  const sideEffects = { count: 0 };
  const server: Server = createServer(buildExpressApp(express5, mw, { sideEffects }));
  return { base: await listen(server), counters: mw.counters, sideEffects, stop: () => close(server) };
}

async function fastifyApp(client: EvidentClient, failures: unknown[]): Promise<App> {
  const sideEffects = { count: 0 };
  const onError = (e: EvidentError, f: AuditFailure) => failures.push([e.code, f.stage]);
  const app = await buildFastifyApp({ sink: client, onError }, { sideEffects });
  await app.listen({ port: 0, host: '127.0.0.1' });
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return {
    base: `http://127.0.0.1:${port}`,
    counters: app.evident.counters,
    sideEffects,
    stop: () => app.close(),
  };
}

for (const [name, make] of [
  ['Express 5', expressApp],
  ['Fastify', fastifyApp],
] as const) {
  describe(`${name} with an EvidentClient sink`, () => {
    test('fail-closed route: the event is in the spool before the response arrives', async () => {
      const c = await openClient();
      const failures: unknown[] = [];
      const app = await make(c.client, failures);
      try {
        const res = await fetch(`${app.base}/phi/3`);
        assert.equal(res.status, 200);
        assert.equal(c.client.stats().spooled, 1, 'spooled (written and fsynced) before release');
        await res.arrayBuffer();
        assert.deepEqual(failures, []);
      } finally {
        await app.stop();
        await c.dispose();
      }
    });

    test('unwritable spool: fail-closed route answers 503 SPOOL_FAILED without running; fail-open answers 200 and reports', async () => {
      const c = await openClient();
      const failures: unknown[] = [];
      const app = await make(c.client, failures);
      try {
        c.breakSpool();
        const refused = await fetch(`${app.base}/phi/3`);
        assert.equal(refused.status, 503);
        assert.equal(((await refused.json()) as { code: string }).code, ErrorCode.SPOOL_FAILED);
        assert.ok(refused.headers.get('retry-after'));
        assert.equal(app.sideEffects.count, 0, 'the handler never ran');

        const open = await fetch(`${app.base}/patients/3`);
        assert.equal(open.status, 200);
        await open.arrayBuffer();
        await settled(app.counters, 1);
        assert.deepEqual(failures, [
          [ErrorCode.SPOOL_FAILED, 'preflight'],
          [ErrorCode.SPOOL_FAILED, 'record'],
        ]);
      } finally {
        await app.stop();
        await c.dispose();
      }
    });
  });
}
