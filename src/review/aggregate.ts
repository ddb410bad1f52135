/**
 * The report's figures, gathered in one pass over the entries in bounded memory: exact counts
 * by result and actor type (fixed vocabularies), by action up to MAX_KEYS distinct actions (the
 * rest counted as "other"), top actors with a bounded map (approximate past MAX_ACTORS distinct
 * actors, and then said so), per-day volume, and the latest SAMPLE entries of each list.
 */
import type { Entry } from '../core/event/entry.ts';

export const ALERT_ACTION = 'evident.alert';
export const AUDIT_LOG_PREFIX = 'audit_log.';
/** Distinct actions counted one by one; the rest go under OTHER. */
export const MAX_KEYS = 200;
/** Distinct actors tracked at once; past it the least active half is dropped (counts become lower bounds). */
export const MAX_ACTORS = 2048;
/** Entries listed per list (failures, after-hours, alerts, audit-log access): the latest. */
export const SAMPLE = 100;
export const TOP_ACTORS = 10;
/** Days of per-day volume kept (ten years). */
export const MAX_DAYS = 3660;
export const OTHER = '(other)';

export interface WorkingHours {
  /** Minutes after local midnight, start inclusive, end exclusive. */
  start: number;
  end: number;
  /** Weekdays 0 (Sunday) to 6 that are working days. */
  days: ReadonlySet<number>;
  /** IANA time zone. */
  timeZone: string;
}

export interface Listed {
  index: number;
  timestamp: string;
  actor_id: string;
  actor_type: string;
  action: string;
  resource: string;
  result: string;
}

export interface DayCount {
  day: string;
  total: number;
  failure: number;
  denied: number;
}

export interface Figures {
  entries: number;
  by_action: Record<string, number>;
  by_result: Record<string, number>;
  by_actor_type: Record<string, number>;
  top_actors: { actor_id: string; actor_type: string; count: number }[];
  top_actors_exact: boolean;
  failures: { count: number; latest: Listed[] };
  denials: { count: number; latest: Listed[] };
  after_hours: { count: number; latest: Listed[] };
  alerts: { count: number; latest: Listed[] };
  audit_log_access: { count: number; by_action: Record<string, number>; latest: Listed[] };
  per_day: DayCount[];
}

class Latest {
  count = 0;
  readonly items: Listed[] = [];
  add(e: Entry): void {
    this.count++;
    this.items.push(listed(e));
    if (this.items.length > SAMPLE * 2) this.items.splice(0, this.items.length - SAMPLE);
  }
  out() {
    return { count: this.count, latest: this.items.slice(-SAMPLE).reverse() };
  }
}

function listed(e: Entry): Listed {
  return {
    index: e.index,
    timestamp: e.timestamp,
    actor_id: e.actor_id,
    actor_type: e.actor_type,
    action: e.action,
    resource: `${e.resource_type}/${e.resource_id}`,
    result: e.result,
  };
}

function bump(m: Map<string, number>, k: string, cap: number): void {
  const n = m.get(k);
  if (n !== undefined) m.set(k, n + 1);
  else if (m.size < cap) m.set(k, 1);
  else m.set(OTHER, (m.get(OTHER) ?? 0) + 1);
}

const WEEKDAYS: Record<string, number> = { Sun: 0, Mon: 1, Tue: 2, Wed: 3, Thu: 4, Fri: 5, Sat: 6 };

export class Aggregator {
  private entries = 0;
  private readonly actions = new Map<string, number>();
  private readonly results = new Map<string, number>();
  private readonly actorTypes = new Map<string, number>();
  private readonly actors = new Map<string, { type: string; count: number }>();
  private actorsExact = true;
  private readonly failures = new Latest();
  private readonly denials = new Latest();
  private readonly afterHours = new Latest();
  private readonly alerts = new Latest();
  private readonly auditLog = new Latest();
  private readonly auditLogActions = new Map<string, number>();
  private readonly days = new Map<string, DayCount>();
  private readonly fmt: Intl.DateTimeFormat;
  /** Local (weekday, minute) by 15-minute UTC slot: every zone offset is a multiple of 15 minutes. */
  private readonly slots = new Map<string, boolean>();

  /** The range in epoch milliseconds: timestamps are compared as times, not as text (fractions differ). */
  private readonly fromMs: number;
  private readonly toMs: number;

  constructor(
    from: string,
    to: string,
    private readonly hours: WorkingHours,
  ) {
    this.fromMs = Date.parse(from);
    this.toMs = Date.parse(to);
    this.fmt = new Intl.DateTimeFormat('en-US', {
      timeZone: hours.timeZone,
      weekday: 'short',
      hour: '2-digit',
      minute: '2-digit',
      hourCycle: 'h23',
    });
  }

  /** Adds the entries of a page that fall in the range (by event timestamp). */
  addPage(page: readonly Entry[]): void {
    for (const e of page) {
      const t = Date.parse(e.timestamp);
      if (t >= this.fromMs && t < this.toMs) this.add(e);
    }
  }

  private isAfterHours(timestamp: string): boolean {
    const t = Date.parse(timestamp);
    const slot = Math.floor(t / 900_000);
    const key = String(slot);
    let after = this.slots.get(key);
    if (after === undefined) {
      const parts = this.fmt.formatToParts(new Date(slot * 900_000));
      const get = (type: string) => parts.find((p) => p.type === type)?.value ?? '';
      const minute = Number(get('hour')) * 60 + Number(get('minute'));
      const day = WEEKDAYS[get('weekday')] ?? 0;
      after = !this.hours.days.has(day) || minute < this.hours.start || minute >= this.hours.end;
      if (this.slots.size > 100_000) this.slots.clear();
      this.slots.set(key, after);
    }
    return after;
  }

  add(e: Entry): void {
    this.entries++;
    bump(this.actions, e.action, MAX_KEYS);
    bump(this.results, e.result, MAX_KEYS);
    bump(this.actorTypes, e.actor_type, MAX_KEYS);
    const a = this.actors.get(e.actor_id);
    if (a) a.count++;
    else {
      if (this.actors.size >= MAX_ACTORS) {
        const keep = [...this.actors].sort((x, y) => y[1].count - x[1].count).slice(0, MAX_ACTORS / 2);
        this.actors.clear();
        for (const [k, v] of keep) this.actors.set(k, v);
        this.actorsExact = false;
      }
      this.actors.set(e.actor_id, { type: e.actor_type, count: 1 });
    }
    if (e.result === 'failure') this.failures.add(e);
    if (e.result === 'denied') this.denials.add(e);
    if (this.isAfterHours(e.timestamp)) this.afterHours.add(e);
    if (e.action === ALERT_ACTION) this.alerts.add(e);
    if (e.action.startsWith(AUDIT_LOG_PREFIX)) {
      this.auditLog.add(e);
      bump(this.auditLogActions, e.action, MAX_KEYS);
    }
    const day = e.timestamp.slice(0, 10);
    let d = this.days.get(day);
    if (!d && this.days.size < MAX_DAYS) {
      d = { day, total: 0, failure: 0, denied: 0 };
      this.days.set(day, d);
    }
    if (d) {
      d.total++;
      if (e.result === 'failure') d.failure++;
      if (e.result === 'denied') d.denied++;
    }
  }

  figures(): Figures {
    const obj = (m: Map<string, number>) =>
      Object.fromEntries([...m].sort((x, y) => y[1] - x[1] || (x[0] < y[0] ? -1 : 1)));
    return {
      entries: this.entries,
      by_action: obj(this.actions),
      by_result: obj(this.results),
      by_actor_type: obj(this.actorTypes),
      top_actors: [...this.actors]
        .sort((x, y) => y[1].count - x[1].count || (x[0] < y[0] ? -1 : 1))
        .slice(0, TOP_ACTORS)
        .map(([actor_id, v]) => ({ actor_id, actor_type: v.type, count: v.count })),
      top_actors_exact: this.actorsExact,
      failures: this.failures.out(),
      denials: this.denials.out(),
      after_hours: this.afterHours.out(),
      alerts: this.alerts.out(),
      audit_log_access: { ...this.auditLog.out(), by_action: obj(this.auditLogActions) },
      per_day: [...this.days.values()].sort((x, y) => (x.day < y.day ? -1 : 1)),
    };
  }
}

/** `08:00-18:00` → minutes; `mon-fri` or `mon,tue,sat` → weekdays. */
export function parseWorkingHours(hours: string, days: string, timeZone: string): WorkingHours {
  const h = /^(\d{2}):(\d{2})-(\d{2}):(\d{2})$/.exec(hours);
  const start = h ? Number(h[1]) * 60 + Number(h[2]) : Number.NaN;
  const end = h ? Number(h[3]) * 60 + Number(h[4]) : Number.NaN;
  if (!h || !(start >= 0 && start < end && end <= 1440 && Number(h[2]) < 60 && Number(h[4]) < 60))
    throw new RangeError(`--work-hours must be HH:MM-HH:MM with start before end, not "${hours}"`);
  const names = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'];
  const set = new Set<number>();
  for (const part of days.toLowerCase().split(',')) {
    const r = /^([a-z]{3})(?:-([a-z]{3}))?$/.exec(part);
    const a = r ? names.indexOf(r[1]!) : -1;
    const b = r?.[2] !== undefined ? names.indexOf(r[2]) : a;
    if (a < 0 || b < 0)
      throw new RangeError(`--work-days must be like mon-fri or mon,wed,fri, not "${days}"`);
    for (let i = a; ; i = (i + 1) % 7) {
      set.add(i);
      if (i === b) break;
    }
  }
  try {
    new Intl.DateTimeFormat('en-US', { timeZone });
  } catch {
    throw new RangeError(`--time-zone must be an IANA time zone such as Europe/Berlin, not "${timeZone}"`);
  }
  return { start, end, days: set, timeZone };
}
