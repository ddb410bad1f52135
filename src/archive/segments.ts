/**
 * Where a segment ends. By count: every N entries. By month: the last entry whose received_at
 * lies in the same UTC calendar month as the segment's first entry. received_at is assigned at
 * commit and only grows, so the month's end is found by binary search on the index: O(log n)
 * reads, never a scan. A segment is closed once a later entry exists, or once its month is over.
 */
import type { Entry } from '../core/event/entry.ts';
import type { LogInfo, Store } from '../store/types.ts';
import type { SegmentRule } from './retention.ts';

async function at(store: Store, log: LogInfo, i: number): Promise<Entry> {
  const e = (await store.entries(log.id, i, i + 1, 1))[0];
  if (!e) throw new Error(`entry ${i} is missing`);
  return e;
}

export function nextMonth(receivedAt: string): Date {
  const d = new Date(receivedAt);
  return new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 1));
}

/** The last index of the segment starting at `start`, or undefined while it is still open. */
export async function segmentEnd(
  store: Store,
  log: LogInfo,
  start: number,
  size: number,
  rule: SegmentRule,
  o: { now: Date; sealOpen: boolean },
): Promise<number | undefined> {
  if (start >= size) return undefined;
  if (rule.by === 'count') {
    if (start + rule.entries <= size) return start + rule.entries - 1;
    return o.sealOpen ? size - 1 : undefined;
  }
  const boundary = nextMonth((await at(store, log, start)).received_at).getTime();
  // The first index in (start, size) received at or after the boundary.
  let lo = start + 1;
  let hi = size;
  while (lo < hi) {
    const mid = Math.floor((lo + hi) / 2);
    if (new Date((await at(store, log, mid)).received_at).getTime() >= boundary) hi = mid;
    else lo = mid + 1;
  }
  if (lo < size) return lo - 1;
  return o.now.getTime() >= boundary || o.sealOpen ? size - 1 : undefined;
}
