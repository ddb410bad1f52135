/**
 * A time window on `received_at`, the time the ledger assigned under the sequencing lock when it
 * committed the entry: it follows index order whenever the writers share a clock that does not
 * step back (docs/exports.md, "Complete time ranges"). So the window's entries are an index range
 * [from, to), found by binary search in O(log n) point reads, with no index on the column.
 */
import { ErrorCode, EvidentError } from '../core/errors.ts';
import type { Ledger } from './ledger.ts';

export interface TimeWindow {
  /** Entries received at or after this (RFC 3339) ... */
  since?: string;
  /** ... and before this. */
  until?: string;
}

/** The smallest index in [0, size) whose received_at is at or after `time`, or size. */
export async function firstReceivedAtOrAfter(ledger: Ledger, time: string, size: number): Promise<number> {
  const t = Date.parse(time);
  let lo = 0;
  let hi = size;
  while (lo < hi) {
    const mid = lo + Math.floor((hi - lo) / 2);
    const e = await ledger.entryAt(mid);
    if (!e) {
      throw new EvidentError(
        ErrorCode.TAMPER_DETECTED,
        `entry ${mid} of log "${ledger.log.name}" is missing from the store, inside the log`,
        { index: mid },
      );
    }
    if (Date.parse(e.received_at) >= t) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

/** The index range [from, to) of the entries received in the window, among the first `size`. */
export async function windowRange(
  ledger: Ledger,
  w: TimeWindow,
  size: number,
): Promise<{ from: number; to: number }> {
  const from = w.since !== undefined ? await firstReceivedAtOrAfter(ledger, w.since, size) : 0;
  const to = w.until !== undefined ? await firstReceivedAtOrAfter(ledger, w.until, size) : size;
  return { from, to: Math.max(from, to) };
}
