/**
 * A verified query, for auditors: the answer of a query is only what the database's indexes
 * give (a partial index or a row-level security policy can hide rows, and no hash covers
 * them). This mode reads the whole log in index order, verifies it (hashes, chain, tree,
 * signed checkpoints, schema, keys) and applies the filter in the process, to entries just
 * checked: no row can be missing from the answer unless verification fails.
 */
import type { Entry } from '../core/event/entry.ts';
import type { VerifyReport } from '../core/verify/report.ts';
import type { EntryFilter, LogInfo, Store } from '../store/types.ts';
import { matchesFilter } from './filter-match.ts';
import { type VerifyOptions, verifyStoredLog } from './verify.ts';

export interface VerifiedQueryResult {
  /** The log's verification; when not ok, `entries` proves nothing. */
  report: VerifyReport;
  /** The matching entries, oldest first (newest first with `descending`), at most `limit`. */
  entries: Entry[];
  /** How many entries matched before `limit` was applied. */
  matched: number;
}

export async function verifiedQuery(
  store: Store,
  log: LogInfo,
  filter: EntryFilter,
  o: VerifyOptions = {},
): Promise<VerifiedQueryResult> {
  const limit = filter.limit ?? Number.MAX_SAFE_INTEGER;
  const from = filter.fromIndex;
  const found: Entry[] = [];
  let matched = 0;
  const report = await verifyStoredLog(store, log, {
    ...o,
    onEntries: (page) => {
      o.onEntries?.(page);
      for (const e of page) {
        if (from !== undefined && (filter.descending ? e.index > from : e.index < from)) continue;
        if (!matchesFilter(e, filter)) continue;
        matched++;
        found.push(e);
        // ascending: the first `limit` matches; descending: keep only the last `limit`
        if (!filter.descending && found.length > limit) found.pop();
        if (filter.descending && found.length > limit) found.shift();
      }
    },
  });
  return { report, entries: filter.descending ? found.reverse() : found, matched };
}
