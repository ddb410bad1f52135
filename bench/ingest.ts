/** Durable ingest in library mode: C callers each awaiting their append before the next. */
import { freshLog, percentile, progress, sampleEvent } from './support.ts';

export interface IngestResult {
  concurrency: number;
  events: number;
  events_per_s: number;
  p50_ms: number;
  p99_ms: number;
}

export async function benchIngest(concurrency: number, events: number): Promise<IngestResult> {
  const log = await freshLog();
  try {
    const latencies: number[] = [];
    let next = 0;
    const start = performance.now();
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        while (next < events) {
          const i = next++;
          const t = performance.now();
          await log.ledger.append(sampleEvent(i));
          latencies.push(performance.now() - t);
          if (i % 5000 === 0) progress(`ingest c=${concurrency}: ${i}/${events}`);
        }
      }),
    );
    const seconds = (performance.now() - start) / 1000;
    latencies.sort((a, b) => a - b);
    return {
      concurrency,
      events,
      events_per_s: Math.round(events / seconds),
      p50_ms: round(percentile(latencies, 50)),
      p99_ms: round(percentile(latencies, 99)),
    };
  } finally {
    await log.dispose();
  }
}

const round = (x: number) => Math.round(x * 100) / 100;
