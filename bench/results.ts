/** The benchmark's results document (bench/results/latest.json) and the project's targets. */
import type { AlertsResult } from './alerts.ts';
import type { ArchiveResult } from './archive.ts';
import type { BuildInfo } from './built-log.ts';
import type { ClustersResult } from './clusters.ts';
import type { ExportResult } from './exports.ts';
import type { HttpResult } from './http-ingest.ts';
import type { IngestResult } from './ingest.ts';
import type { Machine } from './machine.ts';
import type { ProofResult } from './proofs.ts';
import type { QueryResult } from './queries.ts';
import type { ReplicationResult } from './replication.ts';
import type { S3PutResult } from './s3-put.ts';
import type { StorageResult } from './storage.ts';
import type { StoreKind } from './support.ts';
import type { TileResult } from './tiles.ts';
import type { VerifyResult } from './verify.ts';
import type { ViewerResult } from './viewer.ts';
import type { WitnessResult } from './witness.ts';

export const SECTIONS = [
  'ingest',
  'http',
  'verify',
  'proofs',
  'queries',
  'storage',
  'tiles',
  'witness',
  'archive',
  'exports',
  'viewer',
  'alerts',
  'clusters',
  'replication',
] as const;
/** Sections run only when named in --only: they need a server the default run does not start. */
export const OPT_IN_SECTIONS = ['s3'] as const;
export type Section = (typeof SECTIONS)[number] | (typeof OPT_IN_SECTIONS)[number];

/** Bump when the shape changes: an older file is then not merged into. */
export const FORMAT = 2;

export interface Results {
  format: typeof FORMAT;
  quick: boolean;
  machine: Machine;
  /** When each section last ran (a run with --only replaces those sections and keeps the rest). */
  ran: Partial<Record<Section, { at: string; seconds: number }>>;
  /** Why PostgreSQL rows are missing, when they are. */
  postgres_skipped?: string;
  ingest: IngestResult[];
  http: HttpResult[];
  verify: VerifyResult[];
  proofs: ProofResult[];
  queries: QueryResult[];
  storage: StorageResult[];
  /** Tile reads over HTTP (absent from results written before the section existed). */
  tiles?: TileResult[];
  /** Absent in results written before the witness section existed. */
  witness?: WitnessResult[];
  /** Sealing, archiving, verifying and pruning a log to a directory target (absent in older files). */
  archive?: ArchiveResult[];
  /** Why the archive section's S3 variant did not run (no gateway running, no EVIDENT_BENCH_S3). */
  archive_s3_skipped?: string;
  /** Put throughput to the S3 archive target (section s3, opt-in). */
  s3?: S3PutResult[];
  /** Why the s3 section measured nothing, when it ran and could not. */
  s3_skipped?: string;
  /** Export throughput per format on the built log (optional: results written before it existed lack it). */
  exports?: ExportResult[];
  /** The viewer's whole verification in Chromium against evident verify (empty without Chromium). */
  viewer?: ViewerResult[];
  /** Ingest with alert rules off and on (absent in older files). */
  alerts?: AlertsResult[];
  /** Aggregate ingest over two PostgreSQL clusters against one (absent in older files). */
  clusters?: ClustersResult[];
  /** Why the clusters section measured nothing (no PostgreSQL server binaries...). */
  clusters_skipped?: string;
  /** Ingest with synchronous against asynchronous replication (absent in older files). */
  replication?: ReplicationResult[];
  /** Why the replication section measured nothing (no PostgreSQL server binaries). */
  replication_skipped?: string;
  /** How the large logs were built (appendMany in chunks); `cached`: by an earlier run. */
  builds: (BuildInfo & { store: StoreKind; cached: boolean })[];
  targets: Target[];
}

export interface Target {
  target: string;
  measured: string;
  /** Undefined: not measured in these results. */
  met?: boolean;
}

const fmt = (x: number) => Math.round(x).toLocaleString('en-US');

export function targets(r: Results): Target[] {
  const out: Target[] = [];
  const ingest = (store: string, system: string, c: number) =>
    r.ingest.find((i) => i.store === store && i.system === system && i.concurrency === c);
  const times = (a: number, b: number) => `${(a / b).toFixed(2)}x`;
  for (const [store, floor, share] of [
    ['sqlite', 30_000, 0.8],
    ['postgres', 15_000, 0.6],
  ] as const) {
    const x = ingest(store, 'evident', 64);
    const bare = ingest(store, 'bare', 64);
    out.push({
      target: `library ingest ${store}, concurrency 64: >= ${fmt(floor)} events/s, >= ${share}x the bare rows, p99 < 50 ms`,
      measured: x
        ? `${fmt(x.events_per_s)}/s${bare ? ` (${times(x.events_per_s, bare.events_per_s)} bare)` : ''}, p99 ${x.p99_ms} ms`
        : 'not measured',
      ...(x && bare
        ? { met: x.events_per_s >= floor && x.events_per_s >= share * bare.events_per_s && x.p99_ms < 50 }
        : {}),
    });
  }
  for (const store of ['sqlite', 'postgres'] as const) {
    const x = ingest(store, 'evident', 1);
    const naive = ingest(store, 'naive', 1);
    out.push({
      target: `library ingest ${store}, one caller: >= the naive design`,
      measured:
        x && naive
          ? `${fmt(x.events_per_s)}/s (${times(x.events_per_s, naive.events_per_s)} naive)`
          : 'not measured',
      ...(x && naive ? { met: x.events_per_s >= naive.events_per_s } : {}),
    });
  }
  for (const store of ['sqlite', 'postgres'] as const) {
    const h = r.http.find((x) => x.store === store && x.batch === 1000);
    const lib = ingest(store, 'evident', 64);
    out.push({
      target: `HTTP ingest ${store}, batch 1000: >= 0.9x library ingest (concurrency 64)`,
      measured:
        h && lib
          ? `${fmt(h.events_per_s)}/s (${times(h.events_per_s, lib.events_per_s)} library)`
          : 'not measured',
      ...(h && lib ? { met: h.events_per_s >= 0.9 * lib.events_per_s } : {}),
    });
  }
  for (const store of ['sqlite', 'postgres'] as const) {
    const x = r.storage.find((s) => s.store === store && s.system !== 'bare');
    const bare = r.storage.find((s) => s.store === store && s.system === 'bare');
    out.push({
      target: `storage ${store}: bytes per entry <= 1.5x the bare rows`,
      measured:
        x && bare
          ? `${fmt(x.bytes_per_entry)} B (${times(x.bytes_per_entry, bare.bytes_per_entry)} bare)`
          : 'not measured',
      ...(x && bare ? { met: x.bytes_per_entry <= 1.5 * bare.bytes_per_entry } : {}),
    });
  }
  for (const what of ['log', 'bundle'] as const) {
    // The limit rows of the largest log: what any verifier of the file must spend, on one thread.
    const largest = Math.max(0, ...r.verify.map((x) => x.entries));
    const read = r.verify.find((x) => x.what === 'read' && x.entries === largest);
    const schema = r.verify.find((x) => x.what === 'schema' && x.entries === largest);
    // The largest log, with the most threads.
    const v = r.verify
      .filter((x) => (x.what ?? 'log') === what)
      .reduce<VerifyResult | undefined>(
        (a, b) =>
          a && (a.entries > b.entries || (a.entries === b.entries && a.workers >= b.workers)) ? a : b,
        undefined,
      );
    out.push({
      target: `verification${what === 'bundle' ? ' of a bundle (verify-bundle)' : ''}: >= 250,000 entries/s`,
      measured: v
        ? `${fmt(v.entries_per_s)}/s at ${fmt(v.entries)}, ${v.workers} threads, peak RSS ${v.peak_rss_mb} MB` +
          (read && schema && what === 'log'
            ? `; limit on one thread: reading and hashing every row ${fmt(read.entries_per_s)}/s, ` +
              `plus the schema check ${schema.seconds} s (both split over ${v.workers} threads at best: ` +
              `${fmt(Math.round(largest / ((read.seconds + schema.seconds) / v.workers)))}/s)`
            : '')
        : 'not measured',
      ...(v ? { met: v.entries_per_s >= 250_000 && v.ok } : {}),
    });
  }
  // The target is judged with the file in the page cache; a cold run (page cache dropped) is
  // named beside it when there is one.
  const largest = Math.max(0, ...r.proofs.map((x) => x.entries));
  const p = r.proofs.find((x) => x.entries === largest && x.page_cache !== 'cold');
  const cold = r.proofs.find((x) => x.entries === largest && x.page_cache === 'cold');
  const at10m = p !== undefined && p.entries >= 10_000_000;
  out.push({
    target: 'proofs at 10M entries: p99 < 1 ms',
    measured: p
      ? `p99 inclusion ${p.inclusion.p99_ms} ms, consistency ${p.consistency.p99_ms} ms (p50 ${p.inclusion.p50_ms} and ${p.consistency.p50_ms} ms) at ${fmt(p.entries)}${p.page_cache ? `, page cache ${p.page_cache}` : ''}` +
        (cold ? `; page cache dropped: p99 ${cold.inclusion.p99_ms} and ${cold.consistency.p99_ms} ms` : '')
      : 'not measured',
    ...(at10m ? { met: p.inclusion.p99_ms < 1 && p.consistency.p99_ms < 1 && p.ok } : {}),
  });
  for (const store of ['sqlite', 'postgres'] as const) {
    const q = r.queries.filter((x) => x.store === store);
    const worst = q.reduce<QueryResult | undefined>((a, b) => (a && a.p99_ms >= b.p99_ms ? a : b), undefined);
    const at1m = worst !== undefined && worst.entries >= 1_000_000;
    out.push({
      target: `the compliance queries at 1M entries, ${store}: p99 < 20 ms`,
      measured: worst
        ? `worst p99 ${worst.p99_ms} ms (${worst.query}) at ${fmt(worst.entries)}`
        : 'not measured',
      ...(at1m ? { met: worst.p99_ms < 20 } : {}),
    });
  }
  const two = r.clusters?.find((x) => x.clusters === 2);
  out.push({
    target: 'ingest over two PostgreSQL clusters: close to 2x one cluster (same logs, same callers)',
    measured: two
      ? `${two.ratio}x (${fmt(two.events_per_s)}/s against ${fmt(two.events_per_s / two.ratio)}/s)`
      : `not measured${r.clusters_skipped ? `: ${r.clusters_skipped}` : ''}`,
    ...(two ? { met: two.ratio >= 1.6 } : {}),
  });
  return out;
}
