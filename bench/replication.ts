/**
 * Durable ingest at concurrency 64 on PostgreSQL in streaming replication (a primary and one
 * standby, private servers started for the run: test/ha/replication.ts), with the commit
 * waiting for the standby (`synchronous_standby_names` set, `synchronous_commit = on`) against
 * the same servers with asynchronous replication, in the same run: the price of "acknowledged
 * means on the standby". Needs the PostgreSQL server binaries (and runuser as root).
 */
import { join } from 'node:path';
import { createKeyFile, createLog, openLedger } from '../src/ledger/index.ts';
import { openStore } from '../src/store/open.ts';
import { ReplicatedCluster, replicationSkipReason, sql } from '../test/ha/replication.ts';
import { postgresBinDir } from '../test/server/cluster.ts';
import { drive } from './ingest.ts';
import { latencySummary, progress, round2, sampleEvent } from './support.ts';

export interface ReplicationResult {
  mode: 'synchronous' | 'asynchronous';
  concurrency: number;
  events: number;
  events_per_s: number;
  p50_ms: number;
  p99_ms: number;
  /** events_per_s of this mode over that of asynchronous replication. */
  ratio: number;
}

/** Why the section cannot run here, or undefined. */
export function replicationSkipped(): string | undefined {
  return replicationSkipReason(postgresBinDir());
}

export async function benchReplication(dir: string, events: number): Promise<ReplicationResult[]> {
  const c = await ReplicatedCluster.start(postgresBinDir()!, { standbys: 1 });
  try {
    // Alternating (async, sync, async, sync), each run on a fresh log with half the events, so
    // that a change of the shared machine's load mid-run weighs on both modes alike.
    const runs = {
      asynchronous: { seconds: 0, latencies: [] as number[] },
      synchronous: { seconds: 0, latencies: [] as number[] },
    };
    const half = Math.max(1, Math.floor(events / 2));
    for (const [round, mode] of (
      ['asynchronous', 'synchronous', 'asynchronous', 'synchronous'] as const
    ).entries()) {
      const names = mode === 'synchronous' ? `ANY 1 (${c.standbys[0]!.name})` : '';
      await sql(c.primary.port, `ALTER SYSTEM SET synchronous_standby_names = '${names}'`);
      await sql(c.primary.port, 'SELECT pg_reload_conf()');
      progress(`replication ${mode}: synchronous_standby_names='${names}'`);
      const db = c.url(`bench_${mode}_${round}`);
      const key = join(dir, `replication-${round}.key`);
      const signer = await createKeyFile(key, `bench.local/${mode}`);
      const store = await openStore(db);
      await createLog(store, { name: 'default', origin: `bench.local/${mode}`, signer });
      await store.close();
      const ledger = await openLedger({ db, key });
      try {
        const r = await drive(`replication ${mode}`, 64, half, (i) => ledger.append(sampleEvent(i)));
        runs[mode].seconds += r.seconds;
        runs[mode].latencies.push(...r.latencies);
      } finally {
        await ledger.close();
      }
    }
    const out = (['asynchronous', 'synchronous'] as const).map((mode) => ({
      mode,
      concurrency: 64,
      events: half * 2,
      events_per_s: Math.round((half * 2) / runs[mode].seconds),
      ...latencySummary(runs[mode].latencies),
    }));
    const async = out.find((x) => x.mode === 'asynchronous')!.events_per_s;
    return out.map((x) => ({ ...x, ratio: round2(x.events_per_s / async) }));
  } finally {
    await c.destroy();
  }
}
