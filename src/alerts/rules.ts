/**
 * The rules (docs/alerts.md), evaluated on the stream of committed entries of each log. Every
 * window is a fixed interval aligned on the Unix epoch and placed by the event's timestamp, so
 * every process that reads the same entries computes the same alert keys: that, with the
 * store's unique key, is what makes an alert fire once across processes. An alert is raised
 * when its subject crosses the threshold in a window; later matches in that window add to its
 * count here but raise nothing (one alert per rule, subject and window).
 */

import type { Entry } from '../core/event/entry.ts';
import { isReservedAction } from '../core/event/erasure.ts';
import type { AlertRules, RuleName } from './config.ts';
import { actionMatcher, workingHours } from './match.ts';

export interface Candidate {
  rule: RuleName;
  log: string;
  subject: string;
  /** The window (RFC 3339), or the moment for one-off alerts. */
  window: { start: string; end: string };
  count: number;
  /** The entry that crossed the threshold, when one did. */
  index?: number;
  details: Record<string, unknown>;
}

/** The key that makes an alert once-only: the same in every process. */
export function alertKey(c: Candidate): string {
  return `${c.rule}|${c.log}|${c.subject}|${c.window.start}`;
}

interface Windowed {
  start: number;
  count: number;
  fired: boolean;
}

const iso = (ms: number) => new Date(ms).toISOString();

export class RuleEngine {
  private readonly isLogin: (a: string) => boolean;
  private readonly isRead: (a: string) => boolean;
  private readonly atWork: (d: Date) => boolean;
  private readonly sensitive: Set<string>;
  private readonly counters = new Map<string, Windowed>();
  /** denied per log: window start → count. */
  private readonly denied = new Map<string, Map<number, number>>();
  private readonly deniedFired = new Set<string>();
  private readonly firstWindow = new Map<string, number>();
  private readonly seenSensitive = new Set<string>();
  /** silence: source → last seen ms and event times in the baseline (bucketed). */
  private readonly sources = new Map<
    string,
    { log: string; last: number; buckets: Map<number, number>; fired?: number }
  >();

  constructor(readonly rules: AlertRules) {
    this.isLogin = actionMatcher(rules.failed_logins.actions);
    this.isRead = actionMatcher(rules.bulk_reads.actions);
    const o = rules.off_hours;
    this.atWork = workingHours(o.timeZone, o.days, o.start, o.end);
    this.sensitive = new Set(rules.sensitive_first_read.resourceTypes);
  }

  /** How far back a fresh process replays entries to rebuild its windows, in ms. */
  lookbackMs(): number {
    const r = this.rules;
    return (
      1000 *
      Math.max(
        r.failed_logins.windowSeconds,
        r.bulk_reads.windowSeconds,
        r.off_hours.windowSeconds,
        r.denied_spike.enabled ? r.denied_spike.windowSeconds * (r.denied_spike.baselineWindows + 1) : 0,
        r.silence.enabled ? r.silence.baselineSeconds + r.silence.gapSeconds : 0,
      )
    );
  }

  /** One committed entry: the alerts it raises (usually none). */
  observe(log: string, e: Entry): Candidate[] {
    // The ledger's own events (alerts among them) are not user activity.
    if (isReservedAction(e.action)) return [];
    const r = this.rules;
    const t = Date.parse(e.timestamp);
    if (!Number.isFinite(t)) return [];
    const out: Candidate[] = [];
    const failed = e.result !== 'success';
    if (r.failed_logins.enabled && failed && this.isLogin(e.action)) {
      this.count(
        out,
        'failed_logins',
        log,
        e.actor_id,
        t,
        r.failed_logins.windowSeconds,
        r.failed_logins.threshold,
        e,
        {
          actor_id: e.actor_id,
          action: e.action,
        },
      );
    }
    if (r.bulk_reads.enabled && e.result === 'success' && this.isRead(e.action)) {
      this.count(
        out,
        'bulk_reads',
        log,
        e.actor_id,
        t,
        r.bulk_reads.windowSeconds,
        r.bulk_reads.threshold,
        e,
        {
          actor_id: e.actor_id,
        },
      );
    }
    if (r.off_hours.enabled && !this.atWork(new Date(t))) {
      this.count(out, 'off_hours', log, e.actor_id, t, r.off_hours.windowSeconds, 1, e, {
        actor_id: e.actor_id,
        time_zone: r.off_hours.timeZone,
        first_action: e.action,
        first_timestamp: e.timestamp,
      });
    }
    if (r.denied_spike.enabled) {
      // A baseline needs history: the spike rule speaks only once the log has been seen for
      // all of its baseline windows (a fresh process replays them: ./runner.ts).
      const b = Math.floor(t / (r.denied_spike.windowSeconds * 1000));
      if (!this.firstWindow.has(log)) this.firstWindow.set(log, b);
      if (e.result === 'denied') this.deniedSpike(out, log, t, e);
    }
    if (r.sensitive_first_read.enabled && this.sensitive.has(e.resource_type)) {
      const k = `${log}\u0000${e.actor_id}\u0000${e.resource_type}`;
      if (!this.seenSensitive.has(k)) {
        this.seenSensitive.add(k);
        out.push({
          rule: 'sensitive_first_read',
          log,
          subject: `${e.actor_id}/${e.resource_type}`,
          window: { start: 'first', end: e.timestamp },
          count: 1,
          index: e.index,
          details: {
            actor_id: e.actor_id,
            resource_type: e.resource_type,
            resource_id: e.resource_id,
            action: e.action,
          },
        });
      }
    }
    if (r.silence.enabled) {
      this.seen(log, `log:${log}`, t);
      this.seen(log, `actor:${e.actor_id}`, t);
    }
    return out;
  }

  /** Alerts that depend on the passing of time: silence of a source that usually sends. */
  tick(now: Date): Candidate[] {
    const s = this.rules.silence;
    if (!s.enabled) return [];
    const out: Candidate[] = [];
    const n = now.getTime();
    for (const [source, st] of this.sources) {
      if (n - st.last < s.gapSeconds * 1000) continue;
      let events = 0;
      for (const [b, c] of st.buckets)
        if (b * 1000 * s.gapSeconds > st.last - s.baselineSeconds * 1000) events += c;
      if (events >= s.minEvents && st.fired !== st.last) {
        st.fired = st.last;
        out.push({
          rule: 'silence',
          log: st.log,
          subject: source,
          window: { start: iso(st.last), end: now.toISOString() },
          count: events,
          details: { last_seen: iso(st.last), events_in_baseline: events, gap_seconds: s.gapSeconds },
        });
      }
      // A source silent for longer than the baseline is no longer one that usually sends.
      if (n - st.last > (s.baselineSeconds + s.gapSeconds) * 1000) this.sources.delete(source);
    }
    return out;
  }

  /** A failure the server reports (integrity, witness, archive): one alert per subject per window. */
  state(
    rule: 'integrity_failure' | 'witness_failure' | 'archive_failure',
    log: string,
    subject: string,
    now: Date,
    details: Record<string, unknown>,
  ): Candidate[] {
    const r = this.rules[rule];
    if (!r.enabled) return [];
    const out: Candidate[] = [];
    this.count(out, rule, log, subject, now.getTime(), r.windowSeconds, 1, undefined, details);
    return out;
  }

  private count(
    out: Candidate[],
    rule: RuleName,
    log: string,
    subject: string,
    t: number,
    windowSeconds: number,
    threshold: number,
    e: Entry | undefined,
    details: Record<string, unknown>,
  ): void {
    const w = windowSeconds * 1000;
    const start = Math.floor(t / w) * w;
    const k = `${rule}\u0000${log}\u0000${subject}`;
    let c = this.counters.get(k);
    if (!c || c.start !== start) {
      if (c && c.start > start) return; // an older window than the one counted: already past
      c = { start, count: 0, fired: false };
      this.counters.set(k, c);
    }
    c.count++;
    if (!c.fired && c.count >= threshold) {
      c.fired = true;
      out.push({
        rule,
        log,
        subject,
        window: { start: iso(start), end: iso(start + w) },
        count: c.count,
        ...(e ? { index: e.index } : {}),
        details: { ...details, threshold },
      });
    }
    if (this.counters.size > 200_000) this.prune(t);
  }

  private deniedSpike(out: Candidate[], log: string, t: number, e: Entry): void {
    const r = this.rules.denied_spike;
    const w = r.windowSeconds * 1000;
    const b = Math.floor(t / w);
    let m = this.denied.get(log);
    if (!m) {
      m = new Map();
      this.denied.set(log, m);
    }
    const count = (m.get(b) ?? 0) + 1;
    m.set(b, count);
    for (const old of m.keys()) if (old < b - r.baselineWindows) m.delete(old);
    let sum = 0;
    for (let i = 1; i <= r.baselineWindows; i++) sum += m.get(b - i) ?? 0;
    const baseline = sum / r.baselineWindows;
    const key = `${log}\u0000${b}`;
    const history = b - (this.firstWindow.get(log) ?? b) >= r.baselineWindows;
    if (history && count >= r.minCount && count > r.factor * baseline && !this.deniedFired.has(key)) {
      this.deniedFired.add(key);
      out.push({
        rule: 'denied_spike',
        log,
        subject: log,
        window: { start: iso(b * w), end: iso((b + 1) * w) },
        count,
        index: e.index,
        details: { baseline_per_window: baseline, factor: r.factor, min_count: r.minCount },
      });
    }
  }

  private seen(log: string, source: string, t: number): void {
    const s = this.rules.silence;
    let st = this.sources.get(source);
    if (!st) {
      st = { log, last: t, buckets: new Map() };
      this.sources.set(source, st);
    }
    if (t > st.last) st.last = t;
    const b = Math.floor(t / (s.gapSeconds * 1000));
    st.buckets.set(b, (st.buckets.get(b) ?? 0) + 1);
    const oldest = Math.floor((st.last - s.baselineSeconds * 1000) / (s.gapSeconds * 1000));
    if (st.buckets.size > 2) for (const k of st.buckets.keys()) if (k < oldest) st.buckets.delete(k);
  }

  /** Forgets windows that ended before `t`, past the longest window. */
  private prune(t: number): void {
    const horizon = t - this.lookbackMs();
    for (const [k, c] of this.counters) if (c.start < horizon) this.counters.delete(k);
  }
}
