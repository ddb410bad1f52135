/**
 * Aggregate ingest over two PostgreSQL clusters against one (docs/clusters.md): two private
 * clusters (initdb, pg_ctl, as test/server/cluster.ts starts them), L logs spread evenly over
 * them through the routed store the server uses, C callers in all (C/L per log, each awaiting
 * its append), against the same logs and callers on one cluster. Runs alternate one/two twice,
 * means shown. Needs the PostgreSQL server binaries (and runuser as root): skipped without them.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { cpus as cpus_, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { createKeyFile, type KeyRing, loadKeyRing } from '../src/ledger/keyfile.ts';
import { Ledger } from '../src/ledger/ledger.ts';
import { createLog } from '../src/ledger/open.ts';
import { parseClusterMap } from '../src/store/clusters/map.ts';
import { RoutedStore } from '../src/store/clusters/routed.ts';
import type { FullStore } from '../src/store/open.ts';
import { openPostgresStore } from '../src/store/postgres/store.ts';
import { type PgCluster, postgresBinDir, startPgCluster, withSchema } from '../test/server/cluster.ts';
import { drive } from './ingest.ts';
import { progress, sampleEvent } from './support.ts';

export interface ClustersResult {
  /** 1: every log on one cluster; 2: spread evenly over two. */
  clusters: 1 | 2;
  logs: number;
  concurrency: number;
  events: number;
  events_per_s: number;
  /** This row's events/s over the one-cluster row's (1 for that row). */
  ratio: number;
  /** CPU time of this (evident) process over wall time, in percent of one core: near 100 or more means it, not the databases, sets the pace. */
  evident_cpu_percent: number;
  /** The machine's cores, and its 1-minute load average when the section started. */
  cores: number;
  load_at_start: number;
  chain_ok: boolean;
}

/** Why the section cannot run here, or undefined. */
export function clustersUnavailable(): string | undefined {
  const runuser = process.getuid?.() !== 0 || existsSync('/usr/sbin/runuser') || existsSync('/sbin/runuser');
  if (!postgresBinDir()) return 'no PostgreSQL server binaries (initdb, pg_ctl: set EVIDENT_TEST_PG_BIN)';
  if (!runuser) return 'runs as root without runuser';
  return undefined;
}

async function runOnce(
  urls: readonly string[],
  spread: 1 | 2,
  logs: number,
  concurrency: number,
  events: number,
  ring: KeyRing,
  round: number,
): Promise<{ events_per_s: number; cpu_percent: number; chain_ok: boolean }> {
  // A fresh schema per run on each cluster: every run starts from empty logs.
  const schema = `evident_bench_${spread}_${round}`;
  const names = Array.from({ length: logs }, (_, i) => `log-${i}`);
  const home = withSchema(urls[0]!, schema);
  const b = withSchema(urls[1]!, schema);
  const map = parseClusterMap(home, { b }, spread === 2 ? { b: names.filter((_, i) => i % 2 === 1) } : {})!;
  const stores = new Map<string, FullStore>();
  for (const [name, url] of map.clusters) stores.set(name, await openPostgresStore(url));
  const routed = new RoutedStore(stores, map);
  const ledgers: Ledger[] = [];
  try {
    for (const name of names) {
      await createLog(routed, { name, origin: `bench.local/${name}`, signer: ring });
      ledgers.push(
        await Ledger.open({
          store: routed,
          log: name,
          signer: ring,
          ownsStore: false,
          checkpointIntervalMs: 0,
        }),
      );
    }
    const per = Math.max(1, Math.floor(concurrency / logs));
    const perEvents = Math.floor(events / logs);
    const t0 = performance.now();
    const cpu0 = process.cpuUsage();
    await Promise.all(
      ledgers.map((l, i) =>
        drive(`clusters ${spread} log ${i}`, per, perEvents, (j) => l.append(sampleEvent(j))),
      ),
    );
    const seconds = (performance.now() - t0) / 1000;
    const cpu = process.cpuUsage(cpu0);
    let ok = true;
    for (const l of ledgers) ok &&= (await l.verify()).ok;
    return {
      events_per_s: Math.round((perEvents * logs) / seconds),
      cpu_percent: Math.round(((cpu.user + cpu.system) / 1e6 / seconds) * 100),
      chain_ok: ok,
    };
  } finally {
    for (const l of ledgers) await l.close().catch(() => undefined);
    await routed.close();
  }
}

export async function benchClusters(
  logs: number,
  concurrency: number,
  events: number,
): Promise<ClustersResult[]> {
  const bin = postgresBinDir()!;
  const dir = mkdtempSync(join(tmpdir(), 'evident-bench-clusters-'));
  const started: PgCluster[] = [];
  try {
    progress('clusters: initdb and start of two PostgreSQL clusters');
    started.push(...(await Promise.all([startPgCluster(bin), startPgCluster(bin)])));
    await createKeyFile(join(dir, 'bench.key'), 'bench.local/default');
    const ring = await loadKeyRing(join(dir, 'bench.key'));
    const urls = started.map((c) => c.url);
    const sums = { 1: [] as number[], 2: [] as number[] };
    const cpus = { 1: [] as number[], 2: [] as number[] };
    const load = loadavg()[0]!;
    let chainOk = true;
    // one, two, one, two: the machine's drift falls on both alike.
    for (let round = 0; round < 2; round++) {
      for (const spread of [1, 2] as const) {
        progress(`clusters: ${spread} cluster(s), round ${round + 1}`);
        const r = await runOnce(urls, spread, logs, concurrency, events, ring, round);
        sums[spread].push(r.events_per_s);
        cpus[spread].push(r.cpu_percent);
        chainOk &&= r.chain_ok;
      }
    }
    const mean = (xs: number[]) => Math.round(xs.reduce((a, x) => a + x, 0) / xs.length);
    const one = mean(sums[1]);
    const two = mean(sums[2]);
    const row = (clusters: 1 | 2, eps: number): ClustersResult => ({
      clusters,
      logs,
      concurrency,
      events,
      events_per_s: eps,
      ratio: Math.round((eps / one) * 100) / 100,
      evident_cpu_percent: mean(cpus[clusters]),
      cores: cpus_().length,
      load_at_start: Math.round(load * 100) / 100,
      chain_ok: chainOk,
    });
    return [row(1, one), row(2, two)];
  } finally {
    await Promise.allSettled(started.map((c) => c.destroy()));
    rmSync(dir, { recursive: true, force: true });
  }
}
