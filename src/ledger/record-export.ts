/**
 * Exports for SIEMs (./siem): the entries of a log, or of a window of received_at, as OCSF, CEF,
 * syslog or CSV lines, read from the store page by page (pages bounded in bytes, as the bundle
 * export's) and handed out one record at a time: memory stays constant at any log size. Each
 * record names the log's origin, the entry's index and its leaf hash.
 */
import { ErrorCode, EvidentError } from '../core/errors.ts';
import { EXPORT_PAGE_ENTRIES } from './export.ts';
import type { Ledger } from './ledger.ts';
import { RECORD_FORMATS, type RecordFormat } from './siem/index.ts';
import { type TimeWindow, windowRange } from './window.ts';

export interface RecordExportOptions extends TimeWindow {
  format: string;
  /** The evident version written into records (OCSF metadata.product.version, CEF Device Version). */
  productVersion?: string;
  /** CSV only: start with a UTF-8 byte order mark. */
  bom?: boolean;
  /** Or an index range [fromIndex, toIndex), intersected with the window. */
  fromIndex?: number;
  toIndex?: number;
  pageSize?: number;
}

export function recordFormat(name: string): RecordFormat {
  const f = RECORD_FORMATS[name];
  if (!f) {
    throw new EvidentError(
      ErrorCode.USAGE,
      `format must be one of bundle, ${Object.keys(RECORD_FORMATS).join(', ')}; not "${name}"`,
      { field: 'format', rule: 'enum' },
    );
  }
  return f;
}

/** The records as lines of text (the format's line ending included), the header line first if the format has one. */
export async function* exportRecords(ledger: Ledger, o: RecordExportOptions): AsyncIterable<string> {
  const format = recordFormat(o.format);
  const size = await ledger.size();
  let { from, to } = await windowRange(ledger, o, size);
  if (o.fromIndex !== undefined) from = Math.max(from, o.fromIndex);
  if (o.toIndex !== undefined) to = Math.min(to, o.toIndex);
  const ctx = { origin: ledger.log.origin, productVersion: o.productVersion ?? 'unknown' };
  const head = format.header({ bom: o.bom === true });
  if (head !== '') yield head;
  const pageSize = o.pageSize ?? EXPORT_PAGE_ENTRIES;
  for (let at = from; at < to; ) {
    const page = await ledger.store.entries(ledger.log.id, at, to, pageSize);
    if (page.length === 0 || page[0]!.index !== at) throw missing(ledger, at);
    for (const e of page) {
      if (e.index !== at) throw missing(ledger, at);
      yield format.record(e, ctx);
      at++;
    }
  }
}

function missing(ledger: Ledger, index: number): EvidentError {
  return new EvidentError(
    ErrorCode.TAMPER_DETECTED,
    `entry ${index} of log "${ledger.log.name}" is missing from the store, inside the log`,
    { index },
  );
}
