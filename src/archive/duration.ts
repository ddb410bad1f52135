/**
 * Retention durations: a whole number and a unit, `d` (days), `w` (weeks), `m` (calendar
 * months) or `y` (calendar years): `90d`, `3m`, `6y`. Months and years are calendar steps in
 * UTC (a year from 29 February is 1 March), as regulations count them.
 */
import { ErrorCode, EvidentError } from '../core/errors.ts';

export interface Duration {
  count: number;
  unit: 'd' | 'w' | 'm' | 'y';
}

const PATTERN = /^([0-9]{1,5})([dwmy])$/;

export function parseDuration(text: string, field: string): Duration {
  const m = PATTERN.exec(text);
  if (!m) {
    throw new EvidentError(
      ErrorCode.USAGE,
      `${field} must be a whole number and a unit: d (days), w (weeks), m (months) or y (years), e.g. 90d, 3m, 6y`,
      { field, rule: 'duration', value: text },
    );
  }
  return { count: Number(m[1]), unit: m[2] as Duration['unit'] };
}

export function formatDuration(d: Duration): string {
  return `${d.count}${d.unit}`;
}

/** The instant `d` after `from`. */
export function addDuration(from: Date, d: Duration): Date {
  const t = new Date(from.getTime());
  if (d.unit === 'd') t.setUTCDate(t.getUTCDate() + d.count);
  else if (d.unit === 'w') t.setUTCDate(t.getUTCDate() + 7 * d.count);
  else if (d.unit === 'm') t.setUTCMonth(t.getUTCMonth() + d.count);
  else t.setUTCFullYear(t.getUTCFullYear() + d.count);
  return t;
}

/** Approximate length in days, only to compare two durations (a month is 30.44 days). */
export function durationDays(d: Duration): number {
  return d.count * { d: 1, w: 7, m: 30.436875, y: 365.2425 }[d.unit];
}
