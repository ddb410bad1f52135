/**
 * The background sender: takes the oldest spooled events, one batch in flight at a time (so the
 * log receives them in spool order), and releases them from the spool only on their receipts.
 * Failures never reach the application: each is counted, kept as the last error and passed to
 * onError; transient ones are retried with backoff forever, permanent ones set aside.
 */

import { ErrorCode, EvidentError } from '../core/errors.ts';
import { retryDelay } from './backoff.ts';
import { appendDurably } from './files.ts';
import type { Transport } from './http.ts';
import type { ResolvedOptions } from './options.ts';
import type { Spool, SpoolRecord } from './spool.ts';
import { judge } from './verdict.ts';

export const REJECTED_FILE = 'rejected.jsonl';

export interface SenderEvents {
  report(error: EvidentError): void;
  delivered(count: number, duplicates: number): void;
  rejected(event: Record<string, unknown>, error: EvidentError): void;
  /** A failed attempt; the batch is sent again after a backoff. */
  retried(error: EvidentError): void;
  /** After each batch delivered (for the optional checkpoint check). */
  afterDelivery(): Promise<void>;
}

export class Sender {
  private stopped = false;
  private poke: (() => void) | undefined;
  private attempt = 0;
  /** Sends left to make one event at a time, after an ambiguous refusal. */
  private solo = 0;
  /** flush() calls waiting: no lingering while any is. */
  urgent = 0;
  private readonly listeners = new Set<() => void>();
  private running: Promise<void> | undefined;

  constructor(
    private readonly spool: Spool,
    private readonly transport: Transport,
    private readonly o: ResolvedOptions,
    private readonly on: SenderEvents,
  ) {}

  start(): void {
    this.running ??= this.loop().catch((e: unknown) => {
      // Unreachable by design (send() catches everything); if it happens, say so loudly rather
      // than crash the application: the events stay spooled for the next open.
      this.on.report(
        new EvidentError(ErrorCode.INTERNAL, `the sender stopped: ${String(e)}`, { reason: 'sender' }),
      );
    });
  }

  /** New records, a flush, or a stop: the loop looks again. */
  wake(): void {
    this.poke?.();
  }

  /** Calls `f` after every batch settled (delivered, set aside or failed). */
  onProgress(f: () => void): () => void {
    this.listeners.add(f);
    return () => this.listeners.delete(f);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.wake();
    await this.running;
  }

  /** Waits `ms`, or less if `early()` holds at a wake-up; a stop always ends the wait. */
  private sleep(ms: number, early: () => boolean): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.poke = undefined;
        resolve();
      };
      // Unreferenced: an application that ends without close() is not held open by the sender
      // (its events stay spooled for the next open).
      const timer = setTimeout(done, ms);
      timer.unref();
      this.poke = () => {
        if (this.stopped || early()) done();
      };
    });
  }

  private async loop(): Promise<void> {
    while (!this.stopped) {
      const size = this.solo > 0 ? 1 : this.o.batchSize;
      let batch = this.spool.peek(size, this.o.batchBytes);
      if (batch.length === 0) {
        await this.sleep(60_000, () => true);
        continue;
      }
      if (batch.length < size && this.o.lingerMs > 0 && this.urgent === 0) {
        await this.sleep(
          this.o.lingerMs,
          () => this.urgent > 0 || this.spool.peek(size, Infinity).length >= size,
        );
        if (this.stopped) break;
        batch = this.spool.peek(size, this.o.batchBytes);
      }
      const ok = await this.send(batch);
      for (const f of this.listeners) f();
      if (!ok && !this.stopped) {
        const last = this.lastRetryAfter;
        await this.sleep(
          retryDelay(this.attempt++, this.o.retryBaseMs, this.o.retryMaxMs, last),
          () => false,
        );
      }
    }
  }

  private lastRetryAfter: number | undefined;

  /** One attempt; false when the batch must be retried after a delay. */
  private async send(batch: SpoolRecord[]): Promise<boolean> {
    const ids = batch.map((r) => r.id);
    try {
      const receipts = await this.transport.postEvents(batch.map((r) => r.payload));
      if (receipts.length !== batch.length || receipts.some((r, i) => r?.id !== ids[i])) {
        throw new EvidentError(ErrorCode.DELIVERY_FAILED, 'the receipts do not match the events sent', {
          reason: 'protocol',
          sent: batch.length,
          receipts: receipts.length,
        });
      }
      await this.spool.complete(batch);
      if (this.solo > 0) this.solo--;
      this.attempt = 0;
      this.on.delivered(batch.length, receipts.filter((r) => r.duplicate === true).length);
      await this.on.afterDelivery();
      return true;
    } catch (e) {
      if (this.stopped && (e as { code?: string }).code === ErrorCode.DELIVERY_FAILED) return false; // aborted by close()
      const err = e instanceof EvidentError ? e : new EvidentError(ErrorCode.INTERNAL, String(e));
      const verdict = judge(err, ids);
      if (verdict.kind === 'isolate') {
        this.solo = batch.length;
        return true;
      }
      if (verdict.kind === 'reject') {
        try {
          await this.setAside(batch, verdict.items, err);
          if (this.solo > 0) this.solo--;
          return true;
        } catch (failed) {
          this.fail(failed instanceof EvidentError ? failed : err);
          return false;
        }
      }
      this.fail(err);
      return false;
    }
  }

  private fail(err: EvidentError): void {
    const ra = err.details['retry_after_ms'];
    this.lastRetryAfter = typeof ra === 'number' ? ra : undefined;
    this.on.retried(err);
  }

  /** Writes refused events to the rejected file (fsynced), then releases them from the spool. */
  private async setAside(
    batch: SpoolRecord[],
    items: Map<number, import('../core/errors.ts').FieldIssue[]>,
    cause: EvidentError,
  ): Promise<void> {
    const out: { record: SpoolRecord; event: Record<string, unknown>; error: EvidentError }[] = [];
    for (const [i, issues] of items) {
      const record = batch[i]!;
      const event = JSON.parse(record.payload.toString('utf8')) as Record<string, unknown>;
      const error = new EvidentError(
        ErrorCode.DELIVERY_REJECTED,
        `the server refused event ${record.id} for good (${cause.code}): ${cause.message}`,
        {
          id: record.id,
          status: cause.details['status'],
          server_code: cause.code,
          ...(issues.length > 0 ? { issues } : {}),
        },
      );
      out.push({ record, event, error });
    }
    const lines = out.map(({ event, error }) =>
      JSON.stringify({ rejected_at: new Date().toISOString(), error: error.toJSON(), event }),
    );
    await appendDurably(this.spool.dir, REJECTED_FILE, `${lines.join('\n')}\n`);
    await this.spool.complete(out.map((x) => x.record));
    for (const { event, error } of out) {
      this.on.rejected(event, error);
      this.on.report(error);
    }
  }
}
