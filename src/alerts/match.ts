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

/** Working hours in an IANA time zone (Intl): is `at` on a listed day, from start to before end? */
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
    hourCycle: 'h23',
  });
  const WEEK = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
  const from = minutes(start);
  const to = minutes(end);
  return (at) => {
    let day = -1;
    let hour = 0;
    let minute = 0;
    for (const p of fmt.formatToParts(at)) {
      if (p.type === 'weekday') day = WEEK.indexOf(p.value);
      else if (p.type === 'hour') hour = Number(p.value);
      else if (p.type === 'minute') minute = Number(p.value);
    }
    if (!days.includes(day)) return false;
    const m = hour * 60 + minute;
    // An end before the start is a night shift across midnight.
    return from <= to ? m >= from && m < to : m >= from || m < to;
  };
}

function minutes(hhmm: string): number {
  const [h, m] = hhmm.split(':').map(Number);
  return h! * 60 + m!;
}
