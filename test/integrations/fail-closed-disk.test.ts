/**
 * A fail-closed route must never run its handler without a durable
 * audit record, whatever way the store fails. Real failures only: a tmpfs filled to its last
 * block under the client's spool and under the SQLite database, and the database's write lock
 * held by another process. Each test counts the handlers that ran and checks that every one of
 * them left an event (the final one, or the provisional one when the outcome could not be
 * written), and that the event loop kept running while the lock was held.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { describe, test } from 'node:test';
import Fastify from 'fastify';
import { EvidentClient } from '../../src/client/index.ts';
import { replaySpool } from '../../src/client/replay.ts';
import { ErrorCode } from '../../src/core/errors.ts';
import { audit, evidentExpress } from '../../src/integrations/express/index.ts';
import { evidentFastify } from '../../src/integrations/fastify/index.ts';
import { type AuditSink, ledgerSink } from '../../src/integrations/sink.ts';
import { createKeyFile } from '../../src/ledger/keyfile.ts';
import { Ledger } from '../../src/ledger/ledger.ts';
import { createLog, openLedger } from '../../src/ledger/open.ts';
import { openStore } from '../../src/store/open.ts';
import { openSqliteStore } from '../../src/store/sqlite/store.ts';
import { express5 } from './express-app.ts';
import { holdWriteLock, mountSmall, skipWithoutMount, subdir } from './full-disk.ts';
import { close, listen } from './support.ts';

const ORIGIN = 'test.example/default';

/** The Fastify twin of phiApp. */
async function phiFastify(sink: AuditSink) {
  const handled = new Map<number, string>();
  const app = Fastify();
  await app.register(evidentFastify, { sink, onError: () => undefined });
  app.get('/phi/:id', { config: { audit: { failClosed: true, action: 'phi.read' } } }, async (request) => {
    handled.set(Number((request.query as { n: string }).n), request.audit.eventId);
    return { ok: true };
  });
  await app.listen({ port: 0, host: '127.0.0.1' });
  const { port } = app.server.address() as AddressInfo;
  return { base: `http://127.0.0.1:${port}`, handled, stop: () => app.close() };
}

/** An app whose fail-closed route notes, per request number, the event id its handler ran under. */
async function phiApp(sink: AuditSink) {
  const handled = new Map<number, string>();
  const app = express5();
  app.use(evidentExpress({ sink, onError: () => undefined }));
  app.get('/phi/:id', audit({ failClosed: true, action: 'phi.read' }), (req, res) => {
    handled.set(Number(req.query['n']), req.audit.eventId);
    res.json({ ok: true });
  });
  const server: Server = createServer(app);
  const base = await listen(server);
  return { base, handled, stop: () => close(server) };
}

/** n requests, `parallel` at a time; the status of each by request number. */
async function hammer(base: string, n: number, parallel = 10) {
  const status = new Map<number, { status: number; code?: string; retryAfter: string | null }>();
  let next = 0;
  const worker = async () => {
    while (next < n) {
      const i = next++;
      const res = await fetch(`${base}/phi/${i}?n=${i}`);
      const body = (await res.json()) as { code?: string };
      status.set(i, { status: res.status, retryAfter: res.headers.get('retry-after'), ...body });
    }
  };
  await Promise.all(Array.from({ length: parallel }, worker));
  return status;
}

const count503 = (status: Map<number, { status: number }>) =>
  [...status.values()].filter((s) => s.status === 503).length;

async function keyAndLog(db: string, keyDir: string) {
  const keyPath = join(keyDir, 'signing.key');
  const signer = await createKeyFile(keyPath, ORIGIN);
  const store = await openStore(db);
  await createLog(store, { name: 'default', origin: ORIGIN, signer });
  await store.close();
  return { keyPath, signer };
}

describe('fail-closed routes never run unaudited', { skip: skipWithoutMount() }, () => {
  test('item 6: Express with the client SDK, spool file system full: no handler runs without a spooled event', async (t) => {
    const disk = mountSmall(1024);
    const spoolDir = subdir(disk, 'spool');
    const client = await EvidentClient.open({
      url: 'http://127.0.0.1:9',
      apiKey: 'evk_000000000000_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA',
      log: 'default',
      spoolDir,
      deliver: false,
    });
    const app = await phiApp(client);
    try {
      assert.equal((await fetch(`${app.base}/phi/0?n=-1`)).status, 200);
      disk.fill();
      const status = await hammer(app.base, 300);
      await app.stop();
      await client.close({ timeoutMs: 100 });
      const spooled = new Map<string, Record<string, unknown>[]>();
      for (const r of (await replaySpool(spoolDir)).records) {
        const list = spooled.get(r.id) ?? [];
        list.push(JSON.parse(r.payload.toString('utf8')) as Record<string, unknown>);
        spooled.set(r.id, list);
      }
      const unaudited = [...app.handled.values()].filter((id) => !spooled.has(id));
      t.diagnostic(
        `handlers run ${app.handled.size - 1} of 300, refused ${count503(status)}, unaudited ${unaudited.length}`,
      );
      assert.equal(unaudited.length, 0, `${unaudited.length} of ${app.handled.size} handlers ran unaudited`);
      const refused = [...status.values()].filter((s) => s.status === 503);
      assert.ok(refused.length > 0, 'the file system was full: some requests must be refused');
      for (const s of refused) {
        assert.equal(s.code, ErrorCode.SPOOL_FAILED);
        assert.ok(s.retryAfter);
      }
      // Every 200 has its final event; a handler answered 503 left its provisional event.
      for (const [n, id] of app.handled) {
        const events = spooled.get(id)!;
        const last = events.at(-1)!;
        const outcome = (last['metadata'] as Record<string, unknown>)['evident_outcome'];
        if (n < 0 || status.get(n)?.status === 200) assert.equal(outcome, undefined, `request ${n}`);
        else assert.equal(outcome, 'unknown', `request ${n}`);
      }
    } finally {
      await app.stop().catch(() => undefined);
      await client.close({ timeoutMs: 100 }).catch(() => undefined);
      disk.cleanup();
    }
  });

  test('item 7: Express with the embedded ledger, database file system full: no handler runs without a committed record', async (t) => {
    const disk = mountSmall(2048);
    const keyDir = mkdtempSync(join(tmpdir(), 'evident-fc-key-'));
    const db = join(disk.dir, 'audit.db');
    const { keyPath } = await keyAndLog(db, keyDir);
    let ledger = await openLedger({ db, key: keyPath });
    const app = await phiApp(ledgerSink(ledger));
    try {
      assert.equal((await fetch(`${app.base}/phi/0?n=-1`)).status, 200);
      disk.fill();
      const status = await hammer(app.base, 300);
      await app.stop();
      const refused = [...status.values()].filter((s) => s.status === 503);
      assert.ok(refused.length > 0, 'the file system was full: some requests must be refused');
      for (const s of refused)
        assert.ok([ErrorCode.STORE_FAILED, ErrorCode.STORE_BUSY].includes(s.code as never));
      // Room again: whatever was durable (events, and intents of requests whose outcome could
      // not be appended) is in the log once the ledger is reopened.
      await ledger.close().catch(() => undefined);
      disk.free();
      ledger = await openLedger({ db, key: keyPath });
      const logged = new Map((await ledger.query({})).map((e) => [e.id, e]));
      const unaudited = [...app.handled.values()].filter((id) => !logged.has(id));
      t.diagnostic(
        `handlers run ${app.handled.size - 1} of 300, refused ${count503(status)}, unaudited ${unaudited.length}`,
      );
      assert.equal(unaudited.length, 0, `${unaudited.length} of ${app.handled.size} handlers ran unaudited`);
      for (const [n, id] of app.handled) {
        const outcome = (logged.get(id)!.metadata as Record<string, unknown> | undefined)?.[
          'evident_outcome'
        ];
        if (n < 0 || status.get(n)?.status === 200) assert.equal(outcome, undefined, `request ${n}`);
        else assert.equal(outcome, 'unknown', `request ${n}`);
      }
      assert.equal((await ledger.verify()).ok, true);
    } finally {
      await app.stop().catch(() => undefined);
      await ledger.close().catch(() => undefined);
      disk.cleanup();
      rmSync(keyDir, { recursive: true, force: true });
    }
  });
});

describe('fail-closed with the database locked by another process', () => {
  for (const [name, make] of [
    ['Express', phiApp],
    ['Fastify', phiFastify],
  ] as const)
    test(`${name}: 503 STORE_BUSY before the handler, and the event loop keeps running while the ledger waits`, async (t) => {
      const dir = mkdtempSync(join(tmpdir(), 'evident-fc-lock-'));
      const db = join(dir, 'audit.db');
      const { signer } = await keyAndLog(db, dir);
      const store = await openSqliteStore(db, { busyTimeoutMs: 1000 });
      const ledger = await Ledger.open({ store, signer });
      const app = await make(ledgerSink(ledger));
      const lag = monitorEventLoopDelay({ resolution: 10 });
      try {
        assert.equal((await fetch(`${app.base}/phi/0?n=-1`)).status, 200);
        const lock = await holdWriteLock(db);
        lag.enable();
        const started = Date.now();
        const status = await hammer(app.base, 3, 3);
        const waited = Date.now() - started;
        lag.disable();
        await lock.release();
        for (const s of status.values()) {
          assert.equal(s.status, 503);
          assert.equal(s.code, ErrorCode.STORE_BUSY);
          assert.equal(s.retryAfter, '1');
        }
        assert.equal(app.handled.size, 1, 'only the request before the lock ran its handler');
        assert.ok(waited >= 1000, `the ledger waited for the lock (${waited} ms)`);
        const maxLagMs = lag.max / 1e6;
        t.diagnostic(`waited ${waited} ms for the lock; longest event-loop stall ${maxLagMs.toFixed(0)} ms`);
        assert.ok(maxLagMs < 250, `the event loop stalled ${maxLagMs.toFixed(0)} ms`);
        assert.equal((await fetch(`${app.base}/phi/1?n=99`)).status, 200);
        assert.equal((await ledger.query({})).length, 2);
      } finally {
        await app.stop().catch(() => undefined);
        await ledger.close();
        rmSync(dir, { recursive: true, force: true });
      }
    });
});
