/**
 * `evident serve` under faults, with clients that keep sending and retry what failed (same ids,
 * so a retry of something already committed is answered with its original receipt):
 *
 * - PostgreSQL, three processes: one is SIGKILLed mid-ingest; the others take its clients.
 * - PostgreSQL, through a proxy (pg-proxy.ts): every connection cut, then the next 30 new ones
 *   ended by the "server" (FATAL 57P01) in the very packet that completes their startup, the
 *   moment pg_terminate_backend hits only by chance: 503, never a crash, then recovery.
 * - PostgreSQL, the service's connections terminated again and again for a few seconds
 *   (pg_terminate_backend, also mid-COMMIT): 503 with Retry-After, never 500, then recovery.
 * - PostgreSQL outage: a throwaway cluster (initdb, pg_ctl) stopped (immediate mode: a crash)
 *   and started again mid-ingest: 503 with Retry-After meanwhile, recovery without a restart.
 * - SQLite: the one process SIGKILLed mid-ingest and restarted on the same file.
 *
 * Afterwards, every time: every acknowledged event is where its receipt says, nothing is
 * stored twice, no log is forked (indexes 0..n-1 once each), and `evident verify` passes.
 *
 * EVIDENT_FAULT_EVENTS sets the events per scenario (default 15,000). The outage scenario needs
 * the PostgreSQL server binaries (EVIDENT_TEST_PG_BIN, else /usr/lib/postgresql/N/bin) and is
 * skipped, with a message, without them.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, type TestContext, test } from 'node:test';
import pg from 'pg';
import { ensureBuilt, removeTempDirs, tempDir } from '../cli/helpers.ts';
import { dropSchema, PG_URL, postgresUnreachable, probePostgres, randomName } from '../store/pg-support.ts';
import {
  initLogs,
  killAll,
  type PgCluster,
  postgresBinDir,
  type Served,
  startPgCluster,
  startServe,
  stopServe,
  verifyLog,
  withSchema,
} from './cluster.ts';
import { type Answer, checkLogs, Load, secs } from './load.ts';
import { type PgProxy, startPgProxy } from './pg-proxy.ts';

const TOTAL = Number(process.env['EVIDENT_FAULT_EVENTS'] ?? 15_000);
const CLIENTS = 16;
const LOGS = ['orders', 'billing', 'access'];

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A compact account of answers: status (and code, or cause) → count. */
function tally(answers: readonly Answer[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const a of answers) {
    const k = a.status === 0 ? `net ${a.cause}` : a.code ? `${a.status} ${a.code}` : String(a.status);
    out[k] = (out[k] ?? 0) + 1;
  }
  return out;
}

/** Pushback is a 503 or 429 with Retry-After; a 500 is a bug, never an answer to a fault of the database. */
function assertNoServerErrors(load: Load): void {
  const bad = load.answers.filter((a) => a.status === 500 || a.status > 503);
  assert.deepEqual(bad, [], 'no 5xx other than 503');
  const bare = load.answers.filter((a) => (a.status === 503 || a.status === 429) && !a.retryAfter);
  assert.deepEqual(bare, [], 'every 503 and 429 carries Retry-After');
}

/** Every process still runs: a fault of the database must not take a process down. */
async function assertAlive(servers: readonly Served[]): Promise<void> {
  for (const s of servers) {
    if (s.child.exitCode === null && s.child.signalCode === null) continue;
    const e = await s.exit;
    assert.fail(`${s.name} died (${e.code ?? e.signal}):\n${s.tail().slice(-4000)}`);
  }
}

/**
 * What every scenario ends with: everything acknowledged, each receipt honoured, no duplicate,
 * no fork; the surviving processes stop gracefully; every log verifies.
 */
async function finish(
  t: TestContext,
  o: { dir: string; db: string; keyFile: string; load: Load; alive: readonly Served[] },
): Promise<void> {
  const { load } = o;
  t.diagnostic(
    `ingest: ${TOTAL} events in ${secs(load.elapsedMs)}; ${load.answers.length} requests, ` +
      `${load.retriedBatches} batches retried, ${load.duplicates} receipts answered as duplicates`,
  );
  t.diagnostic(`answers: ${JSON.stringify(load.summary())}`);
  assert.deepEqual(load.unexpected, [], 'no answer outside 201 / 503 / 429 / connection errors');
  assert.deepEqual(load.lost, [], 'every batch was acknowledged in the end');
  assert.deepEqual(load.receiptFaults, [], 'receipts match what was sent, and retries the originals');
  assert.equal(load.ackedCount, TOTAL);

  const exits = await Promise.all(o.alive.map(stopServe));
  for (const [i, e] of exits.entries()) assert.deepEqual(e, { code: 0, signal: null }, o.alive[i]!.tail());
  for (const s of o.alive) {
    const kinds: Record<string, number> = {};
    for (const line of s.errors) {
      const l = JSON.parse(line) as { msg?: string; err?: { code?: string; message?: string } };
      const k = `${l.msg}: ${l.err?.code ?? ''} ${(l.err?.message ?? '').slice(0, 90)}`;
      kinds[k] = (kinds[k] ?? 0) + 1;
    }
    t.diagnostic(
      `${s.name}: answered ${JSON.stringify(Object.fromEntries(s.statuses))}; ${s.errorCount()} error lines ${JSON.stringify(kinds)}`,
    );
  }

  const checks = await checkLogs(o.db, load);
  for (const c of checks) {
    assert.deepEqual(c.faults, [], c.log);
    assert.equal(c.distinctIds, c.size, `${c.log}: no id stored twice`);
  }
  t.diagnostic(
    `stored: ${checks.map((c) => `${c.log}=${c.size}`).join(', ')} (= planned, each id once, 0..n-1)`,
  );
  const verified = await Promise.all(load.o.logs.map((log) => verifyLog(o.dir, o.db, o.keyFile, log)));
  for (const [i, v] of verified.entries()) {
    assert.equal(v.code, 0, `verify ${load.o.logs[i]}: ${v.out}`);
    assert.equal(v.report?.ok, true);
    assert.equal(v.report?.entries, checks[i]!.size);
  }
}

// ------------------------------------------------------------------------------------- SQLite

describe('faults: evident serve on SQLite', () => {
  let dir: string;
  before(() => {
    ensureBuilt();
    dir = tempDir();
  });
  after(() => {
    killAll();
    removeTempDirs();
  });

  test('kill -9 mid-ingest, restart on the same file: every acknowledged event is there, verify passes', {
    timeout: 300_000,
  }, async (t) => {
    const db = join(dir, 'audit.db');
    const logs = ['default'];
    const { keyFile, ingestKey } = await initLogs(dir, db, logs, 'sqlite.test');
    const first = await startServe({ name: 'serve', cwd: dir, db, key: keyFile });
    const load = new Load({
      urls: [first.url],
      key: ingestKey,
      logs,
      total: TOTAL,
      concurrency: CLIENTS,
      seed: 3,
    });
    t.after(() => load.stop());
    const running = load.run();
    await load.reached(Math.floor(TOTAL * 0.4));
    const killedAt = Date.now() - load.started;
    first.child.kill('SIGKILL');
    assert.equal((await first.exit).signal, 'SIGKILL');
    await sleep(500); // clients meanwhile meet a closed port
    const second = await startServe({
      name: 'serve (restarted)',
      cwd: dir,
      db,
      key: keyFile,
      port: first.port,
    });
    const upAt = Date.now() - load.started;
    await running;

    const refused = load.answers.filter((a) => a.status === 0);
    const firstOk = load.answers.find((a) => a.t >= upAt && a.status === 201);
    t.diagnostic(
      `killed at ${secs(killedAt)} with ${load.answers.filter((a) => a.t < killedAt && a.status === 201).length} batches acknowledged; ` +
        `restarted at ${secs(upAt)}; first 201 after restart ${firstOk ? secs(firstOk.t - upAt) : 'never'} later`,
    );
    t.diagnostic(`connection errors meanwhile: ${JSON.stringify(tally(refused))}`);
    assert.ok(refused.length > 0, 'the kill was felt by the clients');
    assertNoServerErrors(load);
    await finish(t, { dir, db, keyFile, load, alive: [second] });
  });
});

// --------------------------------------------------------------------------------- PostgreSQL

const unreachable = await probePostgres();
if (unreachable !== undefined) postgresUnreachable('faults: evident serve on PostgreSQL', unreachable);
else postgresSuite();

function postgresSuite(): void {
  describe('faults: evident serve on PostgreSQL', () => {
    let dir: string;
    const schemas: string[] = [];
    before(() => {
      ensureBuilt();
      dir = tempDir();
    });
    after(async () => {
      killAll();
      for (const s of schemas) await dropSchema(s);
      removeTempDirs();
    });

    /**
     * A fresh schema with the logs and keys, and three processes on it (reaching the database
     * through `proxy`, if given; the CLI always connects directly).
     */
    const cluster = async (name: string, params: Record<string, string> = {}, proxy?: PgProxy) => {
      const schema = randomName(`evident_${name}_`);
      schemas.push(schema);
      const db = withSchema(PG_URL, schema, params);
      const sub = join(dir, name);
      mkdirSync(sub);
      const logs = await initLogs(sub, db, LOGS, `${name}.test`);
      const serveDb = proxy ? proxy.via(db) : db;
      const servers = await Promise.all(
        [0, 1, 2].map((i) => startServe({ name: `serve-${i}`, cwd: sub, db: serveDb, key: logs.keyFile })),
      );
      return { db, dir: sub, servers, ...logs };
    };

    test('one of three processes SIGKILLed mid-ingest: the others take its clients, nothing is lost or doubled', {
      timeout: 300_000,
    }, async (t) => {
      const c = await cluster('kill');
      const load = new Load({
        urls: c.servers.map((s) => s.url),
        key: c.ingestKey,
        logs: LOGS,
        total: TOTAL,
        concurrency: CLIENTS,
        seed: 11,
      });
      t.after(() => load.stop());
      const running = load.run();
      await load.reached(Math.floor(TOTAL * 0.3));
      const victim = c.servers[1]!;
      const killedAt = Date.now() - load.started;
      victim.child.kill('SIGKILL');
      await running;

      const atVictim = load.answers.filter((a) => a.server === 1 && a.t >= killedAt);
      t.diagnostic(
        `serve-1 SIGKILLed at ${secs(killedAt)}; answers from its address afterwards: ${JSON.stringify(tally(atVictim))}`,
      );
      assert.equal((await victim.exit).signal, 'SIGKILL');
      assert.ok(
        atVictim.length > 0 && atVictim.every((a) => a.status === 0 || a.t - killedAt < 100),
        'after the kill its address only refuses',
      );
      assert.ok(
        load.answers.some((a) => a.t > killedAt && a.status === 201 && a.server !== 1),
        'the survivors went on',
      );
      assertNoServerErrors(load);
      await finish(t, {
        dir: c.dir,
        db: c.db,
        keyFile: c.keyFile,
        load,
        alive: [c.servers[0]!, c.servers[2]!],
      });
    });

    test('connections cut, and new ones ended by the server right after startup: 503, never a crash', {
      timeout: 300_000,
    }, async (t) => {
      const proxy = await startPgProxy(PG_URL);
      try {
        const c = await cluster('cut', {}, proxy);
        const load = new Load({
          urls: c.servers.map((s) => s.url),
          key: c.ingestKey,
          logs: LOGS,
          total: TOTAL,
          concurrency: CLIENTS,
          seed: 19,
        });
        t.after(() => load.stop());
        const running = load.run();
        await load.reached(Math.floor(TOTAL * 0.3));
        // Every pooled connection is cut; the next 30 connections the processes open are ended
        // (FATAL 57P01) in the same packet that completes their startup.
        const cutAt = Date.now() - load.started;
        proxy.killAtStartup(30);
        proxy.cutAll();
        const until = Date.now() + 10_000;
        while (proxy.stats.killedAtStartup < 30 && Date.now() < until && load.elapsedMs === 0)
          await sleep(20);
        const doneAt = Date.now() - load.started;
        await sleep(300);
        await assertAlive(c.servers);
        await running;

        const during = load.answers.filter((a) => a.t >= cutAt && a.t <= doneAt + 1000);
        const recovered = c.servers.map((_, i) =>
          load.answers.find((a) => a.server === i && a.t > doneAt && a.status === 201),
        );
        t.diagnostic(
          `cut ${proxy.stats.cut} connections at ${secs(cutAt)}; ${proxy.stats.killedAtStartup} new ones ended at startup by ${secs(doneAt)}; ` +
            `answers meanwhile (+1 s): ${JSON.stringify(tally(during))}`,
        );
        t.diagnostic(
          `first 201 afterwards, per process: ${recovered.map((a) => (a ? `+${secs(a.t - doneAt)}` : 'never')).join(', ')}`,
        );
        assert.equal(
          proxy.stats.killedAtStartup,
          30,
          'the processes reconnected (and were refused) 30 times',
        );
        assert.ok(
          recovered.every((a) => a !== undefined),
          'every process recovered by itself',
        );
        assertNoServerErrors(load);
        await finish(t, { dir: c.dir, db: c.db, keyFile: c.keyFile, load, alive: c.servers });
      } finally {
        await proxy.close();
      }
    });

    test("the service's connections terminated repeatedly mid-ingest: 503 with Retry-After, never 500, then recovery", {
      timeout: 300_000,
    }, async (t) => {
      const app = randomName('evident_storm_');
      const c = await cluster('storm', { application_name: app });
      const load = new Load({
        urls: c.servers.map((s) => s.url),
        key: c.ingestKey,
        logs: LOGS,
        total: TOTAL,
        concurrency: CLIENTS,
        seed: 13,
      });
      t.after(() => load.stop());
      const running = load.run();
      await load.reached(Math.floor(TOTAL * 0.3));

      // For 3 s, every 50 ms: end every connection of these three processes (and only theirs).
      const killer = new pg.Client({ connectionString: PG_URL });
      await killer.connect();
      let terminated = 0;
      let rounds = 0;
      const stormFrom = Date.now() - load.started;
      try {
        while (Date.now() - load.started < stormFrom + 3000) {
          const { rows } = await killer.query<{ ok: boolean }>(
            `SELECT pg_terminate_backend(pid) AS ok FROM pg_stat_activity
              WHERE datname = current_database() AND pid <> pg_backend_pid() AND application_name = $1`,
            [app],
          );
          terminated += rows.filter((r) => r.ok).length;
          rounds++;
          await sleep(50);
        }
      } finally {
        await killer.end();
      }
      const stormTo = Date.now() - load.started;
      await running;

      const during = load.answers.filter((a) => a.t >= stormFrom && a.t <= stormTo + 1000);
      const recovered = c.servers.map((_, i) =>
        load.answers.find((a) => a.server === i && a.t > stormTo && a.status === 201),
      );
      t.diagnostic(
        `storm ${secs(stormFrom)}..${secs(stormTo)}: ${rounds} rounds, ${terminated} backends terminated; ` +
          `answers meanwhile (+1 s): ${JSON.stringify(tally(during))}`,
      );
      t.diagnostic(
        `first 201 after the storm, per process: ${recovered.map((a) => (a ? `+${secs(a.t - stormTo)}` : 'never')).join(', ')}`,
      );
      assert.ok(terminated > 0, 'connections were terminated');
      await assertAlive(c.servers);
      assert.ok(
        during.some((a) => a.status === 503),
        'the storm was answered with pushback',
      );
      assert.ok(
        recovered.every((a) => a !== undefined),
        'every process recovered by itself',
      );
      assertNoServerErrors(load);
      await finish(t, { dir: c.dir, db: c.db, keyFile: c.keyFile, load, alive: c.servers });
    });
  });
}

// ------------------------------------------------------------ PostgreSQL stopped and restarted

describe('faults: a PostgreSQL outage (a throwaway cluster stopped and restarted)', () => {
  const bin = postgresBinDir();
  const runuser = process.getuid?.() !== 0 || existsSync('/usr/sbin/runuser') || existsSync('/sbin/runuser');
  if (!bin || !runuser) {
    test('PostgreSQL outage', (t) => {
      t.skip(
        `needs the PostgreSQL server binaries (initdb, pg_ctl: set EVIDENT_TEST_PG_BIN)${runuser ? '' : ' and runuser (as root)'}: skipped`,
      );
    });
    return;
  }
  let dir: string;
  let pgc: PgCluster | undefined;
  before(() => {
    ensureBuilt();
    dir = tempDir();
  });
  after(async () => {
    killAll();
    await pgc?.destroy();
    removeTempDirs();
  });

  test('stopped (immediate) for 3 s mid-ingest: 503 with Retry-After, never 500; recovers without a restart', {
    timeout: 300_000,
  }, async (t) => {
    const t0 = Date.now();
    pgc = await startPgCluster(bin);
    t.diagnostic(`initdb + start of a cluster on port ${pgc.port}: ${secs(Date.now() - t0)}`);
    const db = withSchema(pgc.url, 'evident_outage');
    const { keyFile, ingestKey } = await initLogs(dir, db, LOGS, 'outage.test');
    const servers = await Promise.all(
      [0, 1, 2].map((i) => startServe({ name: `serve-${i}`, cwd: dir, db, key: keyFile })),
    );
    const load = new Load({
      urls: servers.map((s) => s.url),
      key: ingestKey,
      logs: LOGS,
      total: TOTAL,
      concurrency: CLIENTS,
      seed: 17,
    });
    t.after(() => load.stop());
    const running = load.run();
    await load.reached(Math.floor(TOTAL * 0.3));
    const downAt = Date.now() - load.started;
    await pgc.stop('immediate');
    const stoppedAt = Date.now() - load.started;
    await sleep(1500);
    const ready = await Promise.all(
      servers.map((s) =>
        fetch(`${s.url}/readyz`).then(
          async (r) => `${r.status} ${((await r.json()) as { code?: string }).code}`,
          () => 'no answer',
        ),
      ),
    );
    await sleep(1500);
    const startAt = Date.now() - load.started;
    await pgc.start();
    const upAt = Date.now() - load.started;
    const readyAfter = await Promise.all(servers.map((s) => fetch(`${s.url}/readyz`).then((r) => r.status)));
    await running;

    // (a margin after the stop: an answer already on its way when the database went down)
    const outage = load.answers.filter((a) => a.t > stoppedAt + 100 && a.t <= startAt);
    const recovered = servers.map((_, i) =>
      load.answers.find((a) => a.server === i && a.t > upAt && a.status === 201),
    );
    t.diagnostic(
      `stop -m immediate at ${secs(downAt)} (done ${secs(stoppedAt)}), start at ${secs(startAt)} (up ${secs(upAt)}); ` +
        `answers while down: ${JSON.stringify(tally(outage))}`,
    );
    t.diagnostic(`/readyz while down: ${ready.join(', ')}; once up: ${readyAfter.join(', ')}`);
    t.diagnostic(
      `first 201 after the restart, per process: ${recovered.map((a) => (a ? `+${secs(a.t - upAt)}` : 'never')).join(', ')}`,
    );
    await assertAlive(servers);
    assert.ok(outage.length > 0, 'requests arrived during the outage');
    assert.ok(
      outage.every((a) => a.status === 503),
      `only 503 while the database is down: ${JSON.stringify(tally(outage))}`,
    );
    assert.deepEqual(
      ready,
      ['503 STORE_BUSY', '503 STORE_BUSY', '503 STORE_BUSY'],
      '/readyz says not ready while the database is down, with the code requests get',
    );
    assert.deepEqual(readyAfter, [200, 200, 200], '/readyz ready again');
    assert.ok(
      recovered.every((a) => a !== undefined),
      'every process recovered by itself',
    );
    assertNoServerErrors(load);
    await finish(t, { dir, db, keyFile, load, alive: servers });
  });
});
