/**
 * A real `evident serve` process stopped by SIGTERM while idle keep-alive connections are open
 * (one idle after its answer, one that never sent a byte, as a browser keeps) and a request is
 * in flight: the idle ones are closed at once, the request in flight is still answered, a last
 * checkpoint is signed, and the process exits 0 before the grace period would cut anything.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, it } from 'node:test';
import { ensureBuilt, event, removeTempDirs, run, tempDir } from '../cli/helpers.ts';
import { rawConnection } from './raw-connection.ts';
import { startServeProcess } from './serve-process.ts';

/** The shutdown grace period is the body timeout plus 5 s (src/server/start.ts): 30 s here. */
const BODY_TIMEOUT_MS = 25_000;
const GRACE_MS = BODY_TIMEOUT_MS + 5_000;

let dir: string;
let key: string;
before(async () => {
  ensureBuilt();
  dir = tempDir();
  assert.equal((await run(['init', '--origin', 'shutdown.test/default'], { cwd: dir })).code, 0);
  const k = await run(['keys', 'create', '--log', 'default', '--scope', 'ingest', '--json'], { cwd: dir });
  assert.equal(k.code, 0, k.stderr);
  key = JSON.parse(k.stdout).key;
});
after(removeTempDirs);

it('SIGTERM closes idle keep-alive connections at once, finishes the request in flight, signs and exits 0', async () => {
  const s = await startServeProcess(dir, [
    '--port',
    '0',
    '--key',
    join(dir, 'evident.key'),
    '--body-timeout-ms',
    String(BODY_TIMEOUT_MS),
    // No checkpoint while appending after the first commit: the last one must come from shutdown.
    '--checkpoint-interval-ms',
    '3600000',
  ]);
  try {
    // A connection that never sends a byte, as a browser keeps one spare.
    const unused = await rawConnection(s.url);
    // A keep-alive connection left idle after its answer.
    const answered = await rawConnection(s.url);
    answered.socket.write('GET /healthz HTTP/1.1\r\nHost: evident\r\nConnection: keep-alive\r\n\r\n');
    await answered.until(/^HTTP\/1\.1 200 .*\r\n\r\n.*\}/s);
    assert.ok(!/connection: close/i.test(answered.text()), 'kept alive');

    const first = await fetch(`${s.url}/v1/logs/default/events`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: JSON.stringify([event(0), event(1)]),
    });
    assert.equal(first.status, 201, await first.text());

    // A request in flight: its headers are in (100 Continue answered), its body not yet.
    const body = JSON.stringify([event(2), event(3), event(4)]);
    const inflight = await rawConnection(s.url);
    inflight.socket.write(
      `POST /v1/logs/default/events HTTP/1.1\r\nHost: evident\r\nAuthorization: Bearer ${key}\r\n` +
        `Content-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n` +
        'Expect: 100-continue\r\n\r\n',
    );
    await inflight.until(/^HTTP\/1\.1 100 Continue\r\n\r\n/);

    const t0 = Date.now();
    s.child.kill('SIGTERM');
    // Both idle connections are closed by the server while the request in flight still holds
    // its own: without that, only the grace period's cut would close them, and all at once.
    await Promise.all([unused.closed, answered.closed]);
    assert.equal(inflight.isClosed(), false, 'the request in flight is not cut');
    inflight.socket.write(body);
    await inflight.until(/^HTTP\/1\.1 100 Continue\r\n\r\nHTTP\/1\.1 201 .*\r\n\r\n.*\]\}/s);
    assert.match(inflight.text(), /\r\nconnection: close\r\n/i);
    const receipts = JSON.parse(inflight.text().slice(inflight.text().lastIndexOf('\r\n\r\n') + 4)).receipts;
    assert.equal(receipts.length, 3);

    assert.equal(await s.exit, 0, s.output());
    const elapsed = Date.now() - t0;
    assert.ok(
      elapsed < GRACE_MS,
      `exited ${elapsed} ms after SIGTERM, within the ${GRACE_MS} ms grace period`,
    );
  } finally {
    await s.stop();
  }

  // The last checkpoint, signed at shutdown, covers every entry, the request in flight's included.
  const v = await run(['verify', '--json'], { cwd: dir });
  assert.equal(v.code, 0, v.stdout + v.stderr);
  const report = JSON.parse(v.stdout);
  assert.equal(report.verified_size, report.entries);
  // The key's creation and the five events.
  assert.equal(report.entries, 6);
});
