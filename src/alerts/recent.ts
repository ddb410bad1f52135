/**
 * Entries this process has just appended, kept for the alert runner of the same process so that
 * it need not read them back from the database (docs/alerts.md). The runner takes a run of
 * consecutive entries from its cursor; whatever is not here (appended by another process, or
 * evicted because the runner fell behind) it reads from the store as before. Bounded by a count
 * of entries over all logs: the oldest go first.
 */
import type { Entry } from '../core/event/entry.ts';

/** Entries held at most, over all logs (about 1 KB each for typical events). */
export const RECENT_ENTRIES_MAX = 8192;

export class RecentEntries {
  private readonly byLog = new Map<number, Map<number, Entry>>();
  /** Batches in the order they came, for eviction: log id, first index, count. */
  private readonly order: [number, number, number][] = [];
  private held = 0;
  private filling: (() => void) | undefined;
  /**
   * Per log, the batches committed by this process whose fsync has not ended yet: first index →
   * end. The stored head already counts them, but they are handed over only once durable.
   */
  private readonly coming = new Map<number, Map<number, number>>();

  constructor(private readonly max = RECENT_ENTRIES_MAX) {}

  /**
   * Calls `fn` on each add that leaves the buffer half full or more: the runner then takes what
   * is held now rather than at its next poll, before the oldest are dropped and read back (at
   * thousands of events a second, a poll's worth is more than the buffer holds).
   */
  onFilling(fn: () => void): void {
    this.filling = fn;
  }

  /**
   * The ledger's listeners that feed this buffer (LedgerOptions `onAppended`, `onCommitting`,
   * `onAbandoned`): every ledger of the process is given them.
   */
  listeners() {
    return {
      onAppended: (logId: number, entries: readonly Entry[]) => this.add(logId, entries),
      onCommitting: (logId: number, first: number, count: number) => this.committing(logId, first, count),
      onAbandoned: (logId: number, first: number) => this.abandoned(logId, first),
    };
  }

  /** A batch of a log committed, not durable yet: `add` hands it over, `abandoned` withdraws it. */
  committing(logId: number, first: number, count: number): void {
    let log = this.coming.get(logId);
    if (!log) {
      log = new Map();
      this.coming.set(logId, log);
    }
    log.set(first, first + count);
  }

  /** A batch announced by `committing` whose commit failed: the runner reads the store there. */
  abandoned(logId: number, first: number): void {
    this.settle(logId, first);
  }

  /** The announced batch starting at `first` is no longer on its way (durable, or failed). */
  private settle(logId: number, first: number): void {
    const log = this.coming.get(logId);
    log?.delete(first);
    if (log?.size === 0) this.coming.delete(logId);
  }

  /** Entries committed durably to a log, in index order (batches may come in any order). */
  add(logId: number, entries: readonly Entry[]): void {
    if (entries.length === 0) return;
    this.settle(logId, entries[0]!.index);
    let log = this.byLog.get(logId);
    if (!log) {
      log = new Map();
      this.byLog.set(logId, log);
    }
    for (const e of entries) {
      if (!log.has(e.index)) this.held++;
      log.set(e.index, e);
    }
    this.order.push([logId, entries[0]!.index, entries.length]);
    // Taken batches leave their place in `order` behind: it is bounded too (a batch holds at
    // least one entry, so past `max` places the oldest are taken or due to go).
    while ((this.held > this.max || this.order.length > this.max) && this.order.length > 0) {
      const [id, first, count] = this.order.shift()!;
      const l = this.byLog.get(id);
      if (!l) continue;
      for (let i = first; i < first + count; i++) if (l.delete(i)) this.held--;
      if (l.size === 0) this.byLog.delete(id);
    }
    if (this.held * 2 >= this.max) this.filling?.();
  }

  /**
   * Removes and returns the consecutive entries of a log from index `from`, below `to`, at most
   * `limit`. Empty when the one at `from` is on its way (committed here, its fsync under way:
   * wait for it, do not read it back); undefined when it is neither held nor on its way
   * (another process appended it, or it was dropped: read the store instead).
   */
  take(logId: number, from: number, to: number, limit: number): Entry[] | undefined {
    const log = this.byLog.get(logId);
    if (!log?.has(from)) return this.isComing(logId, from) ? [] : undefined;
    const out: Entry[] = [];
    for (let i = from; i < to && out.length < limit; i++) {
      const e = log.get(i);
      if (!e) break;
      out.push(e);
      log.delete(i);
      this.held--;
    }
    if (log.size === 0) this.byLog.delete(logId);
    return out;
  }

  private isComing(logId: number, index: number): boolean {
    const log = this.coming.get(logId);
    if (!log) return false;
    for (const [first, end] of log) if (index >= first && index < end) return true;
    return false;
  }

  /** How many entries are held (for tests and metrics). */
  get size(): number {
    return this.held;
  }

  /** How many batches are remembered for eviction (for tests: bounded like the entries). */
  get batches(): number {
    return this.order.length;
  }
}
