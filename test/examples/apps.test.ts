/**
 * The Express and Fastify examples (examples/) run as they are, as a user would run them: each in
 * its own process next to a new log, driven over HTTP, stopped with SIGTERM; then `evident query`
 * and `evident verify` must show exactly the expected events. The FastAPI example runs in the
 * Python suite (clients/python/tests/test_crash.py).
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { ensureBuilt, jsonLines, ROOT, removeTempDirs, run, tempDir } from '../cli/helpers.ts';
import { freePort } from '../server/cluster.ts';

const TSX = import.meta.resolve('tsx');

interface App {
  child: ChildProcess;
  url: string;
  output: () => string;
}

async function startExample(name: string, cwd: string): Promise<App> {
  const port = await freePort();
  const child = spawn(process.execPath, ['--import', TSX, join(ROOT, 'examples', name, 'app.ts')], {
    cwd,
    env: { ...process.env, PORT: String(port), EVIDENT_DB: 'evident.db', EVIDENT_KEY: 'evident.key' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let text = '';
  child.stdout!.on('data', (d: Buffer) => (text += d));
  child.stderr!.on('data', (d: Buffer) => (text += d));
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 200; i++) {
    if (child.exitCode !== null) break;
    const up = await fetch(`${url}/health`).then(
      (r) => r.ok,
      () => false,
    );
    if (up) return { child, url, output: () => text };
    await new Promise((r) => setTimeout(r, 100));
  }
  child.kill('SIGKILL');
  throw new Error(`examples/${name} did not start:\n${text}`);
}

async function stop(app: App): Promise<void> {
  const exited = once(app.child, 'exit');
  app.child.kill('SIGTERM');
  const [code, signal] = (await exited) as [number | null, string | null];
  assert.ok(code === 0 || signal === 'SIGTERM', `exit ${code} ${signal}:\n${app.output()}`);
}

interface Row {
  actor_id: string;
  action: string;
  resource_type: string;
  resource_id: string;
  result: string;
  ip_address: string;
  changed_fields?: string[];
  old_values?: Record<string, unknown>;
  new_values?: Record<string, unknown>;
}

after(removeTempDirs);

for (const name of ['express', 'fastify']) {
  describe(`examples/${name}/app.ts`, () => {
    it('audits every kind of request end to end, and the log verifies', { timeout: 60_000 }, async () => {
      ensureBuilt();
      const dir = tempDir();
      assert.equal((await run(['init'], { cwd: dir })).code, 0);
      const app = await startExample(name, dir);
      try {
        const call = (method: string, path: string, headers: Record<string, string> = {}, body?: unknown) =>
          fetch(`${app.url}${path}`, {
            method,
            headers: { ...headers, ...(body ? { 'content-type': 'application/json' } : {}) },
            ...(body ? { body: JSON.stringify(body) } : {}),
          });
        assert.equal((await call('GET', '/health')).status, 200);
        assert.equal((await call('POST', '/login', {}, { password: 'wrong' })).status, 401);
        assert.equal((await call('POST', '/login', {}, { password: 'demo' })).status, 204);
        const nurse = { 'x-user': 'nurse-7', 'x-forwarded-for': '203.0.113.9' };
        assert.equal((await call('GET', '/patients/p1', nurse)).status, 200);
        assert.equal((await call('GET', '/patients/p404', nurse)).status, 404);
        assert.equal((await call('PATCH', '/patients/p1', nurse, { name: 'Ada King' })).status, 200);
      } finally {
        await stop(app);
      }

      const q = await run(['query', '--json', '--limit', '100'], { cwd: dir });
      assert.equal(q.code, 0, q.stderr);
      const rows = jsonLines<Row>(q.stdout);
      const summary = rows.map((r) => [r.actor_id, r.action, r.resource_type, r.resource_id, r.result]);
      assert.deepEqual(summary, [
        ['anonymous', 'login', 'session', 'new', 'denied'],
        ['anonymous', 'login', 'session', 'new', 'success'],
        ['nurse-7', 'patient.read', 'patients', 'p1', 'success'],
        ['nurse-7', 'patient.read', 'patients', 'p404', 'failure'],
        ['nurse-7', 'patient.update', 'patients', 'p1', 'success'],
      ]);
      // The examples trust only the loopback proxy, and the requests came from loopback.
      assert.deepEqual(
        rows.map((r) => r.ip_address),
        ['127.0.0.1', '127.0.0.1', '203.0.113.9', '203.0.113.9', '203.0.113.9'],
      );
      const update = rows[4]!;
      assert.deepEqual(update.changed_fields, ['name']);
      assert.deepEqual(update.old_values, { name: 'Ada Lovelace' });
      assert.deepEqual(update.new_values, { name: 'Ada King' });

      const v = await run(['verify'], { cwd: dir });
      assert.equal(v.code, 0, v.stdout + v.stderr);
    });
  });
}
