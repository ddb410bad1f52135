/**
 * A server started in the background the documented ways stops when killed and
 * frees its port. `npx evident serve &` then `kill $!` signals npm, not node: the server must
 * still stop (it watches the npm process that started it). `node_modules/.bin/evident serve &`
 * then `kill $!` signals the server itself. Each run is a real shell, npm and app folder with
 * evident installed in its node_modules (a link to this checkout, as `npm install <path>` makes).
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { freePort, killAll } from '../server/cluster.ts';
import { BIN, ensureBuilt, ROOT, removeTempDirs, tempDir } from './helpers.ts';

before(ensureBuilt);
after(() => {
  killAll();
  removeTempDirs();
});

/** An application folder with evident in node_modules and its bin linked, and a store. */
function appFolder(): string {
  const app = tempDir();
  writeFileSync(join(app, 'package.json'), '{"name":"app","private":true}\n');
  mkdirSync(join(app, 'node_modules', '.bin'), { recursive: true });
  symlinkSync(ROOT, join(app, 'node_modules', 'evident'));
  symlinkSync('../evident/bin/evident.js', join(app, 'node_modules', '.bin', 'evident'));
  execFileSync(process.execPath, [BIN, 'init', '--origin', 'bg.test/default'], { cwd: app, stdio: 'ignore' });
  return app;
}

const listening = (port: number): Promise<boolean> =>
  new Promise((resolve) => {
    const s = connect({ host: '127.0.0.1', port });
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });

async function until(what: string, ms: number, f: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await f())) {
    if (Date.now() > deadline) assert.fail(`${what}: not within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** Runs `LAUNCH ... &` in sh, returns `$!` (what `kill $!` would signal). */
function background(app: string, launch: string, port: number): number {
  const env = { ...process.env };
  for (const k of Object.keys(env)) if (k.startsWith('EVIDENT_') || k.startsWith('npm_')) delete env[k];
  const out = execFileSync(
    'sh',
    ['-c', `${launch} serve --host 127.0.0.1 --port ${port} > serve.log 2>&1 &\necho $!`],
    { cwd: app, env, encoding: 'utf8' },
  );
  return Number(out.trim());
}

describe('a server started in the background, then killed', () => {
  for (const launch of ['npx evident', 'node_modules/.bin/evident']) {
    test(`${launch} serve & ... kill $!: the server stops gracefully and frees its port`, async () => {
      const app = appFolder();
      const port = await freePort();
      const pid = background(app, launch, port);
      try {
        await until('listening', 90_000, () => listening(port));
        process.kill(pid, 'SIGTERM'); // kill $!
        await until('port freed', 20_000, async () => !(await listening(port)));
        // graceful: the last checkpoint signed and the store closed, then "stopped"
        await until('stopped', 20_000, async () =>
          readFileSync(join(app, 'serve.log'), 'utf8').includes('"msg":"stopped"'),
        ).catch((e: Error) => {
          // What the server said on its way down names what it was still waiting for.
          const tail = readFileSync(join(app, 'serve.log'), 'utf8').trim().split('\n').slice(-15).join('\n');
          throw new Error(`${e.message}; the end of serve.log:\n${tail}`);
        });
      } finally {
        // never leave a server behind, whatever failed: the server's own pid is in its log lines
        const m = /"pid":(\d+)/.exec(readFileSync(join(app, 'serve.log'), 'utf8'));
        if (m) {
          try {
            process.kill(Number(m[1]), 'SIGKILL');
          } catch {
            // already gone: what the test wants
          }
        }
      }
    });
  }
});
