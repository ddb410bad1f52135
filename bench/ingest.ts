/** Durable ingest in library mode: C callers each awaiting their append before the next. */
import { BriefLogger } from './baseline.ts';
import { freshLog, percentile, progress, sampleEvent } from './support.ts';

export interface IngestResult {
  system: 'evident' | 'brief';
  concurrency: number;
  events: number;
  events_per_s: number;
  p50_ms: number;
  p99_ms: number;
  /** Whether the written chain verifies afterwards. */
  chain_ok: boolean;
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
  latencies.sort((a, b) => a - b);
  return { seconds: (performance.now() - start) / 1000, latencies };
}

const summary = (
  system: IngestResult['system'],
  concurrency: number,
  events: number,
  r: { seconds: number; latencies: number[] },
  chain_ok: boolean,
): IngestResult => ({
  system,
  concurrency,
  events,
  events_per_s: Math.round(events / r.seconds),
  p50_ms: round(percentile(r.latencies, 50)),
  p99_ms: round(percentile(r.latencies, 99)),
  chain_ok,
});

/** The brief's design on the same file settings: its throughput, and whether its chain holds. */
export async function benchBrief(concurrency: number, events: number): Promise<IngestResult> {
  const brief = new BriefLogger();
  try {
    const r = await drive('brief', concurrency, events, (i) => brief.log(sampleEvent(i)));
    return summary('brief', concurrency, events, r, brief.verify().broken === 0);
  } finally {
    brief.dispose();
  }
}

export async function benchIngest(concurrency: number, events: number): Promise<IngestResult> {
  const log = await freshLog();
  try {
    const r = await drive('evident', concurrency, events, (i) => log.ledger.append(sampleEvent(i)));
    const report = await log.ledger.verify();
    return summary('evident', concurrency, events, r, report.ok);
  } finally {
    await log.dispose();
  }
}

const round = (x: number) => Math.round(x * 100) / 100;
