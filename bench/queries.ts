/**
 * The three standard compliance queries on a large log, through Ledger.query and failuresByActor: all
 * actions by one actor in the last 30 days, all access to one patient record, and actors with
 * more than 5 failures or denials in the last 24 hours. "Now" is the log's last timestamp.
 */
import type { Ledger } from '../src/ledger/index.ts';
import { LOG_END } from './built-log.ts';
import { latencySummary, progress, type StoreKind } from './support.ts';

export interface QueryResult {
  store: StoreKind;
  entries: number;
  query: 'actor_30_days' | 'resource' | 'failures_24h';
  samples: number;
  p50_ms: number;
  p99_ms: number;
  /** Mean rows returned: a query that returns nothing measures nothing. */
  mean_rows: number;
}

const DAY = 86_400_000;
const iso = (ms: number) => new Date(ms).toISOString();

export async function benchQueries(
  store: StoreKind,
  ledger: Ledger,
  entries: number,
  samples: number,
): Promise<QueryResult[]> {
  const rand = (below: number) => Math.floor(Math.random() * below);
  // sampleEvent's shapes: actors user-0..4999, resources patient-0..99999, below these counts.
  const actors = Math.min(5000, entries);
  const resources = Math.min(100_000, entries);
  const runs: [QueryResult['query'], () => Promise<unknown[]>][] = [
    [
      'actor_30_days',
      // The naive design's query has no limit; 10 000 is the store's ceiling and above any actor's rows here.
      () =>
        ledger.query({
          actor_id: `user-${rand(actors)}`,
          since: iso(LOG_END - 30 * DAY),
          descending: true,
          limit: 10_000,
        }),
    ],
    [
      'resource',
      () =>
        ledger.query({
          resource_type: 'patient_record',
          resource_id: `patient-${rand(resources)}`,
          descending: true,
          limit: 10_000,
        }),
    ],
    ['failures_24h', () => ledger.failuresByActor(iso(LOG_END - DAY), 5)],
  ];
  const out: QueryResult[] = [];
  for (const [query, run] of runs) {
    const latencies: number[] = [];
    let rows = 0;
    for (let s = 0; s < samples; s++) {
      const t = performance.now();
      rows += (await run()).length;
      latencies.push(performance.now() - t);
      if (s % 100 === 0) progress(`${store} query ${query} at ${entries}: ${s}/${samples}`);
    }
    out.push({
      store,
      entries,
      query,
      samples,
      ...latencySummary(latencies),
      mean_rows: Math.round((rows / samples) * 10) / 10,
    });
  }
  return out;
}
