/**
 * What the fault scenarios (faults-sqlite.ts, faults-postgres.ts, faults-outage.ts, run by
 * faults.test.ts) share: the suite hooks, three processes on one database, the load that runs
 * while each brings its fault (clients that retry what failed with the same ids), and `finish`,
 * the checks every scenario ends with.
 *
 * EVIDENT_FAULT_EVENTS sets the events per scenario (default 15,000).
 */
import assert from 'node:assert/strict';
import { after, before, type TestContext } from 'node:test';
import { ensureBuilt, removeTempDirs, tempDir } from '../cli/helpers.ts';
import { initLogs, killAll, type Logs, type Served, startServe, stopServe, verifyLog } from './cluster.ts';
import { type Answer, checkLogs, Load, secs } from './load.ts';

const TOTAL = Number(process.env['EVIDENT_FAULT_EVENTS'] ?? 15_000);
const CLIENTS = 16;
const LOGS = ['orders', 'billing', 'access'];

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * The hooks of every fault suite: build, and a temporary directory, before; after, every process
 * killed, then `cleanup` (schemas, a throwaway cluster), then the directories removed. The
 * directory is there once `before` has run.
 */
export function suiteHooks(cleanup?: () => Promise<void>): { readonly dir: string } {
  let dir: string | undefined;
  before(() => {
    ensureBuilt();
    dir = tempDir();
  });
  after(async () => {
    killAll();
    await cleanup?.();
    removeTempDirs();
  });
  return {
    get dir(): string {
      if (dir === undefined) throw new Error('the suite directory is made in before()');
      return dir;
    },
  };
}

/** Where `finish` looks: the database, the directory the CLI runs in, and the key file. */
export interface Target {
  dir: string;
  db: string;
  keyFile: string;
}

export interface Cluster extends Target, Logs {
  servers: Served[];
}

/**
 * `LOGS` initialised on `db`, and three processes on it, started together (reaching the database
 * through `serveDb`, if given, e.g. a proxy; the CLI always connects to `db`).
 */
export async function startCluster(dir: string, db: string, host: string, serveDb = db): Promise<Cluster> {
  const logs = await initLogs(dir, db, LOGS, host);
  const servers = await Promise.all(
    [0, 1, 2].map((i) => startServe({ name: `serve-${i}`, cwd: dir, db: serveDb, key: logs.keyFile })),
  );
  return { dir, db, servers, ...logs };
}

/**
 * `TOTAL` events from `CLIENTS` clients over `urls`, stopped when the test ends; resolves once
 * `fraction` of them are acknowledged, the moment the scenario brings its fault. `running`
 * settles when the load is done.
 */
export async function loadUntil(
  t: TestContext,
  o: { urls: readonly string[]; key: string; logs?: readonly string[]; seed: number },
  fraction: number,
): Promise<{ load: Load; running: Promise<void> }> {
  const load = new Load({
    urls: o.urls,
    key: o.key,
    logs: o.logs ?? LOGS,
    total: TOTAL,
    concurrency: CLIENTS,
    seed: o.seed,
  });
  t.after(() => load.stop());
  const running = load.run();
  await load.reached(Math.floor(TOTAL * fraction));
  return { load, running };
}

/** A compact account of answers: status (and code, or cause) → count. */
export function tally(answers: readonly Answer[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const a of answers) {
    const k = a.status === 0 ? `net ${a.cause}` : a.code ? `${a.status} ${a.code}` : String(a.status);
    out[k] = (out[k] ?? 0) + 1;
  }
  return out;
}

/** Each process's first 201 after `from` (ms into the load), if any. */
export function firstAcks(load: Load, servers: readonly Served[], from: number): (Answer | undefined)[] {
  return servers.map((_, i) => load.answers.find((a) => a.server === i && a.t > from && a.status === 201));
}

/** How long after `from` each of `firstAcks` came: "+0.4 s, +0.6 s, never". */
export function delays(acks: readonly (Answer | undefined)[], from: number): string {
  return acks.map((a) => (a ? `+${secs(a.t - from)}` : 'never')).join(', ');
}

/** Pushback is a 503 or 429 with Retry-After; a 500 is a bug, never an answer to a fault of the database. */
function assertNoServerErrors(load: Load): void {
  const bad = load.answers.filter((a) => a.status === 500 || a.status > 503);
  assert.deepEqual(bad, [], 'no 5xx other than 503');
  const bare = load.answers.filter((a) => (a.status === 503 || a.status === 429) && !a.retryAfter);
  assert.deepEqual(bare, [], 'every 503 and 429 carries Retry-After');
}

/** Every process still runs: a fault of the database must not take a process down. */
export async function assertAlive(servers: readonly Served[]): Promise<void> {
  for (const s of servers) {
    if (s.child.exitCode === null && s.child.signalCode === null) continue;
    const e = await s.exit;
    assert.fail(`${s.name} died (${e.code ?? e.signal}):\n${s.tail().slice(-4000)}`);
  }
}

/**
 * What every scenario ends with: no 500 and no pushback without Retry-After; everything
 * acknowledged, each receipt honoured, no duplicate, no fork; the surviving processes (`alive`)
 * stop gracefully; every log verifies.
 */
export async function finish(t: TestContext, o: Target, load: Load, alive: readonly Served[]): Promise<void> {
  assertNoServerErrors(load);
  t.diagnostic(
    `ingest: ${TOTAL} events in ${secs(load.elapsedMs)}; ${load.answers.length} requests, ` +
      `${load.retriedBatches} batches retried, ${load.duplicates} receipts answered as duplicates`,
  );
  t.diagnostic(`answers: ${JSON.stringify(load.summary())}`);
  assert.deepEqual(load.unexpected, [], 'no answer outside 201 / 503 / 429 / connection errors');
  assert.deepEqual(load.lost, [], 'every batch was acknowledged in the end');
  assert.deepEqual(load.receiptFaults, [], 'receipts match what was sent, and retries the originals');
  assert.equal(load.ackedCount, TOTAL);

  const exits = await Promise.all(alive.map(stopServe));
  for (const [i, e] of exits.entries()) assert.deepEqual(e, { code: 0, signal: null }, alive[i]!.tail());
  for (const s of alive) {
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
