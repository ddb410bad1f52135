/**
 * An entry point whose optional peer is not installed says which package and
 * which versions, with a coded error (DEPENDENCY_MISSING). Each case runs in a child process
 * against a real installed copy of the package (dist, bin, package.json under
 * TMP/node_modules/evident) beside its runtime dependencies and only the peers the case keeps:
 * the import of the missing peer fails exactly as in an application that never installed it.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { cpSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { PEERS } from '../../src/core/peers.ts';
import { ensureBuilt, ROOT, removeTempDirs, tempDir } from './helpers.ts';

before(ensureBuilt);
after(removeTempDirs);

const PKG = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
  dependencies: Record<string, string>;
  peerDependencies: Record<string, string>;
  peerDependenciesMeta: Record<string, { optional?: boolean }>;
};

/** An application folder with evident installed, its dependencies, and only `peers`. */
function install(peers: readonly string[]): string {
  const app = tempDir();
  const nm = join(app, 'node_modules');
  const pkg = join(nm, 'evident');
  mkdirSync(pkg, { recursive: true });
  for (const f of ['dist', 'bin', 'package.json']) cpSync(join(ROOT, f), join(pkg, f), { recursive: true });
  for (const dep of [...Object.keys(PKG.dependencies), ...peers]) {
    mkdirSync(join(nm, dep, '..'), { recursive: true });
    symlinkSync(join(ROOT, 'node_modules', dep), join(nm, dep));
  }
  writeFileSync(join(app, 'package.json'), '{"name":"app","private":true,"type":"module"}\n');
  return app;
}

interface Outcome {
  code: number;
  stdout: string;
  stderr: string;
}

function node(app: string, args: readonly string[]): Promise<Outcome> {
  return new Promise((resolve) => {
    execFile(process.execPath, args, { cwd: app, timeout: 60_000 }, (e, stdout, stderr) =>
      resolve({ code: e ? ((e as { code?: number }).code ?? 99) : 0, stdout, stderr }),
    );
  });
}

/** Runs `call` (an expression on module `m` of `entry`) and prints the error's JSON. */
async function failure(app: string, entry: string, call: string): Promise<Record<string, unknown>> {
  const script = `import(${JSON.stringify(entry)}).then((m) => ${call}).then(
    () => console.log(JSON.stringify({ code: 'NO_ERROR' })),
    (e) => console.log(JSON.stringify(typeof e.toJSON === 'function' ? e.toJSON() : { code: e.code, message: e.message })),
  );`;
  const r = await node(app, ['--input-type=module', '-e', script]);
  assert.equal(r.code, 0, r.stderr);
  return JSON.parse(r.stdout.trim()) as Record<string, unknown>;
}

describe('a missing optional peer is DEPENDENCY_MISSING, naming the package and the range', () => {
  test('the table of peers is package.json', () => {
    assert.deepEqual({ ...PEERS }, PKG.peerDependencies);
    for (const name of Object.keys(PKG.peerDependencies)) {
      assert.equal(PKG.peerDependenciesMeta[name]?.optional, true, name);
    }
  });

  test('evident/ledger on a SQLite file without better-sqlite3', async () => {
    const app = install([]);
    const e = await failure(app, 'evident/ledger', `m.openLedger({ db: 'audit.db' })`);
    assert.equal(e['code'], 'DEPENDENCY_MISSING', JSON.stringify(e));
    assert.equal(e['package'], 'better-sqlite3');
    assert.equal(e['range'], '^12.0.0');
  });

  test('evident/postgres without pg', async () => {
    const app = install([]);
    const e = await failure(app, 'evident/postgres', `m.openPostgresStore('postgres://127.0.0.1:1/none')`);
    assert.equal(e['code'], 'DEPENDENCY_MISSING', JSON.stringify(e));
    assert.equal(e['package'], 'pg');
    assert.equal(e['range'], '^8.0.0');
  });

  test('evident/server without fastify: importing works, building a server names fastify', async () => {
    const app = install(['better-sqlite3']);
    const e = await failure(app, 'evident/server', 'm.buildServer({})');
    assert.equal(e['code'], 'DEPENDENCY_MISSING', JSON.stringify(e));
    assert.equal(e['package'], 'fastify');
    assert.equal(e['range'], '^5.12.0');
  });

  test('the S3 archive target without @aws-sdk/client-s3: the URL is checked first, then the package named', async () => {
    const app = install([]);
    const entry = join(app, 'node_modules', 'evident', 'dist', 'archive', 's3.js');
    const bad = await failure(app, entry, `m.openS3Target('s3://B/x')`);
    assert.equal(bad['code'], 'USAGE', JSON.stringify(bad));
    const e = await failure(app, entry, `m.openS3Target('s3://archive/x?endpoint=http://127.0.0.1:1')`);
    assert.equal(e['code'], 'DEPENDENCY_MISSING', JSON.stringify(e));
    assert.equal(e['package'], '@aws-sdk/client-s3');
    assert.equal(e['range'], '^3.729.0');
  });

  test('the core, evident/client and evident/express load with no peer at all', async () => {
    const app = install([]);
    for (const entry of ['evident', 'evident/client', 'evident/express', 'evident/fastify']) {
      const r = await node(app, ['--input-type=module', '-e', `await import(${JSON.stringify(entry)})`]);
      assert.equal(r.code, 0, `${entry}: ${r.stderr}`);
    }
  });

  test('the CLI: init without better-sqlite3, serve without fastify: exit 2 and the coded error', async () => {
    const bare = install([]);
    const bin = join('node_modules', 'evident', 'bin', 'evident.js');
    const init = await node(bare, [bin, 'init', '--origin', 'peer.test/default', '--json']);
    assert.equal(init.code, 2, init.stderr);
    const ie = JSON.parse(init.stderr.trim().split('\n').pop()!) as Record<string, unknown>;
    assert.equal(ie['code'], 'DEPENDENCY_MISSING');
    assert.equal(ie['package'], 'better-sqlite3');

    const sqlite = install(['better-sqlite3']);
    assert.equal((await node(sqlite, [bin, 'init', '--origin', 'peer.test/default'])).code, 0);
    const serve = await node(sqlite, [bin, 'serve', '--port', '0', '--json']);
    assert.equal(serve.code, 2, serve.stderr);
    const se = JSON.parse(serve.stderr.trim().split('\n').pop()!) as Record<string, unknown>;
    assert.equal(se['code'], 'DEPENDENCY_MISSING');
    assert.equal(se['package'], 'fastify');
    assert.equal(se['range'], '^5.12.0');
  });
});
