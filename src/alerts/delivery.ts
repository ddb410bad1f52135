/**
 * The durable delivery queue's worker (docs/alerts.md, "Delivery"): claims due deliveries from
 * the store (a lease, so a process that dies mid-send loses nothing and another process or the
 * restarted one sends it later), sends each to its sink, and marks it delivered or schedules a
 * retry with exponential backoff. A delivery is marked done only after its sink acknowledged
 * it, so an alert may be sent twice (a crash between the two) but never lost: receivers dedupe
 * on the idempotency key.
 */
import type { AlertStore } from '../store/types.ts';
import type { AlertsConfig } from './config.ts';
import type { AlertLogger } from './runner.ts';
import { sendSyslog, sendWebhook, syslogMessage } from './sinks.ts';

export type DeliveryOutcome = 'delivered' | 'failed';

export interface DeliveryOptions {
  store: AlertStore;
  config: AlertsConfig;
  now: () => Date;
  log: AlertLogger;
  retryMs?: number;
  onDelivery?: (sink: string, outcome: DeliveryOutcome) => void;
  onQueueDepth?: (n: number) => void;
}

export const DELIVERY_RETRY_MS = 1000;
export const DELIVERY_MAX_BACKOFF_MS = 300_000;
const LEASE_MS = 120_000;
const BATCH = 50;

export class DeliveryWorker {
  private config: AlertsConfig;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private again = false;
  private stopped = false;
  /** Sinks whose last attempt failed: sink → error and since when (for /readyz). */
  readonly failing = new Map<string, { error: string; since: string }>();

  constructor(private readonly o: DeliveryOptions) {
    this.config = o.config;
  }

  reload(config: AlertsConfig): void {
    this.config = config;
    this.failing.clear();
  }

  start(intervalMs: number): void {
    if (this.timer) return;
    this.timer = setInterval(() => this.kick(), intervalMs);
    this.timer.unref();
    this.kick();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await this.running;
  }

  /** Runs a delivery pass now (or right after the one running). */
  kick(): void {
    if (this.stopped) return;
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = this.pass()
      .catch((e: unknown) => this.o.log.warn({ err: e }, 'alert delivery pass failed'))
      .finally(() => {
        this.running = undefined;
        if (this.again) {
          this.again = false;
          this.kick();
        }
      });
  }

  /** Sends every due delivery; resolves when none is left due. */
  async drain(): Promise<void> {
    await this.running;
    await this.pass();
  }

  private async pass(): Promise<void> {
    for (;;) {
      if (this.stopped) return;
      const now = this.o.now();
      const due = await this.o.store.claimAlertDeliveries(
        now.toISOString(),
        new Date(now.getTime() + LEASE_MS).toISOString(),
        BATCH,
      );
      if (due.length === 0) {
        if (this.o.onQueueDepth) this.o.onQueueDepth(await this.o.store.alertQueueDepth());
        return;
      }
      await Promise.all(
        due.map(async (d) => {
          try {
            await this.send(d.sink, d.key, d.body);
            await this.o.store.alertDelivered(d.key, d.sink, this.o.now().toISOString());
            this.failing.delete(d.sink);
            this.o.onDelivery?.(d.sink, 'delivered');
          } catch (e) {
            const attempts = d.attempts + 1;
            const wait = Math.min(
              (this.o.retryMs ?? DELIVERY_RETRY_MS) * 2 ** Math.min(attempts - 1, 20),
              DELIVERY_MAX_BACKOFF_MS,
            );
            const message = (e as Error).message;
            await this.o.store.alertRetry(
              d.key,
              d.sink,
              attempts,
              new Date(this.o.now().getTime() + wait).toISOString(),
              message,
            );
            if (!this.failing.has(d.sink))
              this.failing.set(d.sink, { error: message, since: this.o.now().toISOString() });
            this.o.onDelivery?.(d.sink, 'failed');
            this.o.log.warn(
              { sink: d.sink, attempts, retry_in_ms: wait, error: message },
              'alert delivery failed',
            );
          }
        }),
      );
    }
  }

  private async send(sink: string, key: string, body: string): Promise<void> {
    const alert = JSON.parse(body) as { id: string; rule: string; log: string; raised_at: string };
    if (sink === 'syslog') {
      const s = this.config.syslog;
      if (!s) throw new Error('syslog is no longer configured');
      await sendSyslog(s, syslogMessage(s, alert, body), this.config.webhooks[0]?.timeoutMs ?? 5000);
      return;
    }
    const name = sink.slice('webhook:'.length);
    const w = this.config.webhooks.find((x) => x.name === name);
    if (!w) throw new Error(`webhook ${name} is no longer configured (key ${key})`);
    await sendWebhook(w, alert.id, body, this.o.now);
  }
}
