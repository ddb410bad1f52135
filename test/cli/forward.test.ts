import assert from 'node:assert/strict';
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, readFileSync } from 'node:fs';
import * as http from 'node:http';
import * as net from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import * as tls from 'node:tls';
import { BIN, ensureBuilt, errorOf, event, lines, removeTempDirs, run, tempDir } from './helpers.ts';

const N = 1000;
let dir: string;
/** What a test left running (servers, their sockets, forwarders): ended after the tests, pass or fail. */
const leftovers: (() => void)[] = [];

/** A syslog receiver over TCP (or TLS) that reads octet-counted frames (RFC 6587 §3.4.1) strictly. */
function receiver(
  o: { tls?: { key: Buffer; cert: Buffer }; port?: number; onMessage?: (count: number) => void } = {},
) {
  const messages: string[] = [];
  const onSocket = (s: net.Socket) => {
    leftovers.push(() => s.destroy());
    let buf = Buffer.alloc(0);
    s.on('data', (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      for (;;) {
        const sp = buf.indexOf(0x20);
        if (sp < 0) return;
        const lenText = buf.subarray(0, sp).toString('ascii');
        assert.match(lenText, /^[1-9][0-9]*$/, 'an octet count');
        const len = Number(lenText);
        if (buf.length < sp + 1 + len) return;
        messages.push(buf.subarray(sp + 1, sp + 1 + len).toString('utf8'));
        buf = buf.subarray(sp + 1 + len);
        o.onMessage?.(messages.length);
      }
    });
    s.on('error', () => {});
  };
  const server = o.tls
    ? tls.createServer({ key: o.tls.key, cert: o.tls.cert }, onSocket)
    : net.createServer(onSocket);
  leftovers.push(() => server.close());
  const listening = new Promise<number>((resolve) =>
    server.listen(o.port ?? 0, '127.0.0.1', () => resolve((server.address() as net.AddressInfo).port)),
  );
  return {
    server,
    messages,
    listening,
    indexes: () => messages.map((m) => Number(/ index="(\d+)"/.exec(m)![1])),
  };
}

function start(args: string[]): { child: ChildProcess; out: () => string; exited: Promise<number> } {
  const child = spawn(process.execPath, [BIN, 'forward', ...args], {
    cwd: dir,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  leftovers.push(() => child.kill('SIGKILL'));
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  const exited = once(child, 'exit').then(([code, signal]) => (code ?? (signal ? -1 : 0)) as number);
  return { child, out: () => out, exited };
}

const state = (name: string) => JSON.parse(readFileSync(join(dir, name), 'utf8')) as { next_index: number };

describe('evident forward', () => {
  before(async () => {
    ensureBuilt();
    dir = tempDir();
    const init = await run(['init', '--origin', 'forward.test/default'], { cwd: dir });
    assert.equal(init.code, 0, init.stderr);
    const r = await run(['append'], {
      cwd: dir,
      input: lines(Array.from({ length: N }, (_, i) => event(i))),
    });
    assert.equal(r.code, 0, r.stderr);
  });
  after(() => {
    for (const end of leftovers) end();
    removeTempDirs();
  });

  it('SIGKILL mid-stream, then a restart: every entry arrives at least once, the cursor resumed', async () => {
    let fwd: ReturnType<typeof start> | undefined;
    const rx = receiver({ onMessage: (n) => n === 100 && fwd?.child.kill('SIGKILL') });
    const port = await rx.listening;
    const to = `syslog+tcp://127.0.0.1:${port}`;
    fwd = start(['--to', to, '--batch', '10', '--poll-ms', '50', '--state', 'kill.json']);
    assert.equal(await fwd.exited, -1, fwd.out());
    const cursor = state('kill.json').next_index;
    assert.ok(cursor > 0 && cursor < N, `killed mid-stream (cursor ${cursor})`);
    // What the forwarder wrote before it died is still on its way through the loopback socket:
    // the receiver gets it all, so wait (boundedly) for it before comparing with the cursor.
    for (let t = 0; t < 100 && rx.messages.length < cursor; t++) await new Promise((r) => setTimeout(r, 50));
    assert.ok(rx.messages.length >= cursor, 'the cursor never runs ahead of what the receiver took');
    const before = rx.messages.length;
    const again = start(['--to', to, '--batch', '10', '--state', 'kill.json', '--once']);
    assert.equal(await again.exited, 0, again.out());
    assert.match(again.out(), new RegExp(`"msg":"forward started".*"from":${cursor}`));
    assert.equal(state('kill.json').next_index, N);
    const seen = new Set(rx.indexes());
    for (let i = 0; i < N; i++) assert.ok(seen.has(i), `entry ${i} delivered`);
    // resumed from the cursor, not from 0: at most what was sent after the last stored cursor is sent twice
    assert.equal(rx.messages.length - before, N - cursor);
    assert.ok(rx.messages.length - N <= before - cursor && before - cursor <= 10 * 2);
    assert.match(
      rx.messages[0]!,
      /^<\d+>1 \S+ forward\.test evident - read \[evident@32473 origin="forward\.test\/default" index="0"/,
    );
    rx.server.close();
  });

  it('a receiver that is down: retries with growing delays, then delivers', async () => {
    const probe = net.createServer();
    await new Promise<void>((r) => probe.listen(0, '127.0.0.1', () => r()));
    const port = (probe.address() as net.AddressInfo).port;
    await new Promise<void>((r) => probe.close(() => r()));
    const fwd = start([
      '--to',
      `syslog+tcp://127.0.0.1:${port}`,
      '--format',
      'cef',
      '--batch',
      '500',
      '--state',
      'down.json',
      '--once',
    ]);
    // wait for two failed attempts before the receiver comes up
    for (let i = 0; i < 400 && (fwd.out().match(/"msg":"retry"/g) ?? []).length < 2; i++)
      await new Promise((r) => setTimeout(r, 25));
    assert.equal((fwd.out().match(/"msg":"retry"/g) ?? []).length >= 2, true, fwd.out());
    assert.ok(!existsSync(join(dir, 'down.json')), 'nothing acknowledged, no cursor');
    const rx = receiver({ port });
    await rx.listening;
    assert.equal(await fwd.exited, 0, fwd.out());
    assert.match(fwd.out(), /"msg":"retry".*"code":"DELIVERY_FAILED"/);
    assert.equal(new Set(rx.messages.map((m) => /cn1=(\d+)/.exec(m)![1])).size, N);
    assert.match(rx.messages[0]!, /^CEF:0\|evident\|evident\|/);
    rx.server.close();
  });

  it('over TLS with --ca (a self-signed certificate made here); without it the certificate is refused', async (t) => {
    let cert: Buffer;
    let key: Buffer;
    try {
      execFileSync(
        'openssl',
        [
          'req',
          '-x509',
          '-newkey',
          'ec',
          '-pkeyopt',
          'ec_paramgen_curve:P-256',
          '-nodes',
          '-keyout',
          join(dir, 'key.pem'),
          '-out',
          join(dir, 'cert.pem'),
          '-days',
          '1',
          '-subj',
          '/CN=localhost',
          '-addext',
          'subjectAltName=DNS:localhost,IP:127.0.0.1',
        ],
        { stdio: 'ignore' },
      );
      cert = readFileSync(join(dir, 'cert.pem'));
      key = readFileSync(join(dir, 'key.pem'));
    } catch {
      if (process.env['CI'] === 'true') throw new Error('openssl is needed for the TLS forward test');
      t.skip('openssl is not installed: no certificate for the TLS receiver');
      return;
    }
    const rx = receiver({ tls: { key, cert } });
    const port = await rx.listening;
    const to = `syslog+tls://localhost:${port}`;
    const refused = await run(
      ['forward', '--to', to, '--state', 'tls-no-ca.json', '--once', '--max-attempts', '1', '--json'],
      { cwd: dir },
    );
    assert.equal(refused.code, 2, refused.stdout + refused.stderr);
    assert.equal(errorOf(refused).code, 'DELIVERY_FAILED');
    const ok = await run(
      [
        'forward',
        '--to',
        to,
        '--ca',
        'cert.pem',
        '--format',
        'ocsf',
        '--batch',
        '1000',
        '--state',
        'tls.json',
        '--once',
      ],
      { cwd: dir },
    );
    assert.equal(ok.code, 0, ok.stdout + ok.stderr);
    assert.equal(rx.messages.length, N);
    const first = JSON.parse(rx.messages[0]!);
    assert.equal(first.class_uid, 6003);
    assert.equal(first.unmapped.evident_index, 0);
    rx.server.close();
  });

  it('to a webhook: JSON arrays, 2xx acknowledges, a 500 is retried; follows new entries until SIGTERM', async () => {
    const got: Record<string, unknown>[] = [];
    let posts = 0;
    const server = http.createServer((req, res) => {
      leftovers.push(() => req.socket.destroy());
      let body = '';
      req.on('data', (d) => (body += d));
      req.on('end', () => {
        posts++;
        if (posts === 2) {
          res.writeHead(500).end();
          return;
        }
        got.push(...(JSON.parse(body) as Record<string, unknown>[]));
        res.writeHead(204).end();
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    const port = (server.address() as net.AddressInfo).port;
    leftovers.push(() => server.close());
    const fwd = start([
      '--to',
      `http://127.0.0.1:${port}/hook`,
      '--batch',
      '1000',
      '--poll-ms',
      '50',
      '--state',
      'hook.json',
    ]);
    const until = async (f: () => boolean) => {
      for (let i = 0; i < 400 && !f(); i++) await new Promise((r) => setTimeout(r, 25));
      assert.ok(f(), fwd.out());
    };
    await until(() => got.length >= N);
    const more = await run(['append'], { cwd: dir, input: lines([event(N), event(N + 1)]) });
    assert.equal(more.code, 0, more.stderr);
    await until(() => got.length >= N + 2);
    fwd.child.kill('SIGTERM');
    assert.equal(await fwd.exited, 0, fwd.out());
    assert.match(fwd.out(), /"msg":"retry".*"status":500|"msg":"retry".*answered 500/);
    const idx = new Set(got.map((r) => r['index']));
    for (let i = 0; i < N + 2; i++) assert.ok(idx.has(i), `entry ${i} delivered`);
    assert.equal(got[0]!['origin'], 'forward.test/default');
    assert.match(String(got[0]!['leaf_hash']), /^[0-9a-f]{64}$/);
    assert.equal(state('hook.json').next_index, N + 2);
    server.close();
  });

  it('refuses a bad target, a format the target does not take, and a state of another target', async () => {
    let r = await run(['forward', '--to', 'ftp://x', '--json'], { cwd: dir });
    assert.equal(r.code, 2);
    assert.equal(errorOf(r).code, 'USAGE');
    r = await run(['forward', '--to', 'https://127.0.0.1:1/h', '--format', 'csv', '--json'], { cwd: dir });
    assert.equal(errorOf(r).code, 'USAGE');
    r = await run(
      ['forward', '--to', 'syslog+tcp://127.0.0.1:9', '--state', 'hook.json', '--once', '--json'],
      { cwd: dir },
    );
    assert.equal(r.code, 2);
    assert.equal(errorOf(r).code, 'USAGE');
  });
});
