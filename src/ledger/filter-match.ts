/**
 * The store's query filter (EntryFilter) evaluated in the process, on entries whose hashes
 * were just checked: what a verified query uses instead of the database's indexes.
 */
import type { Entry } from '../core/event/entry.ts';
import { type EntryFilter, EQUALITY_FILTERS } from '../store/types.ts';

/**
 * An RFC 3339 UTC time as text that sorts by time: seconds, then the fraction padded to 9
 * digits (the stores compare times, not text: "…:00.5Z" and "…:00.500Z" are one instant).
 */
export function timeKey(t: string): string {
  const m = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:\.(\d{1,9}))?Z$/.exec(t);
  if (m) return `${m[1]}.${(m[2] ?? '').padEnd(9, '0')}`;
  const ms = Date.parse(t);
  return Number.isNaN(ms) ? t : timeKey(new Date(ms).toISOString());
}

/** Whether `e` matches every condition of `f` (index bounds and limit aside). */
export function matchesFilter(e: Entry, f: EntryFilter): boolean {
  for (const k of EQUALITY_FILTERS) {
    const want = f[k];
    if (want !== undefined && e[k] !== want) return false;
  }
  if (f.result !== undefined) {
    const rs = Array.isArray(f.result) ? f.result : [f.result];
    if (!rs.includes(e.result)) return false;
  }
  if (f.since !== undefined || f.until !== undefined) {
    const t = timeKey(e.timestamp);
    if (f.since !== undefined && t < timeKey(f.since)) return false;
    if (f.until !== undefined && t >= timeKey(f.until)) return false;
  }
  return true;
}
