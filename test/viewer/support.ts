/**
 * Drives the viewer in Debian's Chromium (playwright-core, never a downloaded browser) against a
 * real `evident serve` child process on a real SQLite file. Without /usr/bin/chromium the tests
 * skip with a message, and fail under CI=true.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BIN, ROOT, run } from '../cli/helpers.ts';

export const CHROMIUM = '/usr/bin/chromium';
export const ARTIFACTS = join(ROOT, 'test-artifacts', 'viewer');

/** Why the browser tests cannot run here, or undefined when they can; under CI a missing browser is a failure. */
export function browserMissing(): string | undefined {
  if (existsSync(CHROMIUM)) return undefined;
  const why = `${CHROMIUM} is missing (apt-get install -y chromium)`;
  if (process.env['CI'] === 'true') throw new Error(`viewer tests need Chromium under CI: ${why}`);
  return why;
}

export async function launch(viewport = { width: 1280, height: 800 }) {
  const { chromium } = await import('playwright-core');
  const profile = mkdtempSync(join(tmpdir(), 'evident-viewer-profile-'));
  return chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    viewport,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

export interface Served {
  url: string;
  child: ChildProcess;
  stop(): Promise<void>;
}

/** `evident serve` on the directory's evident.db and evident.key, on this port; resolves once it answers. */
export async function serve(dir: string, port: number, extra: readonly string[] = []): Promise<Served> {
  const env = { ...process.env };
  delete env['EVIDENT_DB'];
  delete env['EVIDENT_KEY'];
  delete env['EVIDENT_SIGNING_KEY'];
  const child = spawn(
    process.execPath,
    [
      BIN,
      'serve',
      '--port',
      String(port),
      '--log-level',
      'warn',
      '--checkpoint-interval-ms',
      '200',
      ...extra,
    ],
    { cwd: dir, env, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let stderr = '';
  child.stderr!.on('data', (b) => {
    stderr += b;
  });
  child.stdout!.resume();
  const url = `http://127.0.0.1:${port}`;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  for (let i = 0; ; i++) {
    try {
      const r = await fetch(`${url}/healthz`);
      if (r.ok) break;
    } catch {}
    if (child.exitCode !== null || i > 200) throw new Error(`evident serve did not start: ${stderr}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    url,
    child,
    async stop() {
      if (child.exitCode === null) {
        // A browser holds pre-opened sockets that never carried a request; the server waits
        // out its grace period for those, so after 2 s the test cuts it short.
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 2000);
        await exited;
        clearTimeout(timer);
      }
    },
  };
}

const HOUR = 3_600_000;

/** Events for the three questions: alice's reads over 40 days, bob's record access, mallory's failures. */
export function sampleEvents(): Record<string, unknown>[] {
  const out: Record<string, unknown>[] = [];
  const ev = (o: Record<string, unknown>, hoursAgo: number) => ({
    timestamp: new Date(Date.now() - hoursAgo * HOUR).toISOString(),
    actor_type: 'user',
    action: 'read',
    resource_type: 'patient_record',
    result: 'success',
    ip_address: '10.0.0.7',
    ...o,
  });
  for (let i = 0; i < 20; i++) out.push(ev({ actor_id: 'alice', resource_id: `p-${i % 4}` }, i * 48));
  for (let i = 0; i < 5; i++) out.push(ev({ actor_id: 'bob', resource_id: 'p-1', action: 'update' }, i + 1));
  for (let i = 0; i < 7; i++) {
    out.push(
      ev(
        {
          actor_id: 'mallory',
          resource_id: 'p-9',
          result: i % 2 ? 'denied' : 'failure',
          ip_address: '203.0.113.5',
        },
        2,
      ),
    );
  }
  return out;
}

export const jsonLines = (events: readonly unknown[]): string =>
  events.map((e) => `${JSON.stringify(e)}\n`).join('');

/** A log in a new directory: init, the events, a read+verify key; returns the API key and verifier key. */
export async function makeLog(
  dir: string,
  events: readonly unknown[],
): Promise<{ apiKey: string; vkey: string }> {
  mkdirSync(dir, { recursive: true });
  const init = await run(['init', '--origin', 'audit.example.com/default'], { cwd: dir });
  if (init.code !== 0) throw new Error(init.stderr);
  await append(dir, events);
  const key = await run(['keys', 'create', '--log', 'default', '--scope', 'read,verify'], { cwd: dir });
  if (key.code !== 0) throw new Error(key.stderr);
  const vkey = await run(['key'], { cwd: dir });
  return { apiKey: key.stdout.trim(), vkey: vkey.stdout.trim() };
}

export async function append(dir: string, events: readonly unknown[]): Promise<void> {
  const r = await run(['append'], { cwd: dir, input: jsonLines(events) });
  if (r.code !== 0) throw new Error(r.stderr);
  const c = await run(['checkpoint'], { cwd: dir });
  if (c.code !== 0) throw new Error(c.stderr);
}

/**
 * A server that lies: it forwards every request to the real one, and passes each answer body
 * through `rewrite` (by path) before the page sees it. What the page must catch on its own.
 */
export async function lyingProxy(
  upstream: string,
  port: number,
  rewrite: (path: string, body: string) => string,
): Promise<{ url: string; close(): Promise<void> }> {
  const { createServer: createHttp } = await import('node:http');
  const server = createHttp(async (req, res) => {
    const headers: Record<string, string> = {};
    if (req.headers.authorization) headers['authorization'] = req.headers.authorization;
    const r = await fetch(upstream + req.url, { method: req.method ?? 'GET', headers });
    const body = rewrite(req.url!.split('?')[0]!, await r.text());
    const out: Record<string, string> = {};
    for (const h of ['content-type', 'content-security-policy']) {
      const v = r.headers.get(h);
      if (v) out[h] = v;
    }
    res.writeHead(r.status, out);
    res.end(body);
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', () => resolve()));
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
