/** Shared pieces of the benchmarks: a fresh log (SQLite or PostgreSQL), events, timing, percentiles. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  createKeyFile,
  createLog,
  type Ledger,
  type OpenLedgerOptions,
  openLedger,
  openStore,
} from '../src/ledger/index.ts';
import { dropSchema, freshSchemaName, urlForSchema } from './pg.ts';

export type StoreKind = 'sqlite' | 'postgres';

export interface FreshLog {
  dir: string;
  /** The SQLite file, or the postgres:// URL with its `?schema=`. */
  db: string;
  key: string;
  ledger: Ledger;
  dispose(): Promise<void>;
}

export interface FreshLogOptions extends Omit<OpenLedgerOptions, 'db' | 'key'> {
  /** Where: a SQLite file in a temp dir (default), or a fresh PostgreSQL schema dropped by dispose(). */
  store?: StoreKind;
}

/** A new empty log named `default`, opened for appending. */
export async function freshLog(options: FreshLogOptions = {}): Promise<FreshLog> {
  const { store: kind = 'sqlite', ...ledgerOptions } = options;
  const dir = mkdtempSync(join(tmpdir(), 'evident-bench-'));
  const schema = kind === 'postgres' ? freshSchemaName('log') : undefined;
  const db = schema ? urlForSchema(schema) : join(dir, 'bench.db');
  const key = join(dir, 'bench.key');
  const cleanup = async () => {
    rmSync(dir, { recursive: true, force: true });
    if (schema) await dropSchema(schema);
  };
  try {
    const signer = await createKeyFile(key, 'bench.local/default');
    const store = await openStore(db);
    await createLog(store, { name: 'default', origin: 'bench.local/default', signer });
    await store.close();
    const ledger = await openLedger({ db, key, ...ledgerOptions });
    return {
      dir,
      db,
      key,
      ledger,
      async dispose() {
        try {
          await ledger.close();
        } finally {
          await cleanup();
        }
      },
    };
  } catch (e) {
    await cleanup();
    throw e;
  }
}

/** A realistic request event (about 400 bytes as canonical JSON). */
export function sampleEvent(i: number): Record<string, unknown> {
  return {
    actor_id: `user-${i % 5000}`,
    actor_type: 'user',
    action: i % 10 === 0 ? 'update' : 'read',
    resource_type: 'patient_record',
    resource_id: `patient-${i % 100_000}`,
    result: i % 50 === 0 ? 'denied' : 'success',
    ip_address: `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`,
    user_agent: 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36',
    session_id: `sess-${i % 20_000}`,
    metadata: { route: '/patients/:id', status: 200, request_id: `req-${i}` },
  };
}

export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

let lastProgress = 0;

/** One status line: rewritten in place on a terminal, else at most one line a second. */
export function progress(message: string): void {
  if (process.stderr.isTTY) {
    process.stderr.write(`\r\x1b[K${message}`);
    return;
  }
  const now = performance.now();
  if (message === '' || now - lastProgress < 1000) return;
  lastProgress = now;
  process.stderr.write(`${message}\n`);
}

/** Samples the process's resident memory while `fn` runs; returns the peak in MB. */
export async function withPeakRss<T>(fn: () => Promise<T>): Promise<{ result: T; peakMb: number }> {
  let peak = process.memoryUsage().rss;
  const timer = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage().rss);
  }, 50);
  try {
    const result = await fn();
    peak = Math.max(peak, process.memoryUsage().rss);
    return { result, peakMb: Math.round(peak / 1e6) };
  } finally {
    clearInterval(timer);
  }
}

/**
 * p50 and p99 of a list of latencies in ms (sorted here), rounded to 0.01 ms, or to 0.001 ms
 * below 1 ms: an indexed query with an empty answer takes a few microseconds, which 0.01 ms
 * would report as 0.
 */
export function latencySummary(latencies: number[]): { p50_ms: number; p99_ms: number } {
  const sorted = [...latencies].sort((a, b) => a - b);
  const ms = (x: number) => (x < 1 ? Math.round(x * 1000) / 1000 : round2(x));
  return { p50_ms: ms(percentile(sorted, 50)), p99_ms: ms(percentile(sorted, 99)) };
}

export const round2 = (x: number): number => Math.round(x * 100) / 100;
