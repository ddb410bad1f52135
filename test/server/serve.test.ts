/** The real `evident serve` process: HTTP with fetch, then SIGTERM with requests in flight. */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { SERVE_SETTINGS } from '../../src/cli/actions/serve-settings.ts';
import { BIN, ensureBuilt, jsonLines, removeTempDirs, run, tempDir } from '../cli/helpers.ts';

interface Served {
  child: ChildProcess;
  url: string;
  stdout: () => string;
  exit: Promise<number | null>;
}

function startServe(cwd: string, args: string[]): Promise<Served> {
  const env = { ...process.env };
  for (const k of Object.keys(env)) if (k.startsWith('EVIDENT_')) delete env[k];
  const child = spawn(process.execPath, [BIN, 'serve', ...args], {
    cwd,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stderr!.on('data', (d) => {
    err += d;
  });
  const exit = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`serve did not start: ${out}${err}`)), 10_000);
    child.stdout!.on('data', (d) => {
      out += d;
      const m = /Server listening at (http:\/\/127\.0\.0\.1:\d+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve({ child, url: m[1]!, stdout: () => out, exit });
      }
    });
    child.on('exit', (code) => reject(new Error(`serve exited ${code}: ${out}${err}`)));
  });
}

const event = (i: number) => ({
  actor_id: `user-${i % 7}`,
  actor_type: 'user',
  action: 'read',
  resource_type: 'record',
  resource_id: `r-${i}`,
  result: 'success',
  ip_address: '192.0.2.7',
});

describe('evident serve (a real process)', () => {
  let dir: string;
  before(async () => {
    ensureBuilt();
    dir = tempDir();
    const init = await run(['init', '--origin', 'audit.test/default'], { cwd: dir });
    assert.equal(init.code, 0, init.stderr);
  });
  after(() => removeTempDirs());

  it('lists every setting with its default in --help', async () => {
    const r = await run(['serve', '--help'], { cwd: dir });
    assert.equal(r.code, 0);
    for (const s of SERVE_SETTINGS) {
      assert.match(r.stdout, new RegExp(`--${s.flag}\\b`), s.flag);
      assert.ok(r.stdout.includes(`$${s.env}`), s.env);
      assert.ok(r.stdout.includes(`(default: ${s.default})`), `${s.flag} default`);
    }
  });

  it('creates, lists and revokes API keys, showing a key once and never a secret again', async () => {
    const c = await run(
      [
        'keys',
        'create',
        '--log',
        'default,other',
        '--allow-missing-log',
        '--scope',
        'read,verify',
        '--description',
        'auditor',
        '--json',
      ],
      {
        cwd: dir,
      },
    );
    assert.equal(c.code, 0, c.stderr);
    const created = JSON.parse(c.stdout);
    assert.match(created.key, /^evk_[0-9a-f]{12}_[A-Za-z0-9_-]{43}$/);
    assert.deepEqual(created.scopes, ['read', 'verify']);
    const list = await run(['keys', 'list', '--json'], { cwd: dir });
    const rows = jsonLines(list.stdout);
    assert.ok(rows.some((k) => k['id'] === created.id));
    assert.ok(!list.stdout.includes(created.key.slice(17)), 'no secret in the list');
    assert.ok(!list.stdout.includes('secret'), 'not even its hash');
    const bad = await run(['keys', 'create', '--log', '../x', '--scope', 'read'], { cwd: dir });
    assert.equal(bad.code, 2);
    const badScope = await run(['keys', 'create', '--log', 'default', '--scope', 'root'], { cwd: dir });
    assert.equal(badScope.code, 2);
    const rv = await run(['keys', 'revoke', created.id, '--json'], { cwd: dir });
    assert.equal(rv.code, 0, rv.stderr);
    assert.ok(JSON.parse(rv.stdout).revoked_at);
    const missing = await run(['keys', 'revoke', '000000000000'], { cwd: dir });
    assert.equal(missing.code, 2);
  });

  it('serves HTTP, logs JSON lines, and on SIGTERM commits what is pending and exits 0', async () => {
    const k = await run(['keys', 'create', '--log', 'default', '--scope', 'ingest,read', '--json'], {
      cwd: dir,
    });
    const key = JSON.parse(k.stdout).key as string;
    const s = await startServe(dir, ['--port', '0', '--key', join(dir, 'evident.key')]);
    const headers = { authorization: `Bearer ${key}`, 'content-type': 'application/json' };
    const post = (n: number, from: number) =>
      fetch(`${s.url}/v1/logs/default/events`, {
        method: 'POST',
        headers,
        body: JSON.stringify(Array.from({ length: n }, (_, i) => event(from + i))),
      });
    const first = await post(10, 0);
    assert.equal(first.status, 201);
    const q = await fetch(`${s.url}/v1/logs/default/events?limit=5`, { headers });
    assert.equal(q.status, 200);
    assert.equal(((await q.json()) as { entries: unknown[] }).entries.length, 5);

    // Many requests in flight, then SIGTERM as soon as the first of them is answered.
    const inflight = Array.from({ length: 24 }, (_, i) =>
      post(50, 1000 + i * 50).then(
        async (r) => ({ status: r.status, body: (await r.json()) as { receipts?: { id: string }[] } }),
        () => ({ status: 0, body: {} as { receipts?: { id: string }[] } }),
      ),
    );
    await Promise.race(inflight);
    s.child.kill('SIGTERM');
    const results = await Promise.all(inflight);
    const code = await s.exit;
    assert.equal(code, 0, s.stdout());
    const accepted = results.filter((r) => r.status === 201);
    assert.ok(accepted.length >= 1);
    assert.ok(
      results.every((r) => [201, 503, 0].includes(r.status)),
      JSON.stringify(results.map((r) => r.status)),
    );

    // Every receipt given is in the log, and the log verifies up to a last checkpoint of its full size.
    const all = await run(['query', '--limit', '100000', '--json'], { cwd: dir });
    const ids = new Set(jsonLines(all.stdout).map((e) => e['id']));
    for (const r of accepted) for (const rc of r.body.receipts!) assert.ok(ids.has(rc.id), rc.id);
    const v = await run(['verify', '--json'], { cwd: dir });
    assert.equal(v.code, 0, v.stdout + v.stderr);
    const report = JSON.parse(v.stdout);
    assert.equal(report.verified_size, report.entries, 'the last checkpoint covers every entry');

    const lines = s.stdout().trim().split('\n');
    for (const l of lines) JSON.parse(l);
    const requests = lines.map((l) => JSON.parse(l)).filter((l) => l.msg === 'request');
    assert.ok(requests.length >= 3);
    assert.ok(requests.every((l) => typeof l.status === 'number' && typeof l.route === 'string'));
    assert.ok(!s.stdout().includes(key.slice(17)), 'no secret in the logs');
  });
});
