/**
 * ArcSight Common Event Format (CEF) version 0, one record per line:
 *
 *   CEF:0|evident|evident|<version>|<action>|<action> <result>|<severity>|<extension>
 *
 * Header fields escape `\` and `|` with a backslash; extension values escape `\` and `=`, and
 * write a line feed as `\n` and a carriage return as `\r`, so that no value ends a record or
 * starts a key (the CEF specification, "Character Encoding"). Keys are fixed names of the
 * specification's dictionary, or its custom string and number fields with their labels.
 */
import type { Entry } from '../../core/event/entry.ts';
import { ERASED, epochMs, type RecordContext, type RecordFormat, shownValue } from './fields.ts';

/** Replaces every `ch` (split and join: faster than a regular expression on long values). */
function escapeChar(s: string, ch: string, by: string): string {
  return s.includes(ch) ? s.split(ch).join(by) : s;
}

export function cefHeaderEscape(s: string): string {
  return escapeChar(escapeChar(s, '\\', '\\\\'), '|', '\\|').replace(/\r\n|\r|\n/g, ' ');
}

export function cefValueEscape(s: string): string {
  return escapeChar(
    escapeChar(escapeChar(escapeChar(s, '\\', '\\\\'), '=', '\\='), '\r', '\\r'),
    '\n',
    '\\n',
  );
}

/** result → CEF severity (0-10): success 3, failure 6, denied 8. */
const SEVERITY: Record<string, number> = { success: 3, failure: 6, denied: 8 };

const text = (v: unknown): string | undefined =>
  v === undefined ? undefined : typeof v === 'string' ? v : JSON.stringify(v);

export function toCef(entry: Entry, ctx: RecordContext): string {
  const header = [
    'CEF:0',
    'evident',
    'evident',
    ctx.productVersion,
    entry.action,
    `${entry.action} ${entry.result}`,
    String(SEVERITY[entry.result] ?? 5),
  ].map((f, i) => (i === 0 ? f : cefHeaderEscape(f)));
  const shownIp = text(shownValue(entry, 'ip_address'));
  const ip = shownIp === ERASED ? undefined : shownIp;
  const details: Record<string, unknown> = {};
  for (const f of ['changed_fields', 'old_values', 'new_values', 'metadata'] as const) {
    const v = shownValue(entry, f);
    if (v !== undefined) details[f] = v;
  }
  if (entry.erased) details['erased'] = entry.erased;
  const ext: [string, string | number | undefined][] = [
    ['rt', epochMs(entry.received_at)],
    ['start', epochMs(entry.timestamp)],
    ['externalId', entry.id],
    ['act', entry.action],
    ['outcome', entry.result],
    ['suser', entry.actor_id],
    ['suid', entry.actor_id],
    ['spriv', entry.actor_type],
    // src takes an IPv4 address; an IPv6 address goes in the IPv6 custom field.
    ...(ip?.includes(':')
      ? ([
          ['c6a2', ip],
          ['c6a2Label', 'sourceIPv6'],
        ] as [string, string][])
      : ([['src', ip]] as [string, string | undefined][])),
    ['requestClientApplication', text(shownValue(entry, 'user_agent'))],
    ['reason', text(shownValue(entry, 'reason'))],
    ['cs1', ctx.origin],
    ['cs1Label', 'evidentOrigin'],
    ['cn1', entry.index],
    ['cn1Label', 'evidentIndex'],
    ['cs2', entry.hash],
    ['cs2Label', 'evidentLeafHash'],
    ['cs3', entry.resource_type],
    ['cs3Label', 'resourceType'],
    ['cs4', entry.resource_id],
    ['cs4Label', 'resourceId'],
    ['cs5', text(shownValue(entry, 'session_id'))],
    ['cs5Label', shownValue(entry, 'session_id') !== undefined ? 'sessionId' : undefined],
    ['cs6', Object.keys(details).length > 0 ? JSON.stringify(details) : undefined],
    ['cs6Label', Object.keys(details).length > 0 ? 'details' : undefined],
  ];
  const extension = ext
    .filter((kv): kv is [string, string | number] => kv[1] !== undefined)
    .map(([k, v]) => `${k}=${cefValueEscape(String(v))}`)
    .join(' ');
  return `${header.join('|')}|${extension}`;
}

export const cefFormat: RecordFormat = {
  name: 'cef',
  contentType: 'text/plain; charset=utf-8',
  extension: 'cef',
  header: () => '',
  record: (entry, ctx) => `${toCef(entry, ctx)}\n`,
};
