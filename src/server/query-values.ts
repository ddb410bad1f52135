/**
 * Query values the schema alone cannot check: RFC 3339 times, IP addresses and the opaque
 * cursor. Each failure is a VALIDATION_FAILED naming the parameter and the rule.
 */
import { ValidationError } from '../core/errors.ts';
import { normaliseIp } from '../core/event/ip.ts';

function invalid(field: string, rule: string, message: string): ValidationError {
  return new ValidationError([{ field, rule, message }], 'querystring: ');
}

// RFC 3339 §5.6: full-date, or date-time with Z or a numeric offset.
const RFC3339 =
  /^(\d{4})-(\d{2})-(\d{2})(?:[Tt](\d{2}):(\d{2}):(\d{2})(\.\d{1,9})?([Zz]|([+-])(\d{2}):(\d{2})))?$/;

/** An RFC 3339 date-time (or a date: its midnight UTC) as an ISO 8601 UTC string. */
export function parseTime(field: string, s: string): string {
  const bad = () =>
    invalid(
      field,
      'format',
      'must be an RFC 3339 date-time like 2026-01-31T23:59:59Z, or a date like 2026-01-31',
    );
  const m = RFC3339.exec(s);
  if (!m) throw bad();
  const n = (i: number) => (m[i] === undefined ? 0 : Number(m[i]));
  const [y, mo, d, h, mi, se] = [n(1), n(2), n(3), n(4), n(5), n(6)];
  const ms = m[7] ? Math.floor(Number(`0${m[7]}`) * 1000) : 0;
  const local = Date.UTC(y, mo - 1, d, h, mi, se, ms);
  const back = new Date(local);
  if (back.getUTCFullYear() !== y || back.getUTCMonth() !== mo - 1 || back.getUTCDate() !== d) throw bad();
  if (h > 23 || mi > 59 || se > 59 || n(10) > 23 || n(11) > 59) throw bad();
  const offsetMin = m[9] ? (m[9] === '-' ? -1 : 1) * (n(10) * 60 + n(11)) : 0;
  const t = local - offsetMin * 60_000;
  if (!Number.isFinite(t) || y < 1) throw bad();
  return new Date(t).toISOString();
}

export function parseIp(field: string, s: string): string {
  const ip = normaliseIp(s);
  if (ip === undefined) throw invalid(field, 'format', 'must be an IPv4 (dotted quad) or IPv6 address');
  return ip;
}

/** The cursor is opaque to clients: base64url of `i<next index>`. */
export function encodeCursor(nextIndex: number): string {
  return Buffer.from(`i${nextIndex}`, 'utf8').toString('base64url');
}

/**
 * The cursor of /failures: the position after the last actor of a page, in the page order
 * (failures descending, then actor_id): base64url of `f<failures>:<actor_id>`.
 */
export function encodeFailuresCursor(failures: number, actorId: string): string {
  return Buffer.from(`f${failures}:${actorId}`, 'utf8').toString('base64url');
}

export function decodeFailuresCursor(cursor: string): { failures: number; actorId: string } {
  const text = Buffer.from(cursor, 'base64url').toString('utf8');
  const m = /^f(0|[1-9][0-9]{0,15}):([\s\S]+)$/.exec(text);
  const failures = m ? Number(m[1]) : Number.NaN;
  if (!m || !Number.isSafeInteger(failures) || encodeFailuresCursor(failures, m[2]!) !== cursor) {
    throw invalid('cursor', 'format', 'is not a cursor this server gave out (pass next_cursor as is)');
  }
  return { failures, actorId: m[2]! };
}

export function decodeCursor(cursor: string): number {
  const text = Buffer.from(cursor, 'base64url').toString('utf8');
  const m = /^i(0|[1-9][0-9]{0,15})$/.exec(text);
  const n = m ? Number(m[1]) : Number.NaN;
  if (!Number.isSafeInteger(n) || encodeCursor(n) !== cursor) {
    throw invalid('cursor', 'format', 'is not a cursor this server gave out (pass next_cursor as is)');
  }
  return n;
}
