/**
 * Logs over two PostgreSQL clusters (docs/clusters.md), with real parts only: two private
 * clusters (initdb, pg_ctl), six logs spread over them, three `evident serve` processes with the
 * same cluster map. Appends through every server reach each log's cluster and no other; a log
 * moved with `evident logs move` keeps its proofs and checkpoints, its old copy refuses writes
 * (in the database itself), and a server with the old map gets LOG_MOVED instead of writing it;
 * with one cluster stopped, /readyz names it down and the other cluster's logs still append.
 *
 * It needs the PostgreSQL server binaries (EVIDENT_TEST_PG_BIN, else /usr/lib/postgresql/N/bin)
 * and, as root, runuser; without them it is skipped with a message (and fails under CI=true).
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import pg from 'pg';
import { parseCheckpoint } from '../../src/core/checkpoint.ts';
import { verifyConsistency, verifyInclusion } from '../../src/core/merkle/verify.ts';
import { run } from '../cli/helpers.ts';
import {
  cli,
  killAll,
  type PgCluster,
  postgresBinDir,
  type Served,
  startPgCluster,
  startServe,
  stopServe,
  verifyLog,
  withSchema,
} from '../server/cluster.ts';

const SCHEMA = 'evident_cl';
const HOST = 'clusters.test';
const ON_HOME = ['l1', 'l3', 'l5'];
const ON_B = ['l2', 'l4', 'l6'];
const LOGS = ['l1', 'l2', 'l3', 'l4', 'l5', 'l6'];

const b64 = (s: string) => new Uint8Array(Buffer.from(s, 'base64'));
/** The checkpoint body of a signed note (its text before the blank line). */
const body = (note: string) => parseCheckpoint(note.slice(0, note.indexOf('\n\n') + 1));

let n = 0;
function event(): Record<string, unknown> {
  n++;
  return {
    actor_id: 'alice',
    actor_type: 'user',
    action: 'read',
    resource_type: 'record',
    resource_id: `r-${n}`,
    result: 'success',
    ip_address: '10.0.0.1',
  };
}

async function call(
  url: string,
  key: string,
  method: 'GET' | 'POST',
  path: string,
  body?: unknown,
): Promise<{ status: number; text: string; json: Record<string, unknown>; retryAfter: string | null }> {
  const r = await fetch(`${url}${path}`, {
    method,
    headers: {
      authorization: `Bearer ${key}`,
      ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
    },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  const text = await r.text();
  let json: Record<string, unknown> = {};
  try {
    json = JSON.parse(text);
  } catch {}
  return { status: r.status, text, json, retryAfter: r.headers.get('retry-after') };
}

const append = (s: Served, key: string, log: string, count = 1) =>
  call(s.url, key, 'POST', `/v1/logs/${log}/events`, Array.from({ length: count }, event));

/** Per log: the entries each cluster holds (its own rows, queried directly). */
async function rowsOn(url: string): Promise<Map<string, number>> {
  const c = new pg.Client({ connectionString: url.replace(/\?.*$/, '') });
  await c.connect();
  try {
    const { rows } = await c.query<{ name: string; n: string }>(
      `SELECT l.name, count(e.idx) AS n FROM ${SCHEMA}.logs l LEFT JOIN ${SCHEMA}.entries e USING (log_id) GROUP BY l.name`,
    );
    return new Map(rows.map((r) => [r.name, Number(r.n)]));
  } finally {
    await c.end();
  }
}

async function sql(url: string, text: string, values: unknown[] = []): Promise<pg.QueryResult> {
  const c = new pg.Client({ connectionString: url.replace(/\?.*$/, '') });
  await c.connect();
  try {
    return await c.query(text, values);
  } finally {
    await c.end();
  }
}

describe('logs over two PostgreSQL clusters', () => {
  const bin = postgresBinDir();
  const runuser = process.getuid?.() !== 0 || existsSync('/usr/sbin/runuser') || existsSync('/sbin/runuser');
  if (!bin || !runuser) {
    const why = `needs the PostgreSQL server binaries (initdb, pg_ctl: set EVIDENT_TEST_PG_BIN)${runuser ? '' : ' and runuser (as root)'}`;
    test('two clusters', (t) => {
      if (process.env['CI'] === 'true') assert.fail(`${why}: not allowed under CI`);
      t.skip(`${why}: skipped`);
    });
    return;
  }
  const dir = mkdtempSync(join(tmpdir(), 'evident-clusters-'));
  const config = join(dir, 'serve.json');
  let a: PgCluster | undefined;
  let b: PgCluster | undefined;
  let home = '';
  let onB = '';
  let key = '';
  let keyFile = '';
  const servers: Served[] = [];

  before(async () => {
    [a, b] = await Promise.all([startPgCluster(bin), startPgCluster(bin)]);
    home = withSchema(a.url, SCHEMA);
    onB = withSchema(b.url, SCHEMA);
    keyFile = join(dir, 'audit.key');
    for (const log of LOGS) {
      await cli(
        [
          'init',
          '--db',
          ON_B.includes(log) ? onB : home,
          '--key',
          keyFile,
          '--log',
          log,
          '--origin',
          `${HOST}/${log}`,
        ],
        dir,
      );
    }
    key = JSON.parse(
      (
        await cli(
          ['keys', 'create', '--db', home, '--log', '*', '--scope', 'ingest,read,verify', '--json'],
          dir,
        )
      ).stdout,
    ).key;
    writeFileSync(
      config,
      JSON.stringify({ db: home, clusters: { b: onB }, placement: { b: ON_B } }, null, 2),
    );
    for (const name of ['s1', 's2', 's3']) {
      servers.push(
        await startServe({
          name,
          cwd: dir,
          db: home,
          key: keyFile,
          args: ['--config', config, '--checkpoint-interval-ms', '0', '--log-level', 'info'],
        }),
      );
    }
  });

  after(async () => {
    await Promise.allSettled(servers.map(stopServe));
    killAll();
    await Promise.allSettled([a?.destroy(), b?.destroy()]);
    rmSync(dir, { recursive: true, force: true });
  });

  test('appends through every server reach each log on its cluster only; each log verifies', async () => {
    const sent = new Map<string, number>(LOGS.map((l) => [l, 0]));
    await Promise.all(
      servers.flatMap((s) =>
        LOGS.map(async (log) => {
          for (let i = 0; i < 3; i++) {
            const r = await append(s, key, log, 4);
            assert.equal(r.status, 201, `${s.name} ${log}: ${r.text}`);
            sent.set(log, sent.get(log)! + 4);
          }
        }),
      ),
    );
    const [onA, onBRows] = await Promise.all([rowsOn(a!.url), rowsOn(b!.url)]);
    for (const log of ON_HOME) {
      assert.ok((onA.get(log) ?? 0) >= sent.get(log)!, `${log} on home: ${onA.get(log)}`);
      assert.equal(onBRows.has(log), false, `${log} must not exist on b`);
    }
    for (const log of ON_B) {
      assert.ok((onBRows.get(log) ?? 0) >= sent.get(log)!, `${log} on b: ${onBRows.get(log)}`);
      assert.equal(onA.has(log), false, `${log} must not exist on home`);
    }
    // A checkpoint of each, then evident verify on its own cluster.
    for (const log of LOGS)
      assert.equal((await call(servers[0]!.url, key, 'GET', `/v1/logs/${log}/checkpoint`)).status, 200);
    for (const log of LOGS) {
      const v = await verifyLog(dir, ON_B.includes(log) ? onB : home, keyFile, log);
      assert.equal(v.code, 0, v.out);
      assert.equal(v.report?.ok, true);
    }
  });

  test('a log created on first use lands on its cluster; one found on another cluster is refused', async () => {
    // An admin key may create logs on first use.
    const admin = JSON.parse(
      (await cli(['keys', 'create', '--db', home, '--log', '*', '--scope', 'admin', '--json'], dir)).stdout,
    ).key as string;
    // "l7" is not placed: home. It must not be created there if another cluster holds it.
    await cli(['init', '--db', onB, '--key', keyFile, '--log', 'l7', '--origin', `${HOST}/l7`], dir);
    const r = await append(servers[0]!, admin, 'l7');
    assert.equal(r.status, 503, r.text);
    assert.equal(r.json['code'], 'LOG_MISPLACED');
    assert.equal(r.json['cluster'], 'home');
    assert.equal(r.json['found_on'], 'b');
    assert.ok(r.retryAfter);
    assert.equal((await rowsOn(a!.url)).has('l7'), false, 'nothing created on home');
    const fresh = await append(servers[1]!, admin, 'l8');
    assert.equal(fresh.status, 201, fresh.text);
    assert.equal((await rowsOn(a!.url)).has('l8'), true);
    assert.equal((await rowsOn(b!.url)).has('l8'), false);
  });

  test('evident logs move: proofs and checkpoints survive, the old copy refuses writes, an old map gets LOG_MOVED', {
    timeout: 120_000,
  }, async () => {
    const [s1, s2, s3] = servers as [Served, Served, Served];
    const log = 'l2';
    const cp1 = await call(s1.url, key, 'GET', `/v1/logs/${log}/checkpoint`);
    assert.equal(cp1.status, 200);
    await append(s2, key, log, 10);
    const cp2 = await call(s1.url, key, 'GET', `/v1/logs/${log}/checkpoint`);
    const c1 = body(cp1.text);
    const c2 = body(cp2.text);
    assert.ok(c2.size > c1.size);
    const inc = await call(s1.url, key, 'GET', `/v1/logs/${log}/proof/inclusion?index=3&size=${c2.size}`);
    const con = await call(
      s1.url,
      key,
      'GET',
      `/v1/logs/${log}/proof/consistency?from=${c1.size}&to=${c2.size}`,
    );
    assert.equal(inc.status, 200, inc.text);
    assert.equal(con.status, 200, con.text);

    // The move: read-only on b, copy, verify, switch (the config file rewritten).
    const moved = await run(
      ['logs', 'move', '--config', config, '--log', log, '--to', 'home', '--write-config', '--json'],
      { cwd: dir },
    );
    assert.equal(moved.code, 0, moved.stdout + moved.stderr);
    const report = JSON.parse(moved.stdout);
    assert.equal(report.verified, true);
    assert.equal(report.from, 'b');
    assert.equal(report.to, 'home');
    assert.deepEqual(JSON.parse(readFileSync(config, 'utf8')).placement, { b: ['l4', 'l6'] });

    // The old copy is read-only in its database, whoever writes.
    await assert.rejects(
      sql(onB, `UPDATE ${SCHEMA}.logs SET size = size WHERE name = $1`, [log]),
      (e: { code?: string }) => e.code === 'EV006',
    );
    // s3 keeps the old map: its append is refused, precisely, never written to the old copy.
    const before = (await rowsOn(b!.url)).get(log);
    const stale = await append(s3, key, log);
    assert.equal(stale.status, 503, stale.text);
    assert.equal(stale.json['code'], 'LOG_MOVED');
    assert.equal(stale.json['moved_to'], 'home');
    assert.ok(stale.retryAfter);
    assert.equal((await rowsOn(b!.url)).get(log), before, 'nothing written to the old copy');

    // s1 and s2 take the new map (SIGHUP) and write the moved copy.
    s1.child.kill('SIGHUP');
    s2.child.kill('SIGHUP');
    const deadline = Date.now() + 30_000;
    for (;;) {
      const r = await append(s1, key, log);
      if (r.status === 201) break;
      assert.ok(Date.now() < deadline, `s1 did not take the new map: ${r.text}`);
      await new Promise((res) => setTimeout(res, 200));
    }
    for (;;) {
      const r = await append(s2, key, log);
      if (r.status === 201) break;
      assert.ok(Date.now() < deadline, `s2 did not take the new map: ${r.text}`);
      await new Promise((res) => setTimeout(res, 200));
    }
    assert.equal((await rowsOn(b!.url)).get(log), before, 'the old copy still unchanged');
    assert.ok((await rowsOn(a!.url)).get(log)! > before!, 'the moved copy grows');

    // The checkpoints are byte-identical, and the proofs taken before verify against them.
    const after1 = await call(s1.url, key, 'GET', `/v1/logs/${log}/checkpoint?size=${c1.size}`);
    const after2 = await call(s2.url, key, 'GET', `/v1/logs/${log}/checkpoint?size=${c2.size}`);
    assert.equal(after1.text, cp1.text);
    assert.equal(after2.text, cp2.text);
    const root2 = body(after2.text).rootHash;
    verifyInclusion(
      b64(inc.json['leaf_hash'] as string),
      3,
      c2.size,
      (inc.json['hashes'] as string[]).map(b64),
      root2,
    );
    verifyConsistency(
      c1.size,
      c2.size,
      (con.json['hashes'] as string[]).map(b64),
      body(after1.text).rootHash,
      root2,
    );
    // The moved copy's own proofs are the same, and evident verify passes on home.
    const inc2 = await call(s1.url, key, 'GET', `/v1/logs/${log}/proof/inclusion?index=3&size=${c2.size}`);
    assert.deepEqual(inc2.json['hashes'], inc.json['hashes']);
    const v = await verifyLog(dir, home, keyFile, log);
    assert.equal(v.code, 0, v.out);
    // Moving it again to where it is: refused, naming --to.
    const again = await run(['logs', 'move', '--config', config, '--log', log, '--to', 'home', '--json'], {
      cwd: dir,
    });
    assert.equal(again.code, 2);
    assert.equal(JSON.parse(again.stderr.trim()).field, '--to');
    // s3 after SIGHUP: writes the moved copy too.
    s3.child.kill('SIGHUP');
    for (;;) {
      const r = await append(s3, key, log);
      if (r.status === 201) break;
      assert.ok(Date.now() < deadline + 30_000, `s3 did not take the new map: ${r.text}`);
      await new Promise((res) => setTimeout(res, 200));
    }
  });

  test('SIGHUP with a bad map: logged with its field, the previous placement stays', async () => {
    const s1 = servers[0]!;
    const good = readFileSync(config, 'utf8');
    const bad = JSON.parse(good);
    bad.placement = { b: ['l4', 'l6'], home: ['l4'] };
    writeFileSync(config, JSON.stringify(bad));
    try {
      const seen = s1.errorCount();
      s1.child.kill('SIGHUP');
      const deadline = Date.now() + 30_000;
      while (!s1.errors.slice(seen).some((l) => l.includes('cluster map not reloaded'))) {
        assert.ok(Date.now() < deadline, `no error logged:\n${s1.tail()}`);
        await new Promise((res) => setTimeout(res, 100));
      }
      const line = JSON.parse(s1.errors.find((l) => l.includes('cluster map not reloaded'))!);
      assert.equal(line.code, 'USAGE');
      assert.equal(line.field, 'placement.home[0]');
      // l4 stays on b, l2 on home.
      for (const log of ['l2', 'l4']) assert.equal((await append(s1, key, log)).status, 201);
    } finally {
      writeFileSync(config, good);
    }
  });

  test('a cluster that cannot be reached at start stops serve, the error naming it', async () => {
    const path = join(dir, 'unreachable.json');
    // A port nobody listens on: the connection is refused at once.
    writeFileSync(
      path,
      JSON.stringify({
        db: home,
        clusters: { b: withSchema('postgres://postgres@127.0.0.1:1/postgres', SCHEMA) },
      }),
    );
    const r = await run(['serve', '--config', path, '--key', keyFile, '--port', '0', '--json'], { cwd: dir });
    assert.equal(r.code, 2, r.stdout + r.stderr);
    const err = JSON.parse(r.stderr.trim().split('\n').at(-1)!);
    assert.equal(err.cluster, 'b');
    assert.equal(err.code, 'STORE_BUSY');
  });

  test('cluster b stopped: /readyz names it down, logs on home still append', {
    timeout: 120_000,
  }, async () => {
    const s = servers[0]!;
    const up = await call(s.url, key, 'GET', '/readyz');
    assert.equal(up.status, 200);
    assert.deepEqual(
      (up.json['clusters'] as { name: string; up: boolean }[]).map((c) => [c.name, c.up]),
      [
        ['home', true],
        ['b', true],
      ],
    );
    await b!.stop('immediate');
    try {
      const r = await call(s.url, key, 'GET', '/readyz');
      assert.equal(r.status, 200, r.text);
      const clusters = r.json['clusters'] as { name: string; up: boolean; code?: string }[];
      const down = clusters.find((c) => c.name === 'b');
      assert.equal(down?.up, false);
      assert.equal(down?.code, 'STORE_BUSY');
      assert.equal(clusters.find((c) => c.name === 'home')?.up, true);
      for (const log of [...ON_HOME, 'l2']) {
        const ok = await append(s, key, log);
        assert.equal(ok.status, 201, `${log}: ${ok.text}`);
      }
      const away = await append(s, key, 'l4');
      assert.equal(away.status, 503, away.text);
      const metrics = await (await fetch(`${s.url}/metrics`)).text();
      assert.match(metrics, /^evident_cluster_up\{cluster="b"\} 0$/m);
      assert.match(metrics, /^evident_cluster_up\{cluster="home"\} 1$/m);
    } finally {
      await b!.start();
    }
  });
});
