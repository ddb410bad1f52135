/**
 * The time range a review covers: a calendar month (`2026-11`), a day (`2026-11-03`), or an
 * explicit `from`/`to` (RFC 3339, or dates: `to` as a date includes that whole day). Ranges are
 * half-open [from, to) on the event timestamp, UTC.
 */
import { ErrorCode, EvidentError } from '../core/errors.ts';

export interface Period {
  /** The label a sign-off names: `2026-11`, `2026-11-03`, or `from..to`. */
  label: string;
  /** Inclusive, RFC 3339 UTC. */
  from: string;
  /** Exclusive, RFC 3339 UTC. */
  to: string;
}

function usage(field: string, message: string, rule: string): EvidentError {
  return new EvidentError(ErrorCode.USAGE, message, { field, rule });
}

const pad = (n: number, w = 2) => String(n).padStart(w, '0');
const iso = (d: Date) => d.toISOString().replace('.000Z', 'Z');

function daysIn(year: number, month: number): number {
  return new Date(Date.UTC(year, month, 0)).getUTCDate();
}

/** `2026-11` or `2026-11-03`: checked to exist (no month 13, no 30 February). */
export function parsePeriod(text: string, field = '--period'): Period {
  const m = /^(\d{4})-(\d{2})(?:-(\d{2}))?$/.exec(text);
  if (!m) throw usage(field, `${field} must be a month YYYY-MM or a day YYYY-MM-DD, not "${text}"`, 'format');
  const year = Number(m[1]);
  const month = Number(m[2]);
  if (month < 1 || month > 12)
    throw usage(field, `${field} "${text}": there is no month ${m[2]} (01 to 12)`, 'no-such-month');
  if (m[3] === undefined) {
    return {
      label: `${m[1]}-${m[2]}`,
      from: iso(new Date(Date.UTC(year, month - 1, 1))),
      to: iso(new Date(Date.UTC(year, month, 1))),
    };
  }
  const day = Number(m[3]);
  const last = daysIn(year, month);
  if (day < 1 || day > last)
    throw usage(
      field,
      `${field} "${text}": ${m[1]}-${m[2]} has days 01 to ${pad(last)}, not ${m[3]}`,
      'no-such-day',
    );
  return {
    label: text,
    from: iso(new Date(Date.UTC(year, month - 1, day))),
    to: iso(new Date(Date.UTC(year, month - 1, day + 1))),
  };
}

/** One bound: an RFC 3339 time with a zone, or a date (a `to` date means the end of that day). */
export function parseBound(text: string, field: '--from' | '--to'): string {
  if (/^\d{4}-\d{2}-\d{2}$/.test(text)) {
    const p = parsePeriod(text, field);
    return field === '--from' ? p.from : p.to;
  }
  if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/i.test(text))
    throw usage(
      field,
      `${field} must be an RFC 3339 time with a zone or a date YYYY-MM-DD, not "${text}"`,
      'format',
    );
  const t = Date.parse(text);
  if (Number.isNaN(t)) throw usage(field, `${field} "${text}" is not a time that exists`, 'no-such-time');
  return iso(new Date(t));
}

export function rangePeriod(from: string | undefined, to: string | undefined): Period {
  const f = from !== undefined ? parseBound(from, '--from') : '0000-01-01T00:00:00Z';
  const t = to !== undefined ? parseBound(to, '--to') : '9999-12-31T23:59:59Z';
  if (f >= t) throw usage('--to', `--to (${t}) must be after --from (${f})`, 'order');
  return { label: `${from ?? ''}..${to ?? ''}`, from: f, to: t };
}

/** The month or day a time falls in, as a period label. */
export function periodOf(time: Date, unit: 'day' | 'month'): string {
  const m = `${time.getUTCFullYear()}-${pad(time.getUTCMonth() + 1)}`;
  return unit === 'month' ? m : `${m}-${pad(time.getUTCDate())}`;
}
