/**
 * No acknowledged event lost when the PostgreSQL primary dies: real servers in streaming
 * replication (./replication.ts), two `evident serve` processes given the multi-host URL, and
 * 16 clients appending with event ids (test/server/load.ts) while the primary's postmaster and
 * children are SIGKILLed and a standby promoted, several times. Then a negative control (the
 * same kill with asynchronous replication and the walsender frozen loses acknowledged events,
 * and the check sees it), and a synchronous standby that is down (an append waits, and is
 * acknowledged only once the standby is back; a client that gave up retries by id harmlessly).
 *
 * EVIDENT_HA_EVENTS sets the events acknowledged before each kill, and after the last (default 3,000).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it, type TestContext } from 'node:test';
import { uuidv7 } from '../../src/core/event/uuid.ts';
import { openStore } from '../../src/store/open.ts';
import { ensureBuilt, removeTempDirs, run, tempDir } from '../cli/helpers.ts';
import { initLogs, killAll, startServe, stopServe, verifyLog } from '../server/cluster.ts';
import { checkLogs, Load, secs } from '../server/load.ts';
import { binariesOrSkip, ReplicatedCluster } from './replication.ts';

const STEP = Number(process.env['EVIDENT_HA_EVENTS'] ?? 3000);
/** An upper bound: the load is finished after the last kill (Load.finish). */
const TOTAL = 1_000_000;
const LOGS = ['orders', 'access'];
/** Kills; each once STEP more events are acknowledged after the previous failover. */
const KILLS = 3;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const clusters: ReplicatedCluster[] = [];
let dir = '';
before(() => {
  ensureBuilt();
  dir = tempDir();
});
after(async () => {
  killAll();
  for (const c of clusters) await c.destroy();
  removeTempDirs();
});

async function serving(c: ReplicatedCluster, schema: string, count: number) {
  const db = c.url(schema);
  const logs = await initLogs(dir, db, LOGS, `${schema}.ha.test`);
  const servers = await Promise.all(
    Array.from({ length: count }, (_, i) =>
      startServe({ name: `${schema}-${i}`, cwd: dir, db, key: logs.keyFile }),
    ),
  );
  return { db, logs, servers };
}

/**
 * The latest checkpoint of each log, read from the primary every 150 ms while the load runs
 * (from the database: a request to the servers would itself be recorded in the log).
 */
function watchCheckpoints(db: string): { seen: Map<string, Set<string>>; stop(): Promise<void> } {
  const seen = new Map(LOGS.map((l) => [l, new Set<string>()]));
  let stopped = false;
  const watching = (async () => {
    const store = await openStore(db, { readonly: true });
    try {
      const ids = await Promise.all(LOGS.map(async (l) => (await store.getLog(l))!.id));
      while (!stopped) {
        for (const [i, log] of LOGS.entries()) {
          const cp = await store.latestCheckpoint(ids[i]!).catch(() => undefined);
          if (cp) seen.get(log)!.add(cp.note);
        }
        await sleep(150);
      }
    } finally {
      await store.close();
    }
  })();
  return {
    seen,
    stop: async () => {
      stopped = true;
      await watching;
    },
  };
}

/** Acknowledged events whose id is not in the log any more. */
async function lostAcks(db: string, load: Load): Promise<number> {
  const store = await openStore(db, { readonly: true });
  try {
    const stored = new Set<string>();
    for (const log of LOGS) {
      const info = (await store.getLog(log))!;
      for (let from = 0; ; ) {
        const page = await store.entries(info.id, from, Number.MAX_SAFE_INTEGER, 10_000);
        if (page.length === 0) break;
        for (const e of page) stored.add(e.id);
        from = page.at(-1)!.index + 1;
      }
    }
    let lost = 0;
    for (const id of load.acked.keys()) if (!stored.has(id)) lost++;
    return lost;
  } finally {
    await store.close();
  }
}

/** The first append sent after `at` (ms into the load) and acknowledged: the gap clients saw. */
function gapAfter(load: Load, at: number): number | undefined {
  const first = load.answers.filter((a) => a.status === 201 && a.sent > at).sort((a, b) => a.t - b.t)[0];
  return first && first.t - at;
}

function startLoad(t: TestContext, urls: string[], key: string, total: number, seed: number) {
  const load = new Load({ urls, key, logs: LOGS, total, concurrency: 16, seed, deadlineMs: 150_000 });
  t.after(() => load.stop());
  return { load, running: load.run() };
}

describe('high availability: synchronous streaming replication and failover', () => {
  it(`synchronous (ANY 1 of 2 standbys): ${KILLS} kills of the primary mid-ingest lose no acknowledged event`, {
    timeout: 300_000,
  }, async (t) => {
    const bin = binariesOrSkip(t);
    if (!bin) return;
    const t0 = Date.now();
    const c = await ReplicatedCluster.start(bin, { standbys: 2 });
    clusters.push(c);
    t.diagnostic(`primary + 2 synchronous standbys up in ${secs(Date.now() - t0)}`);
    const { db, logs, servers } = await serving(c, 'ev_sync', 2);
    const watch = watchCheckpoints(db);
    t.after(() => watch.stop());
    const { load, running } = startLoad(
      t,
      servers.map((s) => s.url),
      logs.ingestKey,
      TOTAL,
      7,
    );
    const kills: { at: number; promoted: number; restored: number; node: string; acked: number }[] = [];
    for (let k = 0; k < KILLS; k++) {
      await load.reached(load.ackedCount + STEP);
      const acked = load.ackedCount;
      const times = await c.failover();
      kills.push({
        at: times.killed - load.started,
        promoted: times.promoted.at - times.killed,
        restored: times.restored - times.killed,
        node: times.promoted.name,
        acked,
      });
    }
    await load.reached(load.ackedCount + STEP);
    load.finish();
    await running;
    await watch.stop();
    const gaps = kills.map((k) => gapAfter(load, k.at));
    for (const [i, k] of kills.entries()) {
      t.diagnostic(
        `kill ${i + 1} at ${secs(k.at)} (${k.acked} acknowledged): ${k.node} promoted after ${k.promoted} ms, ` +
          `every standby streaming after ${k.restored} ms; first acknowledged append sent after the kill: ` +
          `+${gaps[i] === undefined ? 'never' : `${gaps[i]} ms`}`,
      );
    }
    const answers: Record<string, number> = {};
    for (const a of load.answers) {
      const k = a.status === 0 ? 'no answer' : a.code ? `${a.status} ${a.code}` : String(a.status);
      answers[k] = (answers[k] ?? 0) + 1;
    }
    t.diagnostic(
      `${load.ackedCount} events acknowledged in ${secs(load.elapsedMs)}; answers ${JSON.stringify(answers)}; ` +
        `${load.retriedBatches} batches retried, ${load.duplicates} receipts answered as duplicates`,
    );

    assert.deepEqual(load.unexpected, [], 'no answer outside 201 / 503 / 429 / connection errors');
    assert.deepEqual(
      load.answers.filter((a) => a.status === 500),
      [],
      `no 500; the servers' error lines:\n${servers.flatMap((s) => s.errors.slice(0, 5)).join('\n')}`,
    );
    assert.deepEqual(load.lost, [], 'every batch acknowledged in the end');
    assert.deepEqual(load.receiptFaults, [], 'retries answered with the original receipts');
    assert.equal(
      load.ackedCount,
      Object.values(load.planned).reduce((a, b) => a + b, 0),
    );
    assert.ok(
      gaps.every((g) => g !== undefined),
      'appends acknowledged again after every kill',
    );
    const exits = await Promise.all(servers.map(stopServe));
    for (const [i, e] of exits.entries()) assert.deepEqual(e, { code: 0, signal: null }, servers[i]!.tail());

    // Every acknowledged event at its receipt's index, each id once, indexes 0..n-1 (no fork).
    const checks = await checkLogs(db, load);
    for (const ch of checks) {
      assert.deepEqual(ch.faults, [], ch.log);
      assert.equal(ch.distinctIds, ch.size, `${ch.log}: no id stored twice`);
    }
    assert.equal(await lostAcks(db, load), 0);
    // Every checkpoint seen on a primary during the load is the one stored at its size (none from a lost branch).
    const store = await openStore(db, { readonly: true });
    let seenCount = 0;
    try {
      for (const log of LOGS) {
        const info = (await store.getLog(log))!;
        for (const note of watch.seen.get(log)!) {
          const size = Number(note.split('\n')[1]);
          assert.equal(
            (await store.checkpointAt(info.id, size))?.note,
            note,
            `${log}: checkpoint at ${size}`,
          );
          seenCount++;
        }
      }
    } finally {
      await store.close();
    }
    assert.ok(seenCount > 0, 'checkpoints were seen during the load');
    for (const log of LOGS) {
      const v = await verifyLog(dir, db, logs.keyFile, log);
      assert.equal(v.code, 0, `verify ${log}: ${v.out}`);
      assert.equal(v.report?.ok, true);
    }
    t.diagnostic(
      `stored ${checks.map((ch) => `${ch.log}=${ch.size}`).join(', ')}; ${seenCount} checkpoints seen during the load found as stored; evident verify exit 0`,
    );
  });

  it('negative control: asynchronous, walsender frozen 1 s before the kill: acknowledged events are lost, and the check sees it', {
    timeout: 300_000,
  }, async (t) => {
    const bin = binariesOrSkip(t);
    if (!bin) return;
    const c = await ReplicatedCluster.start(bin, { standbys: 1, synchronous: false });
    clusters.push(c);
    const { db, logs, servers } = await serving(c, 'ev_async', 2);
    const total = TOTAL;
    const { load, running } = startLoad(
      t,
      servers.map((s) => s.url),
      logs.ingestKey,
      total,
      11,
    );
    await load.reached(STEP);
    const senders = await c.walsenders();
    assert.ok(senders.length > 0, 'a walsender streams to the standby');
    let frozenAt = 0;
    const times = await c.failover(
      () => {
        for (const pid of senders) process.kill(pid, 'SIGSTOP');
        frozenAt = load.ackedCount;
      },
      1000,
      false,
    );
    t.diagnostic(
      `walsender frozen at ${frozenAt} acknowledged; killed 1 s later; ${times.promoted.name} promoted`,
    );
    await load.reached(load.ackedCount + STEP);
    load.finish();
    await running;
    await Promise.all(servers.map(stopServe));
    const lost = await lostAcks(db, load);
    t.diagnostic(`asynchronous: ${lost} of ${load.ackedCount} acknowledged events lost`);
    assert.ok(lost > 0, 'the kill with asynchronous replication lost acknowledged events');
    const checks = await checkLogs(db, load);
    assert.ok(
      checks.some((ch) => ch.faults.length > 0),
      'the receipts check reports the loss',
    );
  });

  it('synchronous standby down: an append waits and is acknowledged only once the standby is back; a client that gave up retries by id harmlessly; no primary: 503', {
    timeout: 120_000,
  }, async (t) => {
    const bin = binariesOrSkip(t);
    if (!bin) return;
    const c = await ReplicatedCluster.start(bin, { standbys: 1 });
    clusters.push(c);
    const { db, logs, servers } = await serving(c, 'ev_down', 1);
    const url = `${servers[0]!.url}/v1/logs/${LOGS[0]}/events`;
    const headers = { authorization: `Bearer ${logs.ingestKey}`, 'content-type': 'application/json' };
    const at = new Date().toISOString();
    const event = (id: string) => ({
      id,
      timestamp: at,
      actor_id: 'svc',
      actor_type: 'service',
      action: 'record.update',
      resource_type: 'record',
      resource_id: id,
      result: 'success',
      ip_address: '192.0.2.1',
    });
    const post = (id: string, signal?: AbortSignal) =>
      fetch(url, {
        method: 'POST',
        headers,
        body: JSON.stringify([event(id)]),
        ...(signal ? { signal } : {}),
      });
    assert.equal((await post(uuidv7())).status, 201, 'appends while the standby streams');

    const doctor = async () => {
      const r = await run(['doctor', '--json', '--db', db, '--log', LOGS[0]!], { cwd: dir });
      const checks = (JSON.parse(r.stdout) as { checks: { id: string; status: string; reason: string }[] })
        .checks;
      return checks.find((x) => x.id === 'replication');
    };
    const healthy = await doctor();
    t.diagnostic(`evident doctor, replication: ${JSON.stringify(healthy)}`);
    assert.equal(healthy?.status, 'pass');
    assert.match(healthy.reason, /1 synchronous/);

    const standby = c.standbys[0]!;
    await standby.stop('fast');
    const down = await doctor();
    assert.equal(down?.status, 'warn');
    assert.match(down.reason, /no standby streams/);
    const waiting = uuidv7();
    let answeredAt = 0;
    const pending = post(waiting).then(async (r) => {
      answeredAt = Date.now();
      return { status: r.status, body: (await r.json()) as { receipts?: { index: number }[] } };
    });
    // A second client gives up after 2 s: its append may still commit later.
    const abandoned = uuidv7();
    const gaveUp = await post(abandoned, AbortSignal.timeout(2000)).then(
      (r) => `answered ${r.status}`,
      (e: Error) => e.name,
    );
    await sleep(3000);
    assert.equal(answeredAt, 0, 'no append acknowledged while the synchronous standby is down');
    assert.equal(gaveUp, 'TimeoutError');
    const ready = await fetch(`${servers[0]!.url}/readyz`);
    t.diagnostic(`/readyz while the standby is down: ${ready.status} (reads still answer)`);
    await ready.text();

    const backAt = Date.now();
    await standby.start();
    const first = await pending;
    t.diagnostic(
      `append answered ${first.status} ${answeredAt - backAt} ms after the standby was started again`,
    );
    assert.equal(first.status, 201);
    assert.ok(answeredAt >= backAt, 'acknowledged only after the standby came back');
    const retry = await post(abandoned);
    const retried = (await retry.json()) as { receipts?: { index: number; duplicate?: boolean }[] };
    assert.equal(retry.status, 201);
    t.diagnostic(`the abandoned append retried by id: ${JSON.stringify(retried.receipts)}`);
    const store = await openStore(db, { readonly: true });
    try {
      const info = (await store.getLog(LOGS[0]!))!;
      const all = await store.entries(info.id, 0, Number.MAX_SAFE_INTEGER, 1000);
      assert.equal(all.filter((e) => e.id === abandoned).length, 1, 'the retried event is stored once');
      assert.equal(all.filter((e) => e.id === waiting).length, 1);
    } finally {
      await store.close();
    }

    // No primary at all (killed, nothing promoted): /readyz says so with the code requests get.
    c.primary.kill();
    const noPrimary = await fetch(`${servers[0]!.url}/readyz`);
    const body = (await noPrimary.json()) as { code?: string };
    assert.equal(noPrimary.status, 503);
    assert.equal(body.code, 'STORE_BUSY');
    assert.ok(noPrimary.headers.get('retry-after'));
    const append = await post(uuidv7());
    assert.equal(append.status, 503);
    assert.equal(((await append.json()) as { code?: string }).code, 'STORE_BUSY');
    t.diagnostic('no primary: /readyz and appends answer 503 STORE_BUSY with Retry-After');
  });
});
