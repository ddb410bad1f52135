/**
 * CSV (RFC 4180): a header row, then one row per entry; every line ends in CRLF; a field holding
 * a comma, a double quote, CR or LF is quoted, its quotes doubled. Object values are JSON. A
 * cell that starts with `=`, `+`, `-`, `@`, tab or CR is prefixed with `'`, so that no
 * spreadsheet runs it as a formula (OWASP, "CSV Injection"): the text stays readable, and the
 * exact value is in the log (the leaf hash in the row names it). Optionally a UTF-8 BOM first,
 * for spreadsheets that guess the encoding otherwise.
 */
import type { Entry } from '../../core/event/entry.ts';
import { ENTRY_JSON_FIELDS, ENTRY_TEXT_FIELDS } from '../../core/event/vocabulary.ts';
import { type RecordContext, type RecordFormat, shownValue } from './fields.ts';

export const CSV_COLUMNS = [
  'origin',
  'index',
  'leaf_hash',
  ...ENTRY_TEXT_FIELDS,
  ...ENTRY_JSON_FIELDS,
  'erased',
] as const;

/** Neutralises a formula, then quotes when RFC 4180 needs it. */
export function csvCell(value: string): string {
  const v = /^[=+\-@\t\r]/.test(value) ? `'${value}` : value;
  return /[",\r\n]/.test(v) ? `"${v.replace(/"/g, '""')}"` : v;
}

export function toCsvRow(entry: Entry, ctx: RecordContext): string {
  const cells = CSV_COLUMNS.map((c) => {
    if (c === 'origin') return ctx.origin;
    if (c === 'leaf_hash') return entry.hash;
    if (c === 'erased') return entry.erased ? entry.erased.join(' ') : '';
    const v = shownValue(entry, c);
    if (v === undefined) return '';
    return typeof v === 'string' ? v : typeof v === 'number' ? String(v) : JSON.stringify(v);
  });
  return `${cells.map(csvCell).join(',')}\r\n`;
}

export const csvFormat: RecordFormat = {
  name: 'csv',
  contentType: 'text/csv; charset=utf-8; header=present',
  extension: 'csv',
  header: ({ bom }) => `${bom ? '\ufeff' : ''}${CSV_COLUMNS.join(',')}\r\n`,
  record: (entry, ctx) => toCsvRow(entry, ctx),
};
