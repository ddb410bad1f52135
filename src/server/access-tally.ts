/**
 * Access by callers without a valid API key, counted instead of itemised. A refused request
 * and an anonymous read of public verification data cost the caller nothing, so writing one
 * permanent entry each would let anyone grow the log without bound (6,000 entries a minute per
 * address at the keyed rate limit). Instead each kind of attempt (log, address, action,
 * result, error code and rule, the key id named if any) is counted for a window and written as ONE event when the window ends, with the count and the
 * first and last time in its metadata.
 *
 * The bound does not depend on the caller: at most `maxAddresses` such events per window for
 * the whole server; attempts from further addresses in the same window are folded into one
 * event per kind of attempt with address `::` (unspecified) and
 * `metadata.overflow: true`. So with the defaults (60 s, 100) a flood adds at most about 100
 * entries a minute, whatever the number of addresses or requests.
 *
 * An event that cannot be written stays counted and is retried at the next window (logged and
 * counted in evident_access_audit_failures_total); close() writes what is left. Requests by a
 * valid key are still recorded one by one, durably, before they are answered (access-audit.ts).
 */
import type { FastifyBaseLogger, FastifyRequest } from 'fastify';
import type { Ledger } from '../ledger/ledger.ts';
import { type AccessRecord, accessEvent } from './access-audit.ts';
import type { ServerMetrics } from './metrics.ts';

export interface TallyOptions {
  /** Length of a window in ms (default 60,000). */
  windowMs: number;
  /** Most events (one per kind of attempt and address) written per window (default 100). */
  maxAddresses: number;
}

export const TALLY_DEFAULTS: TallyOptions = { windowMs: 60_000, maxAddresses: 100 };

interface Bucket {
  ledger: Ledger;
  event: Record<string, unknown>;
  count: number;
  firstAt: string;
  lastAt: string;
  overflow: boolean;
}

export class AccessTally {
  private readonly buckets = new Map<string, Bucket>();
  private readonly timer: NodeJS.Timeout;
  private addresses = 0;
  private flushing: Promise<void> | undefined;

  constructor(
    private readonly o: TallyOptions,
    private readonly metrics: ServerMetrics,
    private readonly log: FastifyBaseLogger,
    private readonly now: () => Date = () => new Date(),
  ) {
    this.timer = setInterval(() => void this.flush(), o.windowMs);
    this.timer.unref();
  }

  /** Counts one attempt; written when the window ends. Never throws, never waits. */
  count(req: FastifyRequest, ledger: Ledger, r: AccessRecord): void {
    const event = accessEvent(req, ledger.log.name, r);
    const meta = (event['metadata'] ?? {}) as Record<string, unknown>;
    const what = [
      ledger.log.name,
      r.action,
      r.result,
      event['actor_id'],
      meta['code'],
      meta['rule'],
      meta['claimed_key_id'],
    ].join('\u0000');
    let key = `${what}\u0000${String(event['ip_address'])}`;
    const at = this.now().toISOString();
    let b = this.buckets.get(key);
    if (!b && this.addresses >= this.o.maxAddresses) {
      key = `${what}\u0000*`;
      b = this.buckets.get(key);
      if (!b) {
        const { user_agent: _ua, ...rest } = event;
        b = {
          ledger,
          event: { ...rest, ip_address: '::' },
          count: 0,
          firstAt: at,
          lastAt: at,
          overflow: true,
        };
        this.buckets.set(key, b);
      }
    }
    if (!b) {
      b = { ledger, event, count: 0, firstAt: at, lastAt: at, overflow: false };
      this.buckets.set(key, b);
      this.addresses++;
    }
    b.count++;
    b.lastAt = at;
  }

  /** Writes one event per bucket; buckets that cannot be written are kept for the next window. */
  flush(): Promise<void> {
    this.flushing ??= this.writeAll().finally(() => {
      this.flushing = undefined;
    });
    return this.flushing;
  }

  async close(): Promise<void> {
    clearInterval(this.timer);
    await this.flushing;
    await this.flush();
  }

  private async writeAll(): Promise<void> {
    const taken = [...this.buckets.entries()];
    this.buckets.clear();
    this.addresses = 0;
    for (const [key, b] of taken) {
      const meta = (b.event['metadata'] ?? {}) as Record<string, unknown>;
      const event = {
        ...b.event,
        metadata: {
          ...meta,
          count: b.count,
          first_at: b.firstAt,
          last_at: b.lastAt,
          window_ms: this.o.windowMs,
          ...(b.overflow ? { overflow: true } : {}),
        },
      };
      try {
        await b.ledger.append(event);
        this.metrics.accessEvents.inc({
          action: String(b.event['action']),
          result: String(b.event['result']),
        });
      } catch (e) {
        this.metrics.accessAuditFailures.inc();
        this.log.error(
          { err: e, log: b.ledger.log.name },
          'access tally event not written: kept for the next window',
        );
        const again = this.buckets.get(key);
        if (again) {
          again.count += b.count;
          again.firstAt = b.firstAt;
        } else {
          this.buckets.set(key, b);
          if (!b.overflow) this.addresses++;
        }
      }
    }
  }
}
