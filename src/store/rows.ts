/**
 * Mapping between entries and database rows, shared by every SQL driver: one column per
 * field (so queries and verification read the very same values), JSON fields as canonical
 * JSON text, erasable values in a side table beside their salts.
 *
 * Reading a row never throws: a value an attacker mangled is passed through as found, so
 * that verification reports it as a modified entry instead of crashing.
 */
import type { Entry } from '../core/event/entry.ts';
import { canonicalJson } from '../core/event/json-text.ts';
import type { ErasableField } from '../core/event/schema.ts';
import { ENTRY_JSON_FIELDS, ENTRY_TEXT_FIELDS } from '../core/event/vocabulary.ts';

const TEXT_FIELDS = [...ENTRY_TEXT_FIELDS, 'prev_hash', 'hash'] as const;
const JSON_COLUMNS = [...ENTRY_JSON_FIELDS, 'commitments'] as const;

/** Every column of an entry's row: its position, then one column per field. */
export const ENTRY_COLUMNS = ['idx', ...TEXT_FIELDS, ...JSON_COLUMNS] as const;

export type EntryRow = Record<(typeof ENTRY_COLUMNS)[number], string | number | null>;

export interface ErasureRow {
  idx: number;
  field: string;
  erasure_idx: number;
}

export interface SecretRow {
  idx: number;
  field: string;
  value: string;
  salt: string;
}

/** Seconds since the epoch of an RFC 3339 UTC timestamp, as SQLite's unixepoch(ts, 'subsec'). */
export function timestampSeconds(ts: string): number {
  return Date.parse(ts) / 1000;
}

/** The row for an entry, and the side rows for its erasable values. */
export function entryToRows(e: Entry): { row: EntryRow; secrets: SecretRow[] } {
  const committed = e.commitments ?? {};
  const row = { idx: e.index } as EntryRow;
  for (const f of TEXT_FIELDS) {
    const v = e[f];
    row[f] = v === undefined || f in committed ? null : v;
  }
  for (const f of JSON_COLUMNS) {
    const v = e[f];
    row[f] = v === undefined || f in committed ? null : canonicalJson(v);
  }
  const secrets: SecretRow[] = [];
  for (const f of Object.keys(committed) as ErasableField[]) {
    const salt = e.salts?.[f];
    if (salt === undefined) continue;
    secrets.push({ idx: e.index, field: f, value: canonicalJson(e[f]), salt });
  }
  return { row, secrets };
}

/** Rebuilds an entry from its row, its side rows and the erasures recorded for it. */
export function rowToEntry(row: EntryRow, secrets: SecretRow[], erased: ErasureRow[]): Entry {
  return valuesToEntry(
    ENTRY_COLUMNS.map((c) => row[c]),
    secrets,
    erased,
  );
}

const FIRST_TEXT = 1;
const FIRST_JSON = FIRST_TEXT + TEXT_FIELDS.length;

/**
 * rowToEntry for a row read as an array of values in ENTRY_COLUMNS order (a driver's raw
 * mode, which skips building one object per row): the one implementation of the mapping.
 */
export function valuesToEntry(
  values: readonly unknown[],
  secrets: readonly SecretRow[],
  erased: readonly ErasureRow[],
): Entry {
  const e: Record<string, unknown> = { index: values[0] };
  for (let i = 0; i < TEXT_FIELDS.length; i++) {
    const v = values[FIRST_TEXT + i];
    if (v !== null) e[TEXT_FIELDS[i]!] = v;
  }
  for (let i = 0; i < JSON_COLUMNS.length; i++) {
    const v = values[FIRST_JSON + i];
    if (v !== null) e[JSON_COLUMNS[i]!] = parseOrRaw(v as string);
  }
  for (const s of secrets) {
    if (e[s.field] !== undefined) {
      // The field is stored twice, in its column and beside the entry: one of the two is covered
      // by no hash (entryToRows writes a committed field's column NULL, and no side row for any
      // other field). The column's value stays; the side row's salt stays only where it cannot
      // vouch for that value (a field without a commitment), so that verification reports the
      // entry as modified either way, never the side value hiding the column's.
      if (isCommitted(e['commitments'], s.field)) continue;
    } else {
      e[s.field] = parseOrRaw(s.value);
    }
    e.salts ??= {};
    (e.salts as Record<string, string>)[s.field] = s.salt;
  }
  if (erased.length > 0) {
    e.erased = erased.map((x) => x.field).sort();
    e.erased_by = Math.min(...erased.map((x) => x.erasure_idx));
  }
  return e as unknown as Entry;
}

function isCommitted(commitments: unknown, field: string): boolean {
  return typeof commitments === 'object' && commitments !== null && Object.hasOwn(commitments, field);
}

/** Where a column sits in a row read as values. */
export const COLUMN_AT = Object.fromEntries(ENTRY_COLUMNS.map((c, i) => [c, i])) as Record<
  (typeof ENTRY_COLUMNS)[number],
  number
>;

function parseOrRaw(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}
