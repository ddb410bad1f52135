/**
 * Durable ingest in library mode: C callers each awaiting their append before the next, on
 * SQLite and PostgreSQL; evident against the naive hash-chain design on the same database.
 */
import { type NaiveLog, NaiveLogger } from './baseline.ts';
import { NaivePgLogger } from './baseline-pg.ts';
import { freshLog, latencySummary, progress, type StoreKind, sampleEvent } from './support.ts';

export interface IngestResult {
  store: StoreKind;
  /** `bare`: the limit row, the same rows inserted by a bare loop (bare.ts). */
  system: 'evident' | 'naive' | 'bare';
  concurrency: number;
  events: number;
  events_per_s: number;
  p50_ms: number;
  p99_ms: number;
  /** Whether the written chain verifies afterwards (the bare rows have none: true). */
  chain_ok: boolean;
  /** For the naive design: links that fail its verify_chain (timestamp order: ties and races break it). */
  broken_links?: number;
  /** For the naive design: entries whose predecessor another entry also claims (a forked chain). */
  forks?: number;
}

/** Runs `events` appends from `concurrency` callers, each awaiting its append before the next. */
export async function drive(
  label: string,
  concurrency: number,
  events: number,
  append: (i: number) => Promise<unknown>,
): Promise<{ seconds: number; latencies: number[] }> {
  const latencies: number[] = [];
  let next = 0;
  const start = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < events) {
        const i = next++;
        const t = performance.now();
        await append(i);
        latencies.push(performance.now() - t);
        if (i % 5000 === 0) progress(`${label} c=${concurrency}: ${i}/${events}`);
      }
    }),
  );
  return { seconds: (performance.now() - start) / 1000, latencies };
}

const summary = (
  base: Pick<IngestResult, 'store' | 'system' | 'concurrency' | 'events'>,
  r: { seconds: number; latencies: number[] },
): Omit<IngestResult, 'chain_ok'> => ({
  ...base,
  events_per_s: Math.round(base.events / r.seconds),
  ...latencySummary(r.latencies),
});

/** The naive hash-chain design on the same database: its throughput, and whether its chain holds. */
export async function benchNaive(
  store: StoreKind,
  concurrency: number,
  events: number,
): Promise<IngestResult> {
  const naive: NaiveLog = store === 'postgres' ? await NaivePgLogger.open() : new NaiveLogger();
  try {
    const r = await drive(`${store} naive`, concurrency, events, (i) => naive.log(sampleEvent(i)));
    const check = await naive.verify();
    return {
      ...summary({ store, system: 'naive', concurrency, events }, r),
      chain_ok: check.broken === 0 && check.rows === events,
      broken_links: check.broken,
      forks: check.forks,
    };
  } finally {
    await naive.dispose();
  }
}

export async function benchIngest(
  store: StoreKind,
  concurrency: number,
  events: number,
): Promise<IngestResult> {
  const log = await freshLog({ store });
  try {
    const r = await drive(`${store} evident`, concurrency, events, (i) => log.ledger.append(sampleEvent(i)));
    const report = await log.ledger.verify();
    return { ...summary({ store, system: 'evident', concurrency, events }, r), chain_ok: report.ok };
  } finally {
    await log.dispose();
  }
}
