/**
 * The relay: moves events from the outbox into their logs, pass after pass (./pass.ts), on one
 * connection of its own that also LISTENs for the outbox's NOTIFY. It wakes on a notification,
 * and polls as well: a notification is lost while the connection is being replaced, and rows
 * enqueued before the relay started never notify it. Transient failures (STORE_BUSY, a lost
 * connection) are retried with exponential backoff; nothing is skipped meanwhile.
 *
 * Several relays may run on one outbox: one is active, the others wait as standbys and take
 * over, without losing or repeating anything, when it stops or dies.
 */
import { ErrorCode, EvidentError, isEvidentError } from '../core/errors.ts';
import { pgError } from '../store/postgres/errors.ts';
import { parsePostgresUrl } from '../store/postgres/hosts.ts';
import { poolFor } from '../store/postgres/primary.ts';
import { installOutbox } from './install.ts';
import { type LedgerFor, type PassResult, type Rejection, runPass } from './pass.ts';
import type { OutboxClient, OutboxPool } from './pg.ts';
import { statementsFor } from './record.ts';
import { DEFAULT_OUTBOX_SCHEMA } from './sql.ts';
import { Waker } from './waker.ts';

export interface OutboxRelayOptions {
  /** A pool on the application's database; or give `connectionString`. The relay holds one connection. */
  pool?: OutboxPool;
  /** A postgres:// URL of the application's database (`?schema=` names the outbox's schema). */
  connectionString?: string;
  /** The schema holding the outbox (default: the URL's `schema`, else `public`). */
  schema?: string;
  /** The log for a log name. Called once per name; an unknown log (NOT_FOUND) rejects its rows. */
  ledgerFor: LedgerFor;
  /** Most rows per pass (default 500). */
  batchSize?: number;
  /** Look for rows this often even without a notification, in ms (default 1000). */
  pollIntervalMs?: number;
  /** First and longest wait before retrying after a transient failure, in ms (default 100 and 5000). */
  minBackoffMs?: number;
  maxBackoffMs?: number;
  /** Create the outbox's tables when missing (default true). */
  install?: boolean;
  /** What the relay does, as it happens: for logs and metrics. */
  onReport?: (report: RelayReport) => void;
}

export type RelayReport =
  | { type: 'active' }
  | { type: 'standby' }
  /** `ms`: the pass's duration; `oldest_ms`: the age of its lowest row (enqueued_at is its transaction's start). */
  | { type: 'batch'; moved: number; duplicates: number; rejected: number; ms: number; oldest_ms: number }
  | ({ type: 'rejected' } & Omit<Rejection, 'detail'>)
  | { type: 'retry'; code: string; message: string; delay_ms: number }
  | { type: 'stopped' };

export interface RelayStats {
  /** Events appended (or found already appended: `duplicates`) and removed from the outbox. */
  moved: number;
  duplicates: number;
  rejected: number;
  passes: number;
}

export interface OutboxRelay {
  readonly stats: Readonly<RelayStats>;
  /**
   * Resolves after a pass that began after this call and found fewer rows than a batch: what
   * was committed to the outbox before the call has been moved (or rejected), unless a
   * standby relay's partner moved it.
   */
  drained(): Promise<void>;
  /** Finishes the pass in flight (its append and commit), then releases the connection. */
  stop(): Promise<void>;
}

export async function startOutboxRelay(o: OutboxRelayOptions): Promise<OutboxRelay> {
  const parsed = o.connectionString ? parsePostgresUrl(o.connectionString) : undefined;
  const schema = o.schema ?? parsed?.schema ?? DEFAULT_OUTBOX_SCHEMA;
  const st = statementsFor(schema);
  let pool = o.pool;
  const ownsPool = pool === undefined;
  if (!pool) {
    if (!parsed) {
      throw new EvidentError(ErrorCode.USAGE, 'the relay needs a pool or a connection string', {
        field: 'connectionString',
      });
    }
    pool = (await poolFor(parsed, {
      max: 2,
      connectionTimeoutMillis: 10_000,
      application_name: 'evident-relay',
    })) as unknown as OutboxPool;
  }
  try {
    const relay = new Relay(pool, ownsPool, st, schema, o);
    if (o.install !== false) {
      const client = await pool.connect();
      try {
        await installOutbox(client, { schema });
      } finally {
        client.release();
      }
    }
    relay.start();
    return relay;
  } catch (e) {
    if (ownsPool) await pool.end().catch(() => undefined);
    throw isEvidentError(e) ? e : pgError(e);
  }
}

class Relay implements OutboxRelay {
  readonly stats: RelayStats = { moved: 0, duplicates: 0, rejected: 0, passes: 0 };
  private readonly batchSize: number;
  private readonly pollMs: number;
  private readonly minBackoffMs: number;
  private readonly maxBackoffMs: number;
  private readonly report: (r: RelayReport) => void;
  private readonly ledgers = new Map<string, ReturnType<LedgerFor>>();
  private readonly waker = new Waker();
  private client: OutboxClient | undefined;
  private lost: Error | undefined;
  private role: 'active' | 'standby' | undefined;
  private stopping = false;
  private loop: Promise<void> = Promise.resolve();
  private drainWaiters: { after: number; resolve: () => void }[] = [];
  /** Passes begun (numbered from 1), to tell a pass that began after a drained() call. */
  private passStarts = 0;

  constructor(
    private readonly pool: OutboxPool,
    private readonly ownsPool: boolean,
    private readonly st: ReturnType<typeof statementsFor>,
    readonly schema: string,
    private readonly o: OutboxRelayOptions,
  ) {
    this.batchSize = positive(o.batchSize, 500, 'batchSize');
    this.pollMs = positive(o.pollIntervalMs, 1000, 'pollIntervalMs');
    this.minBackoffMs = positive(o.minBackoffMs, 100, 'minBackoffMs');
    this.maxBackoffMs = positive(o.maxBackoffMs, 5000, 'maxBackoffMs');
    const sink = o.onReport;
    this.report = (r) => {
      try {
        sink?.(r);
      } catch {
        // a failing report hook must not stop the relay
      }
    };
  }

  start(): void {
    this.loop = this.run();
  }

  private ledgerFor = (log: string) => {
    let l = this.ledgers.get(log);
    if (!l) {
      l = Promise.resolve(this.o.ledgerFor(log));
      // a refusal is not cached: the log may be created later, and a transient one may pass
      l.catch(() => this.ledgers.delete(log));
      this.ledgers.set(log, l);
    }
    return l;
  };

  private async run(): Promise<void> {
    let backoff = 0;
    while (!this.stopping) {
      const pass = ++this.passStarts;
      const t0 = performance.now();
      let result: PassResult;
      try {
        const client = await this.connection();
        result = await runPass(client, this.st, this.batchSize, this.ledgerFor);
      } catch (e) {
        const err = isEvidentError(e) ? e : pgError(e);
        if (!isEvidentError(e)) this.dropConnection(e as Error);
        backoff = Math.min(this.maxBackoffMs, backoff === 0 ? this.minBackoffMs : backoff * 2);
        const hinted = Number(err.details['retry_after_ms'] ?? 0);
        const delay = Math.min(this.maxBackoffMs, Math.max(backoff, Number.isFinite(hinted) ? hinted : 0));
        this.report({ type: 'retry', code: err.code, message: err.message, delay_ms: delay });
        await this.waker.sleep(delay, false);
        continue;
      }
      backoff = 0;
      this.stats.passes++;
      if (result.state === 'standby') {
        if (this.role !== 'standby') this.report({ type: 'standby' });
        this.role = 'standby';
        // a standby ignores notifications (each would be a failed try): it retries on its poll
        await this.waker.sleep(this.pollMs, false);
        continue;
      }
      if (this.role !== 'active') this.report({ type: 'active' });
      this.role = 'active';
      this.account(result, Math.round(performance.now() - t0));
      if (result.taken < this.batchSize) {
        this.settleDrained(pass);
        await this.waker.sleep(this.pollMs, true);
      }
    }
  }

  private account(r: Extract<PassResult, { state: 'active' }>, ms: number): void {
    this.stats.moved += r.moved;
    this.stats.duplicates += r.duplicates;
    this.stats.rejected += r.rejected.length;
    for (const { detail: _, ...x } of r.rejected) this.report({ type: 'rejected', ...x });
    if (r.taken > 0) {
      this.report({
        type: 'batch',
        moved: r.moved,
        duplicates: r.duplicates,
        rejected: r.rejected.length,
        ms,
        oldest_ms: r.oldestMs,
      });
    }
  }

  /** Settles the drained() calls made before pass number `pass` began. */
  private settleDrained(pass: number): void {
    const done = this.drainWaiters.filter((w) => w.after < pass);
    this.drainWaiters = this.drainWaiters.filter((w) => w.after >= pass);
    for (const w of done) w.resolve();
  }

  /** The relay's connection, LISTENing; a new one after a failure. */
  private async connection(): Promise<OutboxClient> {
    if (this.client && !this.lost) return this.client;
    if (this.client) this.dropConnection(this.lost!);
    const client = await this.pool.connect();
    this.lost = undefined;
    client.on('error', this.onError);
    client.on('notification', this.onNotification);
    this.client = client;
    try {
      await client.query(this.st.listen);
    } catch (e) {
      this.dropConnection(e as Error);
      throw e;
    }
    // rows may have been enqueued while no connection listened
    this.waker.wake();
    return client;
  }

  private onError = (e: Error) => {
    this.lost ??= e;
    this.waker.wake();
  };

  private onNotification = () => this.waker.wake();

  private dropConnection(why: Error | undefined): void {
    const c = this.client;
    if (!c) return;
    this.client = undefined;
    c.off('notification', this.onNotification);
    c.off('error', this.onError);
    // a destroyed client may still report its socket closing: keep listening, quietly
    c.on('error', () => {});
    c.release(why ?? true);
  }

  drained(): Promise<void> {
    if (this.stopping) return Promise.resolve();
    return new Promise((resolve) => {
      this.drainWaiters.push({ after: this.passStarts, resolve });
      this.waker.wake();
    });
  }

  async stop(): Promise<void> {
    if (this.stopping) return this.loop;
    this.stopping = true;
    this.waker.stop();
    await this.loop;
    const c = this.client;
    if (c) {
      this.client = undefined;
      c.off('notification', this.onNotification);
      c.off('error', this.onError);
      // UNLISTEN before the connection goes back to a pool that is not ours
      if (!this.lost) await c.query('UNLISTEN *').catch(() => undefined);
      c.release(this.lost);
    }
    if (this.ownsPool) await this.pool.end().catch(() => undefined);
    for (const w of this.drainWaiters.splice(0)) w.resolve();
    this.report({ type: 'stopped' });
  }
}

function positive(v: number | undefined, fallback: number, field: string): number {
  if (v === undefined) return fallback;
  if (!Number.isSafeInteger(v) || v <= 0) {
    throw new EvidentError(ErrorCode.USAGE, `${field} must be a positive integer`, { field });
  }
  return v;
}
