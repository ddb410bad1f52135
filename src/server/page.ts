/**
 * A page of query results bounded by bytes as well as by count. An event may hold 256 KiB, so
 * `limit=1000` alone could build an answer of about 250 MB per request; instead a page stops
 * before the entry that would take it past `maxBytes` (it always holds at least one entry) and
 * gives the cursor of that entry. The store is read in chunks small enough that the entries
 * held at any time stay within about twice the budget, whatever the entries' sizes.
 */

import type { Entry } from '../core/event/entry.ts';
import { LIMITS } from '../core/event/schema.ts';
import type { Ledger } from '../ledger/ledger.ts';
import type { EntryFilter } from '../store/types.ts';
import { encodeCursor } from './query-values.ts';

export interface Page {
  entries: Entry[];
  next_cursor: string | null;
  /** Bytes of the entries as JSON (what the answer holds, bar its envelope). */
  bytes: number;
}

export async function readPage(
  ledger: Ledger,
  filter: EntryFilter,
  from: number,
  limit: number,
  maxBytes: number,
): Promise<Page> {
  // How many entries of the largest size an event may have fit the budget: each store read.
  const chunk = Math.max(1, Math.floor(maxBytes / LIMITS.eventBytes));
  const entries: Entry[] = [];
  let bytes = 0;
  let at = from;
  for (;;) {
    // One more than the page still takes: whether it exists decides next_cursor.
    const want = Math.min(limit - entries.length + 1, chunk);
    const rows = await ledger.query({ ...filter, fromIndex: at, limit: want });
    for (const row of rows) {
      if (entries.length === limit) return { entries, next_cursor: encodeCursor(row.index), bytes };
      const size = Buffer.byteLength(JSON.stringify(row)) + 1;
      if (entries.length > 0 && bytes + size > maxBytes) {
        return { entries, next_cursor: encodeCursor(row.index), bytes };
      }
      entries.push(row);
      bytes += size;
    }
    if (rows.length < want) return { entries, next_cursor: null, bytes };
    at = rows[rows.length - 1]!.index + 1;
  }
}
