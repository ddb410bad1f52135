/**
 * The spool's bounds: at most `maxEvents` undelivered events and `maxBytes` of them. When full,
 * `reject` refuses at once with SPOOL_FULL; `block` queues the caller (first come, first served)
 * until deliveries make room, and refuses with SPOOL_FULL after `blockTimeoutMs`. Nothing is
 * ever dropped to make room.
 */
import { ErrorCode, EvidentError } from '../core/errors.ts';
import type { OnFull } from './options.ts';

interface Waiter {
  bytes: number;
  /** A record's wait takes the room when let in; ensureWritable's only looks. */
  take: boolean;
  resolve: () => void;
  reject: (e: EvidentError) => void;
  timer: NodeJS.Timeout;
}

export interface RoomLimits {
  maxEvents: number;
  maxBytes: number;
  onFull: OnFull;
  blockTimeoutMs: number;
}

export class RoomGate {
  private reservedEvents = 0;
  private reservedBytes = 0;
  private waiters: Waiter[] = [];
  private closed = false;

  constructor(
    private readonly limits: RoomLimits,
    private readonly used: () => { events: number; bytes: number },
  ) {}

  private fits(bytes: number): boolean {
    const u = this.used();
    return (
      u.events + this.reservedEvents + 1 <= this.limits.maxEvents &&
      u.bytes + this.reservedBytes + bytes <= this.limits.maxBytes
    );
  }

  private full(bytes: number, waited: boolean): EvidentError {
    const u = this.used();
    return new EvidentError(
      ErrorCode.SPOOL_FULL,
      waited
        ? `the spool stayed full for ${this.limits.blockTimeoutMs} ms`
        : 'the spool holds its limit of undelivered events',
      {
        limit: { events: this.limits.maxEvents, bytes: this.limits.maxBytes },
        pending: { events: u.events + this.reservedEvents, bytes: u.bytes + this.reservedBytes },
        ...(bytes > this.limits.maxBytes ? { reason: 'event_larger_than_spool' } : {}),
      },
    );
  }

  /** Takes room for one record of `bytes`, waiting in `block` mode. */
  reserve(bytes: number): Promise<void> {
    return this.wait(bytes, true);
  }

  /** Gives back a reservation (the record was written, and is now counted as used, or refused). */
  cancel(bytes: number): void {
    this.reservedEvents--;
    this.reservedBytes -= bytes;
  }

  /** Resolves when one small record would fit now (waiting in `block` mode), else SPOOL_FULL. */
  check(): Promise<void> {
    return this.wait(0, false);
  }

  private take(bytes: number): void {
    this.reservedEvents++;
    this.reservedBytes += bytes;
  }

  private wait(bytes: number, take: boolean): Promise<void> {
    if (this.closed) return Promise.reject(new EvidentError(ErrorCode.LEDGER_CLOSED, 'the client is closed'));
    if (this.waiters.length === 0 && this.fits(bytes)) {
      if (take) this.take(bytes);
      return Promise.resolve();
    }
    if (this.limits.onFull === 'reject' || bytes > this.limits.maxBytes || this.limits.blockTimeoutMs === 0) {
      return Promise.reject(this.full(bytes, false));
    }
    return new Promise<void>((resolve, reject) => {
      const w: Waiter = {
        bytes,
        take,
        resolve,
        reject,
        timer: setTimeout(() => {
          this.waiters.splice(this.waiters.indexOf(w), 1);
          reject(this.full(bytes, true));
          this.wake();
        }, this.limits.blockTimeoutMs),
      };
      this.waiters.push(w);
    });
  }

  /** Lets waiters in, in order, while there is room. */
  wake(): void {
    while (this.waiters.length > 0 && this.fits(this.waiters[0]!.bytes)) {
      const w = this.waiters.shift()!;
      clearTimeout(w.timer);
      // Taken here, before the next waiter is judged, so two cannot take the same room.
      if (w.take) this.take(w.bytes);
      w.resolve();
    }
  }

  close(): void {
    this.closed = true;
    for (const w of this.waiters.splice(0)) {
      clearTimeout(w.timer);
      w.reject(new EvidentError(ErrorCode.LEDGER_CLOSED, 'the client is closed'));
    }
  }
}
