/**
 * What alert evaluation costs ingest: the same library ingest (SQLite, concurrent appendMany
 * batches) with no alert runner, and with a runner evaluating every rule (all on, sensitive
 * types listed, off-hours and silence on) on its own connection, as `evident serve` runs it:
 * handed the entries the ledger appends (src/alerts/recent.ts), reading back only the rest.
 * The stream is the benchmark's sample events (1 in 50 denied). Runs alternate off/on twice in one process and report the mean of each; the runner must also
 * have read every entry by the end (caught up), so an evaluator that falls behind cannot look free.
 */
import { parseAlertsConfig } from '../src/alerts/config.ts';
import { RecentEntries } from '../src/alerts/recent.ts';
import { AlertRunner } from '../src/alerts/runner.ts';
import { openStore } from '../src/store/open.ts';
import type { AlertStore, Store } from '../src/store/types.ts';
import { freshLog, progress, round2, sampleEvent } from './support.ts';

export interface AlertsResult {
  events: number;
  concurrency: number;
  batch: number;
  off_events_per_s: number;
  on_events_per_s: number;
  /** (off - on) / off, in percent: the share of ingest throughput alerts cost. */
  cost_percent: number;
  /** Alerts raised in the runs with rules on (the sample stream denies 1 in 50). */
  alerts_raised: number;
  /** The runner read every entry. */
  caught_up: boolean;
}

// Every rule on and evaluated on every entry, set so that an ordinary stream raises few alerts:
// the cost measured is evaluation's, not that of thousands of alert events.
const ALL_ON = parseAlertsConfig({
  pollMs: 50,
  rules: {
    off_hours: { timeZone: 'Europe/Berlin', days: [0, 1, 2, 3, 4, 5, 6], start: '00:00', end: '23:59' },
    sensitive_first_read: { resourceTypes: ['payment_card'] },
    silence: { gapSeconds: 600 },
  },
  sinks: { log: false },
});

const quiet = { info() {}, warn() {}, error() {} };

async function once(on: boolean, events: number, concurrency: number, batch: number) {
  const recent = on ? new RecentEntries() : undefined;
  const log = await freshLog({
    checkpointIntervalMs: 3_600_000,
    ...recent?.listeners(),
  });
  let store: (Store & AlertStore) | undefined;
  let runner: AlertRunner | undefined;
  let raised = 0;
  try {
    if (on) {
      store = await openStore(log.db);
      runner = new AlertRunner({
        store,
        config: ALL_ON,
        log: quiet,
        onRaised: () => raised++,
        ...(recent ? { recent } : {}),
      });
      runner.start();
    }
    let next = 0;
    const t0 = performance.now();
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        while (next < events) {
          const from = next;
          next += batch;
          const n = Math.min(batch, events - from);
          await log.ledger.appendMany(Array.from({ length: n }, (_, i) => sampleEvent(from + i)));
        }
      }),
    );
    const seconds = (performance.now() - t0) / 1000;
    let caughtUp = true;
    if (runner && store) {
      const info = (await store.getLog('default'))!;
      await runner.tick();
      await runner.tick();
      const size = (await store.head(info.id)).size;
      caughtUp = size >= events && runner.lastError === undefined;
    }
    return { eps: events / seconds, raised, caughtUp };
  } finally {
    await runner?.stop();
    await store?.close();
    await log.dispose();
  }
}

export async function benchAlerts(events: number, concurrency = 16, batch = 100): Promise<AlertsResult> {
  const off: number[] = [];
  const on: number[] = [];
  let raised = 0;
  let caughtUp = true;
  for (const mode of [false, true, false, true]) {
    progress(`alerts: ${events} events, rules ${mode ? 'on' : 'off'}`);
    const r = await once(mode, events, concurrency, batch);
    (mode ? on : off).push(r.eps);
    if (mode) {
      raised += r.raised;
      caughtUp &&= r.caughtUp;
    }
  }
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  const o = mean(off);
  const n = mean(on);
  return {
    events,
    concurrency,
    batch,
    off_events_per_s: Math.round(o),
    on_events_per_s: Math.round(n),
    cost_percent: round2(((o - n) / o) * 100),
    alerts_raised: raised,
    caught_up: caughtUp,
  };
}
