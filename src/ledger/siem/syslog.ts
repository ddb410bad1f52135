/**
 * RFC 5424 syslog messages, one per line:
 *
 *   <PRI>1 TIMESTAMP HOSTNAME evident - MSGID [evident@32473 origin="…" index="…" …] BOM{json}
 *
 * PRI = facility 13 (log audit, RFC 5424 §6.2.1) × 8 + severity (success 6 informational,
 * failure 5 notice, denied 4 warning). TIMESTAMP is the event's time (§6.2.3, milliseconds).
 * HOSTNAME is the host part of the log's origin (§6.2.4). MSGID is the action, cut to 32
 * printable ASCII characters (§6.2.7). SD-PARAM values escape `"`, `\` and `]` (§6.3.3). The
 * SD-ID uses 32473, the enterprise number reserved for documentation (RFC 5612), until the
 * project holds its own. MSG is the record as JSON, UTF-8 with a BOM (§6.4).
 * For TCP, forward frames each message with octet counting (RFC 6587 §3.4.1): `LEN SP MSG`.
 */
import type { Entry } from '../../core/event/entry.ts';
import { ERASED, type RecordContext, type RecordFormat, shownValue } from './fields.ts';

export const SD_ID = 'evident@32473';
export const FACILITY_LOG_AUDIT = 13;
const SEVERITY: Record<string, number> = { success: 6, failure: 5, denied: 4 };

export function sdEscape(s: string): string {
  return s.replace(/["\\\]]/g, (c) => `\\${c}`);
}

/** A header field of printable US-ASCII (33-126), at most `max` characters, or NILVALUE. */
function printable(s: string, max: number): string {
  const t = s.replace(/[^\x21-\x7e]/g, '_').slice(0, max);
  return t.length > 0 ? t : '-';
}

/** The record's JSON: the event as exported (erased values as markers) and the proof fields. */
export function exportedObject(entry: Entry, ctx: RecordContext): Record<string, unknown> {
  const out: Record<string, unknown> = {
    origin: ctx.origin,
    index: entry.index,
    leaf_hash: entry.hash,
  };
  for (const k of Object.keys(entry) as (keyof Entry)[]) {
    if (k === 'salts' || k === 'commitments' || k === 'hash' || k === 'prev_hash' || k === 'index') continue;
    const v = shownValue(entry, k);
    if (v !== undefined) out[k] = v;
  }
  for (const f of entry.erased ?? []) out[f] = ERASED;
  return out;
}

export function toSyslog(entry: Entry, ctx: RecordContext): string {
  const pri = FACILITY_LOG_AUDIT * 8 + (SEVERITY[entry.result] ?? 5);
  const time = new Date(Date.parse(entry.timestamp)).toISOString();
  const host = printable(ctx.origin.split('/')[0] ?? '', 255);
  const params: [string, string | number | undefined][] = [
    ['origin', ctx.origin],
    ['index', entry.index],
    ['leaf_hash', entry.hash],
    ['id', entry.id],
    ['actor', entry.actor_id],
    ['action', entry.action],
    ['result', entry.result],
  ];
  const sd = `[${SD_ID}${params
    .filter((p): p is [string, string | number] => p[1] !== undefined)
    .map(([k, v]) => ` ${k}="${sdEscape(String(v))}"`)
    .join('')}]`;
  return `<${pri}>1 ${time} ${host} evident - ${printable(entry.action, 32)} ${sd} \ufeff${JSON.stringify(exportedObject(entry, ctx))}`;
}

export const syslogFormat: RecordFormat = {
  name: 'syslog',
  contentType: 'text/plain; charset=utf-8',
  extension: 'syslog',
  header: () => '',
  record: (entry, ctx) => `${toSyslog(entry, ctx)}\n`,
};

/** RFC 6587 §3.4.1 octet counting: the message's length in bytes, a space, the message. */
export function octetCounted(message: string): string {
  return `${new TextEncoder().encode(message).length} ${message}`;
}
