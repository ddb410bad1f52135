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
    const out: Omit<ReplicationResult, 'ratio'>[] = [];
    // Asynchronous first, then synchronous: each on a fresh log of its own.
    for (const mode of ['asynchronous', 'synchronous'] as const) {
      const names = mode === 'synchronous' ? `ANY 1 (${c.standbys[0]!.name})` : '';
      await sql(c.primary.port, `ALTER SYSTEM SET synchronous_standby_names = '${names}'`);
      await sql(c.primary.port, 'SELECT pg_reload_conf()');
      const [row] = await sql<{ s: string }>(c.primary.port, 'SHOW synchronous_standby_names AS s').catch(
        () => [{ s: '?' }],
      );
      progress(`replication ${mode}: synchronous_standby_names='${row?.s ?? ''}'`);
      const db = c.url(`bench_${mode}`);
      const key = join(dir, `replication-${mode}.key`);
      const signer = await createKeyFile(key, `bench.local/${mode}`);
      const store = await openStore(db);
      await createLog(store, { name: 'default', origin: `bench.local/${mode}`, signer });
      await store.close();
      const ledger = await openLedger({ db, key });
      try {
        const r = await drive(`replication ${mode}`, 64, events, (i) => ledger.append(sampleEvent(i)));
        out.push({
          mode,
          concurrency: 64,
          events,
          events_per_s: Math.round(events / r.seconds),
          ...latencySummary(r.latencies),
        });
      } finally {
        await ledger.close();
      }
    }
    const async = out.find((x) => x.mode === 'asynchronous')!.events_per_s;
    return out.map((x) => ({ ...x, ratio: round2(x.events_per_s / async) }));
  } finally {
    await c.destroy();
  }
}
