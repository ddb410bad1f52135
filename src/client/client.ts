/**
 * EvidentClient: record() makes an event durable in a local spool (validated, id and timestamp
 * filled in, written and fsynced by group commit) and a background sender delivers the spool to
 * `evident serve` in order, retrying until each event has a receipt. It is an AuditSink, so the
 * Express and Fastify middleware can use it as their remote sink.
 */
import { ErrorCode, EvidentError } from '../core/errors.ts';
import { validateEvent } from '../core/event/validate.ts';
import type { AuditIntent, AuditSink } from '../integrations/sink.ts';
import { Transport } from './http.ts';
import { type LogCheck, LogChecker } from './log-check.ts';
import { type ClientOptions, type ResolvedOptions, resolveOptions } from './options.ts';
import { Sender } from './sender.ts';
import { Spool, type SpoolRecord } from './spool.ts';
import { type ClientStats, emptyStats } from './stats.ts';

/** What record() resolves with once the event is durable in the spool. */
export interface Recorded {
  id: string;
  timestamp: string;
}

export interface FlushResult {
  /** Every event spooled before the call was delivered (or set aside). */
  drained: boolean;
  /** Events still undelivered at the end of the wait. */
  pending: number;
}

/** A fail-closed request's intent in this client's spool. */
interface SpoolIntent extends AuditIntent {
  readonly record: SpoolRecord;
}

export const DEFAULT_FLUSH_TIMEOUT_MS = 30_000;
export const DEFAULT_CLOSE_TIMEOUT_MS = 5_000;

export class EvidentClient implements AuditSink {
  private readonly counters: ClientStats = emptyStats();
  private readonly sender: Sender;
  private readonly checker: LogChecker | undefined;
  private readonly abort = new AbortController();
  private closing: Promise<FlushResult> | undefined;
  private lastCheckAt = 0;
  /** The last time delivery made progress, or events began to wait in an empty spool. */
  private progressAt = Date.now();
  /** DELIVERY_STALLED was reported for the current stall. */
  private stallReported = false;
  /** The current run of failed attempts was already warned about. */
  private failureWarned = false;
  private readonly stallTimer: NodeJS.Timeout;

  private constructor(
    private readonly o: ResolvedOptions,
    private readonly spool: Spool,
  ) {
    const transport = new Transport(o, this.abort.signal);
    this.checker = o.verifierKey
      ? new LogChecker(o.verifierKey, o.origin, spool.dir, transport, o.witnesses)
      : undefined;
    this.counters.replayed = spool.replayed;
    this.counters.tornBytes = spool.tornBytes;
    this.sender = new Sender(spool, transport, o, {
      report: (e) => this.report(e),
      delivered: (n, dup) => {
        this.counters.delivered += n;
        this.counters.duplicates += dup;
        this.counters.batches++;
        this.counters.lastDeliveryAt = new Date().toISOString();
        this.progressed();
      },
      rejected: (event, error) => {
        this.counters.rejected++;
        this.progressed();
        this.safely(() => this.o.hooks.onRejected?.(event, error));
      },
      retried: (error) => {
        this.counters.retries++;
        // One warning per run of failures (a wrong key fails every few seconds, forever).
        this.report(error, !this.failureWarned);
        this.failureWarned = true;
      },
      afterDelivery: async () => {
        if (!this.checker || o.checkIntervalMs === 0 || Date.now() - this.lastCheckAt < o.checkIntervalMs)
          return;
        this.lastCheckAt = Date.now();
        await this.checkLog().catch(() => undefined); // reported by checkLog
      },
    });
    spool.onCommitted = () => this.sender.wake();
    // A timer of its own: while the sender sleeps through a long Retry-After no failure is
    // reported, yet the stall must be. Unreferenced: it never keeps the application alive.
    this.stallTimer = setInterval(
      () => this.checkStall(),
      Math.max(50, Math.min(o.stallAfterMs / 4, 15_000)),
    );
    this.stallTimer.unref();
  }

  private progressed(): void {
    this.progressAt = Date.now();
    this.stallReported = false;
    this.failureWarned = false;
  }

  /** Since when nothing was delivered, while events wait for longer than stallAfterMs. */
  private stalledSince(): number | undefined {
    if (!this.o.deliver || this.spool.size === 0) return undefined;
    return Date.now() - this.progressAt >= this.o.stallAfterMs ? this.progressAt : undefined;
  }

  private checkStall(): void {
    const since = this.stalledSince();
    if (since === undefined || this.stallReported || this.closing) return;
    this.stallReported = true;
    const minutes = (Date.now() - since) / 60_000;
    const last = this.counters.lastError;
    this.report(
      new EvidentError(
        ErrorCode.DELIVERY_STALLED,
        `nothing delivered for ${minutes >= 1 ? `${Math.floor(minutes)} min` : `${Math.round(minutes * 60_000)} ms`} ${last ? ` (last error: ${last.code}${last.status ? `, HTTP ${last.status}` : ''})` : ''}`,
        {
          since: new Date(since).toISOString(),
          pending: this.spool.size,
          ...(last ? { last_error: last.code } : {}),
        },
      ),
    );
  }

  /**
   * Opens the spool (creating the directory, taking its lock, replaying what an earlier process
   * left) and starts delivering. Rejects with USAGE for a bad option, SPOOL_FAILED when the spool
   * cannot be used (`reason: 'locked'` while another live process holds it, `'corrupt_record'`
   * for damage that is not a torn tail), KEY_INVALID for a bad verifier key.
   */
  static async open(options: ClientOptions): Promise<EvidentClient> {
    const o = resolveOptions(options);
    const spool = await Spool.open(o.spoolDir, o);
    let client: EvidentClient;
    try {
      client = new EvidentClient(o, spool);
      await client.checker?.stored();
    } catch (e) {
      await spool.close();
      throw e;
    }
    if (o.deliver) client.sender.start();
    return client;
  }

  /**
   * Validates the event, fills in `id` (UUIDv7) and `timestamp` (now: when the event happened)
   * if absent, and resolves once it is written and fsynced to the spool. Rejects, with nothing
   * kept, with VALIDATION_FAILED (every field and rule at fault), SPOOL_FULL, SPOOL_FAILED or
   * LEDGER_CLOSED.
   */
  async record(event: Readonly<Record<string, unknown>>): Promise<Recorded> {
    try {
      if (this.closing) throw new EvidentError(ErrorCode.LEDGER_CLOSED, 'the client is closed');
      const valid = validateEvent(event);
      // Events begin to wait now: a stall is measured from here, not from an idle hour before.
      if (this.spool.size === 0) this.progressAt = Date.now();
      await this.spool.append(Buffer.from(JSON.stringify(valid), 'utf8'), valid.id!);
      this.counters.spooled++;
      return { id: valid.id!, timestamp: valid.timestamp! };
    } catch (e) {
      this.counters.refused++;
      throw e;
    }
  }

  /**
   * The fail-closed write-ahead (AuditSink.begin): validates the provisional event and writes it
   * to the spool as a held intent, resolving once fsynced. It is not delivered while held.
   * Rejects, with nothing kept, with the codes of record(): on a full disk the write itself
   * fails (SPOOL_FAILED), so the request is refused before its handler runs.
   */
  async begin(provisional: Readonly<Record<string, unknown>>): Promise<AuditIntent> {
    try {
      if (this.closing) throw new EvidentError(ErrorCode.LEDGER_CLOSED, 'the client is closed');
      const valid = validateEvent(provisional);
      const record = await this.spool.append(Buffer.from(JSON.stringify(valid), 'utf8'), valid.id!, {
        intent: true,
      });
      const intent: SpoolIntent = { eventId: valid.id!, record };
      return intent;
    } catch (e) {
      this.counters.refused++;
      throw e;
    }
  }

  /**
   * Writes the final event (the intent's id) in one fsynced record; once durable, the intent is
   * retired and never delivered. On rejection the intent is still held: release() it.
   */
  async complete(intent: AuditIntent, event: Readonly<Record<string, unknown>>): Promise<Recorded> {
    const held = intent as SpoolIntent;
    try {
      const valid = validateEvent(event);
      if (valid.id !== held.eventId) {
        throw new EvidentError(ErrorCode.USAGE, "the final event must carry its intent's id", {
          id: valid.id,
          intent: held.eventId,
        });
      }
      await this.spool.append(Buffer.from(JSON.stringify(valid), 'utf8'), valid.id!, {
        retires: held.record,
      });
      this.counters.spooled++;
      return { id: valid.id!, timestamp: valid.timestamp! };
    } catch (e) {
      this.counters.refused++;
      throw e;
    }
  }

  /** Lets an intent's provisional event be delivered as it is (it is durable already). */
  async release(intent: AuditIntent): Promise<void> {
    this.spool.release((intent as SpoolIntent).record);
    this.counters.spooled++;
  }

  /**
   * Resolves when a record() now could be made durable; rejects with the code it would get
   * (SPOOL_FULL, SPOOL_FAILED, LEDGER_CLOSED). With `onFull: 'block'` it waits for room as
   * record() would. Cheap: a recent successful write is trusted, else a probe file is written
   * and fsynced.
   */
  async ensureWritable(): Promise<void> {
    if (this.closing) throw new EvidentError(ErrorCode.LEDGER_CLOSED, 'the client is closed');
    await this.spool.ensureWritable();
  }

  /** Waits until every event spooled before the call has been delivered or set aside. */
  async flush(options: { timeoutMs?: number } = {}): Promise<FlushResult> {
    const timeoutMs = options.timeoutMs ?? DEFAULT_FLUSH_TIMEOUT_MS;
    await this.spool.settled();
    const target = this.spool.lastSeq;
    if (this.spool.deliveredThrough(target)) return { drained: true, pending: this.spool.size };
    if (!this.o.deliver) return { drained: false, pending: this.spool.size };
    this.sender.urgent++;
    this.sender.wake();
    try {
      const drained = await new Promise<boolean>((resolve) => {
        const timer = setTimeout(() => {
          off();
          resolve(false);
        }, timeoutMs);
        const off = this.sender.onProgress(() => {
          if (this.spool.deliveredThrough(target)) {
            clearTimeout(timer);
            off();
            resolve(true);
          }
        });
      });
      return { drained, pending: this.spool.size };
    } finally {
      this.sender.urgent--;
    }
  }

  /**
   * Stops taking events, delivers what it can within `timeoutMs` (default 5 s), then stops the
   * sender and releases the spool's lock. Undelivered events stay in the spool for the next open.
   */
  close(options: { timeoutMs?: number } = {}): Promise<FlushResult> {
    this.closing ??= (async () => {
      const result = await this.flush({ timeoutMs: options.timeoutMs ?? DEFAULT_CLOSE_TIMEOUT_MS });
      clearInterval(this.stallTimer);
      this.abort.abort();
      await this.sender.stop();
      await this.spool.close();
      return { drained: result.drained, pending: this.spool.size };
    })();
    return this.closing;
  }

  /**
   * Fetches the log's checkpoint and checks it against the last one verified: signature by the
   * verifier key, then consistency. Rejects with CHECKPOINT_INCONSISTENT (rollback, fork, failed
   * proof), NOTE_* or CHECKPOINT_MALFORMED (bad signature or note), or the HTTP failure; every
   * failure is also reported through onError, and an inconsistency is kept in stats().logAlarm.
   */
  async checkLog(): Promise<LogCheck> {
    if (!this.checker) throw new EvidentError(ErrorCode.USAGE, 'checkLog() needs the verifierKey option');
    try {
      const r = await this.checker.check();
      this.counters.verifiedSize = r.size;
      return r;
    } catch (e) {
      const err = e instanceof EvidentError ? e : new EvidentError(ErrorCode.INTERNAL, String(e));
      const transport = err.code === ErrorCode.INTERNAL || err.code === ErrorCode.DELIVERY_FAILED;
      if (!transport && !('status' in err.details)) {
        this.counters.logAlarm = { code: err.code, message: err.message, at: new Date().toISOString() };
      }
      this.report(err);
      throw err;
    }
  }

  /** A snapshot of the counters. */
  stats(): ClientStats {
    const since = this.stalledSince();
    return {
      ...this.counters,
      stalledSince: since === undefined ? undefined : new Date(since).toISOString(),
      commits: this.spool.commits,
      pending: this.spool.size,
      pendingBytes: this.spool.bytes,
    };
  }

  /** Keeps the error, passes it to onError, and warns (unless `warn` is false for this one). */
  private report(e: EvidentError, warn = true): void {
    const status = e.details['status'];
    this.counters.lastError = {
      code: e.code,
      message: e.message,
      ...(typeof status === 'number' ? { status } : {}),
      at: new Date().toISOString(),
    };
    this.safely(() => this.o.hooks.onError?.(e));
    const sink = this.o.hooks.warn;
    if (!warn || sink === false) return;
    const http = typeof status === 'number' ? `, HTTP ${status}` : '';
    const text = `evident client: ${e.message} (${e.code}${http}); ${this.spool.size} events wait in ${this.spool.dir}`;
    // The default is a warning on stderr, as the Python client logs one.
    this.safely(() => (sink ?? console.warn)(text));
  }

  private safely(f: () => void): void {
    try {
      f();
    } catch {
      // a hook's failure is the application's; it must not stop delivery
    }
  }
}
