/** Shared pieces of the benchmarks: a fresh log in a temp dir, events, timing, percentiles. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createKeyFile, createLog, type Ledger, openLedger } from '../src/ledger/index.ts';
import { openStore } from '../src/ledger/open.ts';

export interface FreshLog {
  dir: string;
  db: string;
  key: string;
  ledger: Ledger;
  dispose(): Promise<void>;
}

export async function freshLog(options: { checkpointIntervalMs?: number } = {}): Promise<FreshLog> {
  const dir = mkdtempSync(join(tmpdir(), 'evident-bench-'));
  const db = join(dir, 'bench.db');
  const key = join(dir, 'bench.key');
  const signer = await createKeyFile(key, 'bench.local/default');
  const store = await openStore(db);
  await createLog(store, { name: 'default', origin: 'bench.local/default', signer });
  await store.close();
  const ledger = await openLedger({ db, key, ...options });
  return {
    dir,
    db,
    key,
    ledger,
    async dispose() {
      await ledger.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
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

export function progress(message: string): void {
  process.stderr.write(
    `${process.stderr.isTTY ? '\r\x1b[K' : ''}${message}${process.stderr.isTTY ? '' : '\n'}`,
  );
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
