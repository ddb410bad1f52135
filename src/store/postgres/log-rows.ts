/**
 * Entry rows as PostgreSQL returns them, with their side rows aggregated as JSON (sql.ts),
 * converted with the shared mapping of ../rows.ts. The small tables' rows are ../table-rows.ts.
 */
import type { Entry } from '../../core/event/entry.ts';
import { ENTRY_COLUMNS, type EntryRow, rowToEntry } from '../rows.ts';

/** An entry row with its values ([field, value, salt]) and erasures ([field, erasure index]). */
export type HydratedRow = EntryRow & {
  secrets: [string, string, string][] | null;
  erased: [string, number][] | null;
};

export function toEntry(r: HydratedRow): Entry {
  const row = {} as EntryRow;
  for (const c of ENTRY_COLUMNS) row[c] = r[c];
  const idx = r.idx as number;
  return rowToEntry(
    row,
    (r.secrets ?? []).map(([field, value, salt]) => ({ idx, field, value, salt })),
    (r.erased ?? []).map(([field, erasure_idx]) => ({ idx, field, erasure_idx })),
  );
}
