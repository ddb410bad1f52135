/**
 * The archive pass on a schedule, for `evident serve` (docs/retention.md, "Running it"): every
 * `intervalMs` each log with an archive target gets one pass. A pass that fails (a target
 * unreachable or refusing, a store busy) has sealed or pruned nothing it could not finish: it is
 * retried after a backoff (1 minute, doubling, at most the interval), logged as a warning, and
 * its error is kept for /readyz and the metrics until a pass of that log succeeds.
 *
 * Between passes, every `checkpointIntervalMs`, each such log's latest signed checkpoint is put to
 * every target that lacks it, after the rollback check of a pass; a failure there is reported as a
 * failed pass (and so retried by one).
 */
import { isEvidentError } from '../core/errors.ts';
import type { Ledger } from '../ledger/ledger.ts';
import { readTargets } from './config.ts';
import {
  type ArchivePassResult,
  archiveLatestCheckpoint,
  archivePass,
  checkArchivedCheckpoints,
} from './pass.ts';
import type { ArchiveTarget } from './target.ts';
import { openArchiveTarget } from './targets.ts';

export interface ArchiveLogState {
  log: string;
  last_run?: string;
  last_success?: string;
  last_sealed: number | null;
  lag_entries: number;
  pruned_through: number;
  /** Failed passes in a row (0 when the last pass succeeded). */
  failures: number;
  error?: { code: string; message: string; since: string };
  next_run?: string;
}

export interface SchedulerLogger {
  warn(obj: object, msg: string): void;
  info(obj: object, msg: string): void;
}

export interface ArchiveSchedulerOptions {
  intervalMs: number;
  /** Put each log's latest checkpoint to its targets this often, in ms (0: only at passes). */
  checkpointIntervalMs?: number;
  /** The writable ledgers of every log (the pass seals and prunes only logs with a target). */
  ledgers: () => Promise<Ledger[]>;
  now?: () => Date;
  log?: SchedulerLogger;
  /** First retry after a failure, in ms (doubles up to intervalMs). */
  retryMs?: number;
  /** Called after every pass of a log, with its result or its error. */
  onPass?: (log: string, r: ArchivePassResult | undefined, e: unknown) => void;
}

export const ARCHIVE_RETRY_MS = 60_000;

export class ArchiveScheduler {
  private timer: NodeJS.Timeout | undefined;
  private cpTimer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private stopped = false;
  private readonly states = new Map<string, ArchiveLogState>();
  private readonly retryAt = new Map<string, number>();

  constructor(private readonly o: ArchiveSchedulerOptions) {}

  start(): void {
    const cp = this.o.checkpointIntervalMs ?? 0;
    if (cp > 0 && !this.cpTimer) {
      this.cpTimer = setInterval(() => void this.runCheckpoints(), cp);
      this.cpTimer.unref();
    }
    if (this.o.intervalMs <= 0 || this.timer) return;
    // A short tick so a retry after backoff is not held back by the full interval.
    const tick = Math.min(this.o.intervalMs, this.o.retryMs ?? ARCHIVE_RETRY_MS);
    this.timer = setInterval(() => void this.runDue(), tick);
    this.timer.unref();
    void this.runDue();
  }

  /** Each log's state, for /readyz and the metrics. */
  state(): ArchiveLogState[] {
    return [...this.states.values()];
  }

  /** The logs whose last pass failed. */
  failing(): ArchiveLogState[] {
    return this.state().filter((s) => s.failures > 0);
  }

  private now(): Date {
    return this.o.now?.() ?? new Date();
  }

  /** Runs the pass of every log that is due. */
  runDue(): Promise<void> {
    if (this.running || this.stopped) return this.running ?? Promise.resolve();
    this.running = this.passAll(false).finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  /** Runs one pass of every log with a target now, whatever its schedule. */
  runNow(): Promise<void> {
    const after = this.running ?? Promise.resolve();
    this.running = after
      .then(() => this.passAll(true))
      .finally(() => {
        this.running = undefined;
      });
    return this.running;
  }

  /**
   * Puts each log's latest checkpoint to its targets (skipped while a pass runs: the pass writes
   * it). Never rejects: a failure is reported as a failed pass of that log.
   */
  runCheckpoints(): Promise<void> {
    if (this.running || this.stopped) return Promise.resolve();
    this.running = this.checkpointsAll().finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  private async checkpointsAll(): Promise<void> {
    let ledgers: Ledger[];
    try {
      ledgers = await this.o.ledgers();
    } catch (e) {
      this.o.log?.warn({ err: e }, 'archive checkpoints: the logs could not be listed');
      return;
    }
    for (const l of ledgers) {
      if (this.stopped) return;
      await this.checkpointOne(l);
    }
  }

  /**
   * Before a log is first used: reads each target's largest checkpoint into the log's published
   * floor (../ledger/published.ts), so a store rolled back or forked below what the archive holds
   * is fenced before the server signs anything of it, not at the next checkpoint tick. Writes
   * nothing. Never rejects: a failure (an unreachable target, TAMPER_DETECTED) is reported as a
   * failed pass of that log, as at a tick.
   */
  probe(l: Ledger): Promise<void> {
    return this.withTargets(l, (targets) => checkArchivedCheckpoints(l, targets));
  }

  private checkpointOne(l: Ledger): Promise<void> {
    return this.withTargets(l, async (targets) => {
      await archiveLatestCheckpoint(l, targets);
    });
  }

  /** Runs `work` on the log's targets, opened and closed around it; a failure fails the log's pass. */
  private async withTargets(l: Ledger, work: (targets: ArchiveTarget[]) => Promise<void>): Promise<void> {
    const state = this.stateOf(l.log.name);
    const targets: ArchiveTarget[] = [];
    try {
      const urls = await readTargets(l.store, l.log);
      if (urls.length === 0 || !l.canSign) return;
      for (const u of urls) targets.push(await openArchiveTarget(u));
      await work(targets);
    } catch (e) {
      this.fail(l, state, e);
    } finally {
      for (const t of targets) await t.close().catch(() => {});
    }
  }

  private stateOf(name: string): ArchiveLogState {
    return (
      this.states.get(name) ?? {
        log: name,
        last_sealed: null,
        lag_entries: 0,
        pruned_through: 0,
        failures: 0,
      }
    );
  }

  private async passAll(force: boolean): Promise<void> {
    let ledgers: Ledger[];
    try {
      ledgers = await this.o.ledgers();
    } catch (e) {
      this.o.log?.warn({ err: e }, 'archive pass: the logs could not be listed');
      return;
    }
    for (const l of ledgers) {
      if (this.stopped) return;
      const due = this.retryAt.get(l.log.name) ?? 0;
      if (!force && Date.now() < due) continue;
      await this.passOne(l);
    }
  }

  private async passOne(l: Ledger): Promise<void> {
    const name = l.log.name;
    const state = this.stateOf(name);
    let urls: string[];
    try {
      urls = await readTargets(l.store, l.log);
    } catch (e) {
      this.fail(l, state, e);
      return;
    }
    if (urls.length === 0 || !l.canSign) return;
    state.last_run = this.now().toISOString();
    const targets: ArchiveTarget[] = [];
    try {
      for (const u of urls) targets.push(await openArchiveTarget(u));
      const r = await archivePass({ ledger: l, targets, now: () => this.now() });
      state.last_success = state.last_run;
      state.last_sealed = r.last_sealed;
      state.lag_entries = r.lag_entries;
      state.pruned_through = r.pruned_through;
      state.failures = 0;
      delete state.error;
      this.retryAt.set(name, Date.now() + this.o.intervalMs);
      state.next_run = new Date(Date.now() + this.o.intervalMs).toISOString();
      this.states.set(name, state);
      if (r.sealed.length > 0 || r.pruned.length > 0)
        this.o.log?.info({ log: name, sealed: r.sealed.length, pruned: r.pruned.length }, 'archive pass');
      this.o.onPass?.(name, r, undefined);
    } catch (e) {
      this.fail(l, state, e);
    } finally {
      for (const t of targets) await t.close().catch(() => {});
    }
  }

  private fail(l: Ledger, state: ArchiveLogState, e: unknown): void {
    const name = l.log.name;
    state.failures++;
    const code = isEvidentError(e) ? e.code : 'INTERNAL';
    const message = e instanceof Error ? e.message : String(e);
    state.error = { code, message, since: state.error?.since ?? this.now().toISOString() };
    const backoff = Math.min(
      this.o.intervalMs,
      (this.o.retryMs ?? ARCHIVE_RETRY_MS) * 2 ** (state.failures - 1),
    );
    this.retryAt.set(name, Date.now() + backoff);
    state.next_run = new Date(Date.now() + backoff).toISOString();
    this.states.set(name, state);
    this.o.log?.warn(
      { log: name, code, err: e, retry_in_ms: backoff },
      'archive pass failed: nothing was pruned; retrying',
    );
    this.o.onPass?.(name, undefined, e);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    if (this.cpTimer) clearInterval(this.cpTimer);
    await this.running;
  }
}
