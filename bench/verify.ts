/**
 * Verification of a whole log: entries per second and peak memory (it must stay flat), on the
 * main thread alone (1) and with a worker thread per core (N), in the same run; then the same
 * log exported as a bundle and verified offline (verify-bundle), 1 and N again.
 */
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { verifierFromKey } from '../src/core/note-keys.ts';
import { exportBundle, verifyBundleFile } from '../src/ledger/export.ts';
import type { BuiltLog } from './built-log.ts';
import { progress, withPeakRss } from './support.ts';

export interface VerifyResult {
  entries: number;
  /** `log`: Ledger.verify of the SQLite file; `bundle`: verifyBundleFile of its export. */
  what: 'log' | 'bundle';
  /** Threads checking entries: 1 is the main thread alone. */
  workers: number;
  /** How fast the log was built (appendMany in chunks), possibly by an earlier run. */
  build_events_per_s: number;
  entries_per_s: number;
  seconds: number;
  /** Peak resident memory of the whole process (worker threads included) while verifying. */
  peak_rss_mb: number;
  ok: boolean;
}

export async function benchVerify(log: BuiltLog): Promise<VerifyResult[]> {
  const entries = log.build.entries;
  const n = Math.max(2, availableParallelism());
  const out: VerifyResult[] = [];
  const row = (what: 'log' | 'bundle', workers: number, seconds: number, peakMb: number, ok: boolean) =>
    out.push({
      entries,
      what,
      workers,
      build_events_per_s: log.build.events_per_s,
      entries_per_s: Math.round(entries / seconds),
      seconds: Math.round(seconds * 10) / 10,
      peak_rss_mb: peakMb,
      ok,
    });
  const ledger = await log.open();
  const dir = mkdtempSync(join(tmpdir(), 'evident-bench-bundle-'));
  const bundle = join(dir, 'bench.jsonl');
  try {
    for (const workers of [1, n]) {
      global.gc?.();
      const t1 = performance.now();
      const { result, peakMb } = await withPeakRss(() =>
        ledger.verify({
          workers,
          onProgress: (done) => progress(`verifying ${entries} (${workers} thread(s)): ${done}`),
        }),
      );
      row('log', workers, (performance.now() - t1) / 1000, peakMb, result.ok && result.entries === entries);
    }
    progress(`exporting ${entries} as a bundle`);
    await writeFile(bundle, exportBundle(ledger));
    progress(`bundle: ${Math.round(statSync(bundle).size / 1e6)} MB`);
    for (const workers of [1, n]) {
      global.gc?.();
      const t1 = performance.now();
      const { result, peakMb } = await withPeakRss(() =>
        verifyBundleFile(bundle, {
          verifiers: [verifierFromKey(ledger.log.vkey)],
          workers,
          onProgress: (done) =>
            progress(`verifying the bundle of ${entries} (${workers} thread(s)): ${done}`),
        }),
      );
      const r = result.report;
      row(
        'bundle',
        workers,
        (performance.now() - t1) / 1000,
        peakMb,
        r.faults.length === 0 && r.entries === entries,
      );
    }
  } finally {
    await ledger.close();
    rmSync(dir, { recursive: true, force: true });
  }
  return out;
}
