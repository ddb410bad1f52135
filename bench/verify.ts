/** Verification of a whole log: entries per second, and peak memory (it must stay flat). */
import { freshLog, progress, sampleEvent, withPeakRss } from './support.ts';

export interface VerifyResult {
  entries: number;
  build_events_per_s: number;
  entries_per_s: number;
  peak_rss_mb: number;
  ok: boolean;
}

export async function benchVerify(entries: number): Promise<VerifyResult> {
  const log = await freshLog();
  try {
    const chunk = 10_000;
    const t0 = performance.now();
    for (let i = 0; i < entries; i += chunk) {
      const n = Math.min(chunk, entries - i);
      await log.ledger.appendMany(Array.from({ length: n }, (_, j) => sampleEvent(i + j)));
      progress(`building a log of ${entries}: ${i + n}`);
    }
    await log.ledger.checkpoint();
    const build = (performance.now() - t0) / 1000;
    global.gc?.();
    const t1 = performance.now();
    const { result, peakMb } = await withPeakRss(() =>
      log.ledger.verify({ onProgress: (n) => progress(`verifying: ${n}/${entries}`) }),
    );
    const seconds = (performance.now() - t1) / 1000;
    return {
      entries,
      build_events_per_s: Math.round(entries / build),
      entries_per_s: Math.round(entries / seconds),
      peak_rss_mb: peakMb,
      ok: result.ok,
    };
  } finally {
    await log.dispose();
  }
}
