/**
 * Which actions a rule counts: an entry of the list matches the action itself
 * (case-insensitive), the last dotted part of it (`login` matches `user.login`), or, written
 * `prefix.*`, every action under that prefix (`audit_log.*` matches `audit_log.query`).
 */
export function actionMatcher(list: readonly string[]): (action: string) => boolean {
  const exact = new Set<string>();
  const prefixes: string[] = [];
  for (const a of list) {
    const l = a.toLowerCase();
    if (l.endsWith('.*')) prefixes.push(l.slice(0, -1));
    else exact.add(l);
  }
  const cache = new Map<string, boolean>();
  return (action) => {
    let hit = cache.get(action);
    if (hit !== undefined) return hit;
    const l = action.toLowerCase();
    const dot = l.lastIndexOf('.');
    hit = exact.has(l) || (dot >= 0 && exact.has(l.slice(dot + 1))) || prefixes.some((p) => l.startsWith(p));
    if (cache.size < 10_000) cache.set(action, hit);
    return hit;
  };
}

/**
 * Working hours in an IANA time zone (Intl): is `at` on a listed day, from start to before end?
 * Asked once per entry, and Intl's formatting costs microseconds a call, so the answer is kept
 * for the UTC minute last asked about when that whole minute is one local minute (the zone's
 * offset is whole minutes there and does not change within it: every zone today); otherwise
 * each time is formatted on its own.
 */
export function workingHours(
  timeZone: string,
  days: readonly number[],
  start: string,
  end: string,
): (at: Date) => boolean {
  const fmt = new Intl.DateTimeFormat('en-US', {
    timeZone,
    weekday: 'short',
    hour: '2-digit',
    minute: '2-digit',
    second: '2-digit',
    hourCycle: 'h23',
  });
  const WEEK = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
  const from = minutes(start);
  const to = minutes(end);
  /** The local day of the week, minute of the day and second. */
  const local = (ms: number): { day: number; minute: number; second: number } => {
    let day = -1;
    let hour = 0;
    let minute = 0;
    let second = 0;
    for (const p of fmt.formatToParts(ms)) {
      if (p.type === 'weekday') day = WEEK.indexOf(p.value);
      else if (p.type === 'hour') hour = Number(p.value);
      else if (p.type === 'minute') minute = Number(p.value);
      else if (p.type === 'second') second = Number(p.value);
    }
    return { day, minute: hour * 60 + minute, second };
  };
  const inHours = (l: { day: number; minute: number }): boolean => {
    if (!days.includes(l.day)) return false;
    // An end before the start is a night shift across midnight.
    return from <= to ? l.minute >= from && l.minute < to : l.minute >= from || l.minute < to;
  };
  let keptMinute = Number.NaN;
  let kept = false;
  return (at) => {
    const t = at.getTime();
    const utcMinute = Math.floor(t / 60_000);
    if (utcMinute === keptMinute) return kept;
    const first = local(utcMinute * 60_000);
    const last = local(utcMinute * 60_000 + 59_999);
    if (first.second !== 0 || last.second !== 59 || first.day !== last.day || first.minute !== last.minute)
      return inHours(local(t));
    keptMinute = utcMinute;
    kept = inHours(first);
    return kept;
  };
}

function minutes(hhmm: string): number {
  const [h, m] = hhmm.split(':').map(Number);
  return h! * 60 + m!;
}
