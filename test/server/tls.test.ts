/** `evident serve --tls-cert --tls-key`: HTTPS with a real certificate, and nothing in clear. */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { once } from 'node:events';
import { request } from 'node:https';
import { connect as connectTcp, createServer as createTcpServer, type Socket } from 'node:net';
import { join } from 'node:path';
import { after, it } from 'node:test';
import { connect } from 'node:tls';
import { ensureBuilt, removeTempDirs, run, tempDir } from '../cli/helpers.ts';
import { startServeProcess } from './serve-process.ts';

after(removeTempDirs);

function get(
  url: string,
  ca: string,
  headers: Record<string, string> = {},
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { ca, headers, servername: 'localhost' }, (res) => {
      let body = '';
      res.on('data', (d) => {
        body += d;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

/** A self-signed certificate for localhost and 127.0.0.1, made by openssl in `dir`. */
function makeCertificate(dir: string): { cert: string; key: string } {
  const cert = join(dir, 'cert.pem');
  const key = join(dir, 'key.pem');
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-nodes',
      '-keyout',
      key,
      '-out',
      cert,
      '-days',
      '1',
      '-subj',
      '/CN=localhost',
      '-addext',
      'subjectAltName=DNS:localhost,IP:127.0.0.1',
    ],
    { stdio: 'ignore' },
  );
  return { cert, key };
}

/** The body timeout of the servers here; the shutdown grace period is 5 s more (src/server/start.ts). */
const BODY_TIMEOUT_MS = 25_000;

/** `evident serve` over TLS with this certificate and key. */
const serveTls = (dir: string, cert: string, key: string) =>
  startServeProcess(dir, [
    '--port',
    '0',
    '--tls-cert',
    cert,
    '--tls-key',
    key,
    '--body-timeout-ms',
    String(BODY_TIMEOUT_MS),
  ]);

it('serves HTTPS with the given certificate, refuses plain HTTP, and closes an unused connection at shutdown', async () => {
  ensureBuilt();
  const dir = tempDir();
  const { cert, key } = makeCertificate(dir);
  assert.equal((await run(['init', '--origin', 'tls.test/default'], { cwd: dir })).code, 0);
  const s = await serveTls(dir, cert, key);
  const url = s.url;
  try {
    const ca = execFileSync('cat', [cert], { encoding: 'utf8' });
    const health = await get(`${url}/healthz`, ca);
    assert.equal(health.status, 200);
    const vkey = await get(`${url}/v1/logs/default/key`, ca);
    assert.equal(vkey.status, 401, 'the verifier key needs a key unless made public');
    // the same port does not answer in clear text
    await assert.rejects(fetch(url.replace('https:', 'http:') + '/healthz'));

    // A TLS connection that never sends a request (as a browser keeps one) does not hold
    // shutdown: SIGTERM closes it at once, not when the grace period ends.
    const unused = connect({
      host: '127.0.0.1',
      port: Number(new URL(url).port),
      ca,
      servername: 'localhost',
    });
    await once(unused, 'secureConnect');
    unused.on('error', () => {});
    const closed = once(unused, 'close');
    const t0 = Date.now();
    s.child.kill('SIGTERM');
    await closed;
    assert.equal(await s.exit, 0);
    const elapsed = Date.now() - t0;
    assert.ok(
      elapsed < BODY_TIMEOUT_MS + 5000,
      `exited ${elapsed} ms after SIGTERM, within the grace period`,
    );
  } finally {
    await s.stop();
    assert.equal(await s.exit, 0);
  }
});

it('a TLS connection whose handshake ends after SIGTERM, with no request on it, is closed at once', async () => {
  ensureBuilt();
  const dir = tempDir();
  const { cert, key } = makeCertificate(dir);
  assert.equal((await run(['init', '--origin', 'tls.test/default'], { cwd: dir })).code, 0);
  // The grace period is 30 s (the body timeout plus 5 s): a close later than 20 s came from its cut.
  const s = await serveTls(dir, cert, key);
  const port = Number(new URL(s.url).port);
  // A relay that passes the ClientHello on and holds the client's next flight (its Finished) until
  // released: the server ends the handshake only when told, here after shutdown began.
  const held: Buffer[] = [];
  let upstream: Socket | undefined;
  const relay = createTcpServer((client) => {
    const up = connectTcp(port, '127.0.0.1');
    upstream = up;
    let first = true;
    client.on('data', (d: Buffer) => {
      if (first) up.write(d);
      else held.push(d);
      first = false;
    });
    up.on('data', (d) => client.write(d));
    for (const [a, b] of [
      [client, up],
      [up, client],
    ] as const) {
      a.on('error', () => {});
      a.on('close', () => b.destroy());
    }
  });
  await new Promise<void>((resolve) => relay.listen(0, '127.0.0.1', resolve));
  try {
    const ca = execFileSync('cat', [cert], { encoding: 'utf8' });
    const unused = connect({
      host: '127.0.0.1',
      port: (relay.address() as { port: number }).port,
      ca,
      servername: 'localhost',
    });
    unused.on('error', () => {});
    const closed = once(unused, 'close');
    // TLS 1.3: the client is done once it has the server's flight; the server waits for its Finished.
    await once(unused, 'secureConnect');
    s.child.kill('SIGTERM');
    // Shutdown began once the port refuses connections.
    for (;;) {
      const probe = connectTcp(port, '127.0.0.1');
      const refused = await new Promise<boolean>((resolve) => {
        probe.once('error', () => resolve(true));
        probe.once('connect', () => resolve(false));
      });
      probe.destroy();
      if (refused) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    upstream!.write(Buffer.concat(held.splice(0)));
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      closed,
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error('the connection was not closed within 20 s')), 20_000);
      }),
    ]).finally(() => clearTimeout(timer));
    assert.equal(await s.exit, 0, s.output());
  } finally {
    relay.close();
    await s.stop();
  }
});
