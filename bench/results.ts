/** The benchmark's results document (bench/results/latest.json) and the project's targets. */
import type { AlertsResult } from './alerts.ts';
import type { ArchiveResult } from './archive.ts';
import type { BuildInfo } from './built-log.ts';
import type { HttpResult } from './http-ingest.ts';
import type { IngestResult } from './ingest.ts';
import type { Machine } from './machine.ts';
import type { ProofResult } from './proofs.ts';
import type { QueryResult } from './queries.ts';
import type { StorageResult } from './storage.ts';
import type { StoreKind } from './support.ts';
import type { TileResult } from './tiles.ts';
import type { VerifyResult } from './verify.ts';
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
  'alerts',
] as const;
export type Section = (typeof SECTIONS)[number];

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
  /** Ingest with alert rules off and on (absent in older files). */
  alerts?: AlertsResult[];
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
  for (const [store, floor] of [
    ['sqlite', 50_000],
    ['postgres', 30_000],
  ] as const) {
    const x = r.ingest.find((i) => i.store === store && i.system === 'evident' && i.concurrency === 64);
    out.push({
      target: `library ingest ${store}, concurrency 64: >= ${fmt(floor)} events/s, p99 < 50 ms`,
      measured: x ? `${fmt(x.events_per_s)}/s, p99 ${x.p99_ms} ms` : 'not measured',
      ...(x ? { met: x.events_per_s >= floor && x.p99_ms < 50 } : {}),
    });
  }
  const h = r.http.find((x) => x.store === 'sqlite' && x.batch === 1000);
  out.push({
    target: 'HTTP ingest sqlite, batch 1000: >= 30,000 events/s',
    measured: h ? `${fmt(h.events_per_s)}/s` : 'not measured',
    ...(h ? { met: h.events_per_s >= 30_000 } : {}),
  });
  const v = r.verify.at(-1);
  out.push({
    target: 'verification: >= 250,000 entries/s',
    measured: v ? `${fmt(v.entries_per_s)}/s at ${fmt(v.entries)}` : 'not measured',
    ...(v ? { met: v.entries_per_s >= 250_000 && v.ok } : {}),
  });
  const p = r.proofs.at(-1);
  const at10m = p !== undefined && p.entries >= 10_000_000;
  out.push({
    target: 'proofs at 10M entries: p50 < 1 ms',
    measured: p
      ? `inclusion ${p.inclusion.p50_ms} ms, consistency ${p.consistency.p50_ms} ms at ${fmt(p.entries)}`
      : 'not measured',
    ...(at10m ? { met: p.inclusion.p50_ms < 1 && p.consistency.p50_ms < 1 && p.ok } : {}),
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
  return out;
}
