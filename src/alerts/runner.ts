/**
 * The alert runner of one `evident serve` process (docs/alerts.md): every `pollMs` it reads the
 * entries committed to every log since its cursor (by any process), feeds them to the rules, and
 * raises what they find. Raising is `raiseAlert` on the alert's key: of several processes that
 * read the same entries, exactly one inserts it, and only that one writes the `evident.alert`
 * event, logs it and queues its deliveries. A fresh process starts its cursor at the entries of
 * the last lookback (the longest window) so its windows hold what they would have held; alerts
 * raised before are not raised again, their keys being taken.
 *
 * The alert row is committed before its event, so a crash (or a failed append) between the two
 * would leave an alert without its event: every pass first repairs that, appending the event of
 * every alert of the lookback whose log lacks it (`repair`; the event's id is derived from the
 * alert, so a repair racing the raise writes it once).
 */
import { createHash } from 'node:crypto';
import type { Entry } from '../core/event/entry.ts';
import type { AlertStore, LogInfo, Store } from '../store/types.ts';
import type { AlertsConfig, RuleName } from './config.ts';
import { type DeliveryOutcome, DeliveryWorker } from './delivery.ts';
import { alertEventId, appendAlertEvent } from './event.ts';
import type { RecentEntries } from './recent.ts';
import { alertKey, type Candidate, RuleEngine } from './rules.ts';

export interface AlertLogger {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

export interface AlertRunnerOptions {
  store: Store & AlertStore;
  config: AlertsConfig;
  now?: () => Date;
  log: AlertLogger;
  /** First retry delay of a failed delivery, in ms (doubles, at most 5 minutes). */
  retryMs?: number;
  onRaised?: (rule: RuleName) => void;
  onDelivery?: (sink: string, outcome: DeliveryOutcome) => void;
  onQueueDepth?: (n: number) => void;
  /** Failures the server knows of, polled on every tick (witnesses, archive passes). */
  failures?: () => {
    rule: 'witness_failure' | 'archive_failure';
    log: string;
    subject: string;
    details: Record<string, unknown>;
  }[];
  /**
   * Whether a log is fenced (it contradicts a published checkpoint, docs/threat-model.md): its
   * `evident.alert` events wait, as a failed append's do, and the repair pass of a later process
   * records them once the log is put back. The alerts are still delivered to their sinks.
   */
  fenced?: (log: string) => boolean;
  /** Entries this process appended, taken instead of read back from the store (./recent.ts). */
  recent?: RecentEntries;
}

/** Entries read at most per query, and about how many bytes of them (large events: fewer). */
const PAGE = 1000;
const PAGE_BYTES = 4 * 1024 * 1024;

export class AlertRunner {
  private engine: RuleEngine;
  private config: AlertsConfig;
  private readonly cursors = new Map<number, number>();
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  /** Entries piled up in `recent` while a pass ran: run another as soon as it ends. */
  private again = false;
  private stopped = false;
  readonly delivery: DeliveryWorker;
  /** The error of the last evaluation pass, if it failed. */
  lastError: { message: string; since: string } | undefined;

  constructor(private readonly o: AlertRunnerOptions) {
    this.config = o.config;
    this.engine = new RuleEngine(o.config.rules);
    this.delivery = new DeliveryWorker({
      store: o.store,
      config: o.config,
      now: () => this.now(),
      log: o.log,
      ...(o.retryMs !== undefined ? { retryMs: o.retryMs } : {}),
      ...(o.onDelivery ? { onDelivery: o.onDelivery } : {}),
      ...(o.onQueueDepth ? { onQueueDepth: o.onQueueDepth } : {}),
    });
    o.recent?.onFilling(() => this.soon());
  }

  /** The entries held for this runner pile up (fast ingest): a pass now, not at the next poll. */
  private soon(): void {
    if (!this.started || this.stopped || !this.config.enabled) return;
    if (this.running) this.again = true;
    else void this.tick();
  }

  private now(): Date {
    return this.o.now?.() ?? new Date();
  }

  /** A new configuration (SIGHUP): new rules start with fresh windows from the lookback. */
  reload(config: AlertsConfig): void {
    this.config = config;
    this.engine = new RuleEngine(config.rules);
    this.cursors.clear();
    this.delivery.reload(config);
    if (!this.timer && this.started && !this.stopped) this.start();
  }

  private started = false;

  start(): void {
    this.started = true;
    if (this.timer || !this.config.enabled) return;
    this.timer = setInterval(() => void this.tick(), this.config.pollMs);
    this.timer.unref();
    this.delivery.start(this.config.pollMs);
    void this.tick();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await this.running;
    await this.delivery.stop();
  }

  /** One pass: new entries of every log, time-based rules, server failures. */
  tick(): Promise<void> {
    if (this.running || this.stopped) return this.running ?? Promise.resolve();
    this.running = this.pass()
      .then(
        () => {
          this.lastError = undefined;
        },
        (e: unknown) => {
          this.lastError ??= { message: (e as Error).message, since: this.now().toISOString() };
          // The rules counted entries whose alerts may not have been raised: start afresh from
          // the lookback on the next tick (alerts raised meanwhile keep their keys: not raised twice).
          this.engine = new RuleEngine(this.config.rules);
          this.cursors.clear();
          this.o.log.warn({ err: e }, 'alert evaluation failed; retrying on the next tick');
        },
      )
      .finally(() => {
        this.running = undefined;
        if (this.again) {
          this.again = false;
          void this.tick();
        }
      });
    return this.running;
  }

  private async pass(): Promise<void> {
    if (!this.config.enabled) return;
    const logs = await this.o.store.listLogs();
    await this.repair(logs);
    for (const log of logs) await this.readLog(log);
    const now = this.now();
    for (const c of this.engine.tick(now)) await this.raise(c, logs);
    for (const f of this.o.failures?.() ?? []) {
      for (const c of this.engine.state(f.rule, f.log, f.subject, now, f.details)) await this.raise(c, logs);
    }
  }

  /**
   * Appends the `evident.alert` event of every alert raised in the lookback whose log lacks it
   * (looked up by its derived id). Returns how many events it appended.
   */
  async repair(logs?: readonly LogInfo[]): Promise<number> {
    const all = logs ?? (await this.o.store.listLogs());
    let since = new Date(this.now().getTime() - this.engine.lookbackMs()).toISOString();
    const seen = new Set<string>();
    let appended = 0;
    for (;;) {
      const page = (await this.o.store.alertsSince(since, PAGE)).filter((a) => !seen.has(a.key));
      if (page.length === 0) return appended;
      for (const a of page) {
        seen.add(a.key);
        const id = alertId(a.key);
        const eventId = alertEventId(id);
        // An alert about no one log went to every log there was when it was raised.
        const targets =
          a.log === '*' ? all.filter((l) => l.createdAt <= a.createdAt) : all.filter((l) => l.name === a.log);
        for (const info of targets) {
          if (this.o.fenced?.(info.name)) continue;
          if (await this.o.store.entryById(info.id, eventId)) continue;
          const { id: _id, raised_at: _r, ...metadata } = JSON.parse(a.body) as Record<string, unknown>;
          try {
            const r = await appendAlertEvent(this.o.store, info, id, a.createdAt, metadata, () => this.now());
            if (!r.duplicate) {
              appended++;
              this.o.log.warn(
                { alert: id, log: info.name },
                'recorded the missing evident.alert event of an alert',
              );
            }
          } catch (e) {
            this.o.log.error(
              { err: e, alert: id, log: info.name },
              'could not record the evident.alert event',
            );
          }
        }
      }
      since = page[page.length - 1]!.createdAt;
    }
  }

  /** An integrity alarm seen by the server (a verification that failed). */
  async integrityFailure(log: string, code: string, details: Record<string, unknown>): Promise<void> {
    if (!this.config.enabled) return;
    const logs = await this.o.store.listLogs();
    for (const c of this.engine.state('integrity_failure', log, code, this.now(), { code, ...details }))
      await this.raise(c, logs);
  }

  private async readLog(log: LogInfo): Promise<void> {
    let from = this.cursors.get(log.id);
    if (from === undefined) {
      const since = new Date(this.now().getTime() - this.engine.lookbackMs()).toISOString();
      const first = await this.o.store.query(log.id, { since, limit: 1 });
      from = first[0]?.index ?? (await this.o.store.head(log.id)).size;
    }
    // The first page is small; later pages are sized by the last one's entries, so that a log
    // of large events is read in bounded memory (the server may run with a small heap).
    let limit = 16;
    for (;;) {
      const { size } = await this.o.store.head(log.id);
      if (from >= size) break;
      // Held in memory when this process appended them (the same entries, durable already).
      const held = this.o.recent?.take(log.id, from, size, PAGE);
      const page: Entry[] = held ?? (await this.o.store.entries(log.id, from, size, limit));
      if (page.length === 0) break;
      if (!held) {
        const sample = JSON.stringify(page[page.length - 1]).length;
        limit = Math.max(1, Math.min(PAGE, Math.floor(PAGE_BYTES / Math.max(sample, 1))));
      }
      for (const e of page) {
        for (const c of this.engine.observe(log.name, e)) {
          if (c.rule === 'sensitive_first_read' && (await this.seenBefore(log, e))) continue;
          await this.raise(c, [log]);
        }
      }
      from = page[page.length - 1]!.index + 1;
      this.cursors.set(log.id, from);
      if (this.stopped) return;
    }
    this.cursors.set(log.id, from);
  }

  /** Whether the actor touched that resource type before this entry (older than the lookback). */
  private async seenBefore(log: LogInfo, e: Entry): Promise<boolean> {
    const prior = await this.o.store.query(log.id, {
      actor_id: e.actor_id,
      resource_type: e.resource_type,
      limit: 1,
    });
    return prior[0] !== undefined && prior[0].index < e.index;
  }

  private async raise(c: Candidate, logs: readonly LogInfo[]): Promise<void> {
    const key = alertKey(c);
    const id = alertId(key);
    const raisedAt = this.now().toISOString();
    const alert = {
      id,
      rule: c.rule,
      log: c.log,
      subject: c.subject,
      window: c.window,
      count: c.count,
      ...(c.index !== undefined ? { index: c.index } : {}),
      details: c.details,
      raised_at: raisedAt,
    };
    const body = JSON.stringify(alert);
    const sinks = [
      ...this.config.webhooks.map((w) => `webhook:${w.name}`),
      ...(this.config.syslog ? ['syslog'] : []),
    ];
    const raised = await this.o.store.raiseAlert(
      { key, rule: c.rule, log: c.log, subject: c.subject, body, createdAt: raisedAt },
      sinks,
    );
    if (!raised) return;
    this.o.onRaised?.(c.rule);
    // An alert about no one log (a witness) is recorded in every log.
    const targets = c.log === '*' ? logs : logs.filter((l) => l.name === c.log);
    const { id: _id, raised_at: _r, ...metadata } = alert;
    for (const info of targets) {
      if (this.o.fenced?.(info.name)) {
        this.o.log.warn({ alert: id, log: info.name }, 'the log is fenced: its evident.alert event waits');
        continue;
      }
      try {
        await appendAlertEvent(this.o.store, info, id, raisedAt, metadata, () => this.now());
      } catch (e) {
        this.o.log.error({ err: e, alert: id, log: info.name }, 'could not record the evident.alert event');
      }
    }
    if (this.config.log) this.o.log.warn({ alert }, `alert: ${c.rule} ${c.subject}`);
    this.delivery.kick();
  }
}

/** The alert's id (docs/alerts.md): the first 32 hex digits of SHA-256 of its key. */
function alertId(key: string): string {
  return createHash('sha256').update(key).digest('hex').slice(0, 32);
}
