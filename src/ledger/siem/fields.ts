/**
 * What every SIEM record shows of an entry: the event's fields (an erased value shown as the
 * marker, never its commitment or salt), and the three things that tie the record to the log's
 * proofs: the log's origin, the entry's index and its leaf hash (docs/exports.md). With them a
 * row in a SIEM is checked later by `evident prove inclusion INDEX`.
 */
import type { Entry } from '../../core/event/entry.ts';

/** Shown in place of an erased value, as the HTTP API lists the field under `erased`. */
export const ERASED = '[erased]';

/** What a record writer is given besides the entry. */
export interface RecordContext {
  /** The log's origin (`<host>/<log>`). */
  origin: string;
  /** The evident version that wrote the record (metadata.product.version, CEF Device Version). */
  productVersion: string;
}

/** One export format: the lines of text it writes, each ending in its line ending. */
export interface RecordFormat {
  name: string;
  contentType: string;
  /** File name extension for downloads. */
  extension: string;
  /** Written once before the first record (CSV's header row), or nothing. */
  header(o: { bom: boolean }): string;
  record(entry: Entry, ctx: RecordContext): string;
}

export type FieldValue = string | number | string[] | Record<string, unknown> | undefined;

/** The event's values as exported: erased values replaced by the marker; no salts or commitments. */
export function shownValue(entry: Entry, field: keyof Entry): FieldValue {
  if (entry.erased?.includes(field as never)) return ERASED;
  return entry[field] as FieldValue;
}

/** Milliseconds since the epoch of an RFC 3339 time (fractions past the millisecond are cut). */
export function epochMs(time: string): number {
  return Date.parse(time);
}
