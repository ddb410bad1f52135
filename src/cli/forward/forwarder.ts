/**
 * The loop of `evident forward`: read the entries after the cursor (page by page, in index
 * order), format them, deliver the batch, and only once the receiver acknowledged it, move the
 * cursor and store it (./state.ts). A failed delivery is retried, the same batch, after a
 * growing delay with jitter. When the log holds nothing new, look again after the poll interval,
 * or, with `once`, stop.
 */
import { ErrorCode, EvidentError } from '../../core/errors.ts';
import type { Entry } from '../../core/event/entry.ts';
import type { Ledger } from '../../ledger/ledger.ts';
import { RECORD_FORMATS } from '../../ledger/siem/index.ts';
import { toOcsf } from '../../ledger/siem/ocsf.ts';
import { exportedObject } from '../../ledger/siem/syslog.ts';
import { FORWARD_STATE_FORMAT, type ForwardState, writeState } from './state.ts';
import type { Sender } from './target.ts';

export interface ForwardOptions {
  ledger: Ledger;
  sender: Sender;
  /** The record format: syslog, cef or ocsf to a syslog receiver; json or ocsf to a webhook. */
  format: string;
  to: string;
  statePath: string;
  state: ForwardState | undefined;
  productVersion: string;
  batch: number;
  pollMs: number;
  retryBaseMs: number;
  retryMaxMs: number;
  /** Give up (DELIVERY_FAILED) after this many failed attempts of one batch; 0: never. */
  maxAttempts: number;
  once: boolean;
  stopped: () => boolean;
  report: (msg: string, fields: Record<string, unknown>) => void;
}

export function recordWriter(format: string, productVersion: string, origin: string): (e: Entry) => string {
  const ctx = { origin, productVersion };
  if (format === 'json') return (e) => JSON.stringify(exportedObject(e, ctx));
  if (format === 'ocsf') return (e) => JSON.stringify(toOcsf(e, ctx));
  const f = RECORD_FORMATS[format]!;
  return (e) => f.record(e, ctx).replace(/\r?\n$/, '');
}

/** Exponential from base, capped, with "equal jitter" (half fixed, half random). */
function retryDelay(attempt: number, baseMs: number, maxMs: number): number {
  const exp = Math.min(maxMs, baseMs * 2 ** Math.min(attempt, 30));
  return Math.round(exp / 2 + Math.random() * (exp / 2));
}

const sleep = (ms: number, stopped: () => boolean) =>
  new Promise<void>((resolve) => {
    const until = Date.now() + ms;
    const tick = () =>
      stopped() || Date.now() >= until ? resolve() : setTimeout(tick, Math.min(50, until - Date.now()));
    tick();
  });

/** Runs until stopped (or, with `once`, until the log holds nothing undelivered); returns the entries delivered. */
export async function forward(o: ForwardOptions): Promise<number> {
  const { ledger } = o;
  const write = recordWriter(o.format, o.productVersion, ledger.log.origin);
  let next = o.state?.next_index ?? 0;
  let delivered = 0;
  while (!o.stopped()) {
    const size = await ledger.size();
    if (next > size) {
      throw new EvidentError(
        ErrorCode.USAGE,
        `the forward state says ${next} entries were delivered, but log "${ledger.log.name}" holds ${size}: another log, or one restored from an older copy (run evident verify)`,
        { field: '--state', next_index: next, log_size: size },
      );
    }
    if (next === size) {
      if (o.once) break;
      await sleep(o.pollMs, o.stopped);
      continue;
    }
    const page = await ledger.store.entries(ledger.log.id, next, Math.min(size, next + o.batch), o.batch);
    page.forEach((e, k) => {
      if (e.index !== next + k)
        throw new EvidentError(
          ErrorCode.TAMPER_DETECTED,
          `entry ${next + k} of log "${ledger.log.name}" is missing from the store`,
          { index: next + k },
        );
    });
    if (page.length === 0)
      throw new EvidentError(
        ErrorCode.TAMPER_DETECTED,
        `entry ${next} of log "${ledger.log.name}" is missing from the store`,
        { index: next },
      );
    const records = page.map(write);
    for (let attempt = 0; ; attempt++) {
      try {
        await o.sender.send(records);
        break;
      } catch (e) {
        const code = (e as EvidentError).code ?? ErrorCode.DELIVERY_FAILED;
        if (o.maxAttempts > 0 && attempt + 1 >= o.maxAttempts) throw e;
        const delay = retryDelay(attempt, o.retryBaseMs, o.retryMaxMs);
        o.report('retry', {
          from: next,
          entries: page.length,
          attempt: attempt + 1,
          code,
          error: (e as Error).message,
          delay_ms: delay,
        });
        await sleep(delay, o.stopped);
        if (o.stopped()) return delivered;
      }
    }
    next += page.length;
    delivered += page.length;
    await writeState(o.statePath, {
      format: FORWARD_STATE_FORMAT,
      origin: ledger.log.origin,
      to: o.to,
      next_index: next,
      updated_at: new Date().toISOString(),
    });
    o.report('delivered', { from: next - page.length, to: next, entries: page.length });
  }
  return delivered;
}
