/** Checking flag values; each failure is a usage error naming the flag and the rule. */
import { usageError } from './errors.ts';

export function parseCount(flagName: string, s: string, o: { min?: number; max?: number } = {}): number {
  const min = o.min ?? 0;
  const max = o.max ?? Number.MAX_SAFE_INTEGER;
  const n = /^[0-9]+$/.test(s) ? Number(s) : Number.NaN;
  if (!Number.isSafeInteger(n) || n < min || n > max) {
    const range = max === Number.MAX_SAFE_INTEGER ? `at least ${min}` : `from ${min} to ${max}`;
    throw usageError(`--${flagName} must be a whole number ${range}, not "${s}"`, `--${flagName}`, {
      rule: 'integer',
    });
  }
  return n;
}

export function optionalCount(
  flagName: string,
  s: string | undefined,
  o: { min?: number; max?: number } = {},
): number | undefined {
  return s === undefined ? undefined : parseCount(flagName, s, o);
}

// RFC 3339 §5.6: full-date, or date-time with a Z or numeric offset.
const RFC3339 =
  /^(\d{4})-(\d{2})-(\d{2})(?:[Tt](\d{2}):(\d{2}):(\d{2})(\.\d+)?([Zz]|([+-])(\d{2}):(\d{2})))?$/;

/** An RFC 3339 date-time (or full-date, meaning its midnight UTC) as an ISO 8601 UTC string. */
export function parseTime(flagName: string, s: string): string {
  const bad = () =>
    usageError(
      `--${flagName} must be an RFC 3339 date-time like 2026-01-31T23:59:59Z (or a date like 2026-01-31), not "${s}"`,
      `--${flagName}`,
      { rule: 'format' },
    );
  const m = RFC3339.exec(s);
  if (!m) throw bad();
  const [y, mo, d, h = 0, mi = 0, se = 0] = [m[1], m[2], m[3], m[4], m[5], m[6]].map((x) =>
    x === undefined ? undefined : Number(x),
  ) as [number, number, number, number?, number?, number?];
  const ms = m[7] ? Math.floor(Number(`0${m[7]}`) * 1000) : 0;
  const local = Date.UTC(y, mo - 1, d, h, mi, se, ms);
  const back = new Date(local);
  if (
    back.getUTCFullYear() !== y ||
    back.getUTCMonth() !== mo - 1 ||
    back.getUTCDate() !== d ||
    h > 23 ||
    mi > 59 ||
    se > 59
  ) {
    throw bad();
  }
  let offsetMin = 0;
  if (m[9]) {
    const oh = Number(m[10]);
    const om = Number(m[11]);
    if (oh > 23 || om > 59) throw bad();
    offsetMin = (m[9] === '-' ? -1 : 1) * (oh * 60 + om);
  }
  return new Date(local - offsetMin * 60_000).toISOString();
}

/** A comma-separated list of values, each one of `allowed`. */
export function parseList(flagName: string, s: string, allowed?: readonly string[]): string[] {
  const items = s.split(',').map((x) => x.trim());
  for (const x of items) {
    if (x === '') throw usageError(`--${flagName} has an empty item in "${s}"`, `--${flagName}`);
    if (allowed && !allowed.includes(x)) {
      throw usageError(`--${flagName}: "${x}" is not one of ${allowed.join(', ')}`, `--${flagName}`, {
        rule: 'enum',
      });
    }
  }
  return items;
}

/** One value of `allowed`. */
export function parseChoice(flagName: string, s: string, allowed: readonly string[]): string {
  if (!allowed.includes(s)) {
    throw usageError(`--${flagName}: "${s}" is not one of ${allowed.join(', ')}`, `--${flagName}`, {
      rule: 'enum',
    });
  }
  return s;
}
