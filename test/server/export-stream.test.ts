/**
 * Exports of large events: `evident export` and GET .../export stream the
 * bundle entry by entry with backpressure, in bounded memory; an export that fails midway ends
 * with an error line and a cut connection, and its access event says failure.
 *
 * The memory bound is shown with real processes run under a small heap (--max-old-space-size):
 * before, a page of up to 5,000 entries was joined into one string (2,400 events of 250 KB
 * passed V8's 512 MiB string limit: "Invalid string length", exit 3); here 300 events of about
 * 250 KB (75 MB) do not fit a 96 MB heap as one page (before: out of memory, in the CLI and the
 * server alike), and stream through it entry by entry.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import type { Entry } from '../../src/core/event/entry.ts';
import { createKeyFile, loadKeyRing } from '../../src/ledger/keyfile.ts';
import { Ledger } from '../../src/ledger/ledger.ts';
import { createLog } from '../../src/ledger/open.ts';
import { createApiKey } from '../../src/server/api-keys.ts';
import { openStore } from '../../src/store/open.ts';
import { ensureBuilt, removeTempDirs, run, tempDir } from '../cli/helpers.ts';
import { HOST, setup } from './helpers.ts';
import { startServeProcess } from './serve-process.ts';

const LARGE = 300;
/** The read key's creation is itself an event of the log (evident.api_key.created), before the large ones. */
const KEY_EVENTS = 1;
const HEAP = ['--max-old-space-size=96'];

/** A valid event of about 250 KB: three JSON fields of 60 KB, under the 64 KiB and 256 KiB bounds. */
function largeEvent(i: number): Record<string, unknown> {
  const blob = (tag: string) => ({ text: `${tag}${i}-`.padEnd(60_000, 'x') });
  return {
    actor_id: `user-${i % 7}`,
    actor_type: 'user',
    action: 'update',
    resource_type: 'document',
    resource_id: `doc-${i}`,
    result: 'success',
    ip_address: '192.0.2.7',
    old_values: blob('old'),
    new_values: blob('new'),
    metadata: blob('meta'),
  };
}

async function fill(
  db: string,
  keyFile: string,
  count: number,
  make: (i: number) => Record<string, unknown>,
) {
  const store = await openStore(db);
  const ring = await loadKeyRing(keyFile);
  const ledger = await Ledger.open({ store, signer: ring });
  for (let i = 0; i < count; i += 20) {
    await ledger.appendMany(Array.from({ length: Math.min(20, count - i) }, (_, j) => make(i + j)));
  }
  await ledger.close();
}

describe('exports of large events stream in bounded memory', () => {
  let dir: string;
  let db: string;
  let keyFile: string;
  let readKey: string;
  before(async () => {
    ensureBuilt();
    dir = tempDir();
    db = join(dir, 'audit.db');
    keyFile = join(dir, 'audit.key');
    await createKeyFile(keyFile, `${HOST}/default`);
    const store = await openStore(db);
    await createLog(store, {
      name: 'default',
      origin: `${HOST}/default`,
      signer: await loadKeyRing(keyFile),
    });
    readKey = (await createApiKey(store, { logs: ['default'], scopes: ['read'] })).key;
    await store.close();
    const t0 = Date.now();
    await fill(db, keyFile, LARGE, largeEvent);
    console.log(`# wrote ${LARGE} events of about 250 KB in ${Date.now() - t0} ms`);
  });
  after(() => removeTempDirs());

  it('evident export writes every large entry under a 96 MB heap, and the bundle verifies', async () => {
    const t0 = Date.now();
    const r = await run(['export', '--db', db, '--key', keyFile, '--out', 'big.bundle', '--json'], {
      cwd: dir,
      env: { NODE_OPTIONS: HEAP[0]! },
    });
    console.log(`# evident export of ${LARGE} large events: ${Date.now() - t0} ms`);
    assert.equal(r.code, 0, r.stderr.slice(0, 2000));
    assert.equal(JSON.parse(r.stdout).entries, KEY_EVENTS + LARGE);
    const v = await run(['verify-bundle', 'big.bundle', '--vkey', readVkey(db), '--json'], { cwd: dir });
    assert.equal(v.code, 0, v.stdout + v.stderr);
  });

  it('GET /export streams every large entry from a server under a 96 MB heap', async () => {
    const s = await startServeProcess(
      dir,
      ['--port', '0', '--db', db, '--key', keyFile, '--checkpoint-interval-ms', '0'],
      { nodeOptions: HEAP },
    );
    try {
      const t0 = Date.now();
      const res = await fetch(`${s.url}/v1/logs/default/export`, {
        headers: { authorization: `Bearer ${readKey}` },
      });
      assert.equal(res.status, 200);
      let lines = 0;
      let tail = '';
      const decoder = new TextDecoder();
      for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
        const text = tail + decoder.decode(chunk, { stream: true });
        const parts = text.split('\n');
        tail = parts.pop()!;
        lines += parts.length;
      }
      console.log(`# GET /export of ${LARGE} large events: ${Date.now() - t0} ms`);
      assert.equal(tail, '');
      assert.equal(
        lines,
        1 + KEY_EVENTS + LARGE + 1,
        'the header, the key event, the large entries and the access event of the export',
      );
      const health = await fetch(`${s.url}/healthz`);
      assert.equal(health.status, 200, 'the server is still up');
    } finally {
      await s.stop();
    }
  });
});

function readVkey(db: string): string {
  const d = new Database(db, { readonly: true });
  try {
    return (d.prepare("SELECT vkey FROM logs WHERE name = 'default'").get() as { vkey: string }).vkey;
  } finally {
    d.close();
  }
}

describe('an export that fails midway', () => {
  it('ends with an error line and a cut connection, and its access event says failure', async () => {
    const f = await setup();
    try {
      const info = (await f.store.getLog('default'))!;
      await f.app.inject({
        method: 'POST',
        url: '/v1/logs/default/events',
        headers: f.auth(f.keys.admin),
        payload: Array.from({ length: 300 }, (_, i) => ({
          actor_id: 'alice',
          actor_type: 'user',
          action: 'read',
          resource_type: 'record',
          resource_id: `r-${i}`,
          result: 'success',
          ip_address: '192.0.2.7',
        })),
      });
      // Whoever can write the database deletes entry 200 (dropping the trigger that forbids it).
      const d = new Database(join(f.dir, 'audit.db'));
      d.exec('DROP TRIGGER entries_prune_only');
      d.prepare('DELETE FROM entries WHERE log_id = ? AND idx = 200').run(info.id);
      d.close();
      await f.app.listen({ port: 0, host: '127.0.0.1' });
      const port = (f.app.server.address() as { port: number }).port;
      const got = await new Promise<{ status: number; body: string; aborted: boolean }>((resolve, reject) => {
        const req = request(
          { host: '127.0.0.1', port, path: '/v1/logs/default/export', headers: f.auth(f.keys.read) },
          (res) => {
            let body = '';
            let aborted = false;
            res.setEncoding('utf8');
            res.on('data', (c) => {
              body += c;
            });
            res.on('aborted', () => {
              aborted = true;
            });
            res.on('error', () => {
              aborted = true;
            });
            res.on('close', () =>
              resolve({ status: res.statusCode ?? 0, body, aborted: aborted || !res.complete }),
            );
          },
        );
        req.on('error', reject);
        req.end();
      });
      assert.equal(got.status, 200);
      assert.ok(got.aborted, 'the body is incomplete for the HTTP client: no final chunk');
      const lines = got.body.trimEnd().split('\n');
      assert.equal(lines.length, 1 + 200 + 1, 'header, entries 0 to 199, the error line');
      const last = JSON.parse(lines.at(-1)!) as { error: { code: string; index?: number } };
      assert.equal(last.error.code, 'TAMPER_DETECTED');
      const access = (await f.entries()).filter((e: Entry) => e.action === 'audit_log.export');
      assert.deepEqual(
        access.map((e) => e.result),
        ['success', 'failure'],
        'recorded before the first byte, then the failure',
      );
      const failure = access[1]!.metadata as Record<string, unknown>;
      assert.equal(failure['code'], 'TAMPER_DETECTED');
      assert.equal(failure['entries_sent'], 200);
    } finally {
      await f.close();
    }
  });

  it('records an export the client abandoned midway as a failure', async () => {
    const f = await setup();
    try {
      for (let i = 0; i < 200; i += 10) {
        await f.app.inject({
          method: 'POST',
          url: '/v1/logs/default/events',
          headers: f.auth(f.keys.admin),
          payload: Array.from({ length: 10 }, (_, j) => {
            const { old_values: _o, new_values: _n, ...e } = largeEvent(i + j); // about 60 KB each
            return e;
          }),
        });
      }
      await f.app.listen({ port: 0, host: '127.0.0.1' });
      const port = (f.app.server.address() as { port: number }).port;
      await new Promise<void>((resolve) => {
        const req = request(
          { host: '127.0.0.1', port, path: '/v1/logs/default/export', headers: f.auth(f.keys.read) },
          (res) => {
            res.once('data', () => {
              req.destroy(); // read the first bytes of a 12 MB bundle, then go away
              resolve();
            });
          },
        );
        req.on('error', () => {});
        req.on('close', () => resolve());
        req.end();
      }).catch(() => {});
      const deadline = Date.now() + 10_000;
      let access: Entry[] = [];
      while (Date.now() < deadline) {
        access = (await f.entries()).filter((e: Entry) => e.action === 'audit_log.export');
        if (access.length === 2) break;
        await new Promise((r) => setTimeout(r, 50));
      }
      assert.deepEqual(
        access.map((e) => e.result),
        ['success', 'failure'],
      );
      const meta = access[1]!.metadata as Record<string, unknown>;
      assert.equal(meta['aborted_by_client'], true);
      assert.ok(Number(meta['entries_sent']) < 200, `sent ${meta['entries_sent']} of 200`);
    } finally {
      await f.close();
    }
  });

  it('evident export exits 1 (TAMPER_DETECTED) and leaves no partial file', async () => {
    const dir = tempDir();
    const db = join(dir, 'audit.db');
    const keyFile = join(dir, 'audit.key');
    await createKeyFile(keyFile, `${HOST}/default`);
    const store = await openStore(db);
    const info = await createLog(store, {
      name: 'default',
      origin: `${HOST}/default`,
      signer: await loadKeyRing(keyFile),
    });
    await store.close();
    await fill(db, keyFile, 100, (i) => {
      const { old_values: _o, new_values: _n, ...small } = largeEvent(i);
      return { ...small, metadata: { i } };
    });
    const d = new Database(db);
    d.exec('DROP TRIGGER entries_prune_only');
    d.prepare('DELETE FROM entries WHERE log_id = ? AND idx = 50').run(info.id);
    d.close();
    const r = await run(['export', '--db', db, '--key', keyFile, '--out', 'cut.bundle', '--json'], {
      cwd: dir,
    });
    assert.equal(r.code, 1, r.stderr);
    assert.equal(JSON.parse(r.stderr).code, 'TAMPER_DETECTED');
    assert.throws(() => readFileSync(join(dir, 'cut.bundle')), { code: 'ENOENT' });
  });
});
