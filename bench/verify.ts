/** Verification of a whole log: entries per second, and peak memory (it must stay flat). */
import type { BuiltLog } from './built-log.ts';
import { progress, withPeakRss } from './support.ts';

export interface VerifyResult {
  entries: number;
  /** How fast the log was built (appendMany in chunks), possibly by an earlier run. */
  build_events_per_s: number;
  entries_per_s: number;
  seconds: number;
  /** Peak resident memory of the whole process while verifying. */
  peak_rss_mb: number;
  ok: boolean;
}

export async function benchVerify(log: BuiltLog): Promise<VerifyResult> {
  const entries = log.build.entries;
  const ledger = await log.open();
  try {
    global.gc?.();
    const t1 = performance.now();
    const { result, peakMb } = await withPeakRss(() =>
      ledger.verify({ onProgress: (n) => progress(`verifying ${entries}: ${n}`) }),
    );
    const seconds = (performance.now() - t1) / 1000;
    return {
      entries,
      build_events_per_s: log.build.events_per_s,
      entries_per_s: Math.round(entries / seconds),
      seconds: Math.round(seconds * 10) / 10,
      peak_rss_mb: peakMb,
      ok: result.ok && result.entries === entries,
    };
  } finally {
    await ledger.close();
  }
}
