/**
 * The logs one server serves: a Ledger per log, opened on first use over the one shared store
 * (`ownsStore: false`), each signing with the key the key ring holds for its origin. A
 * background timer signs a checkpoint of every log whose tree grew since its last one, so the
 * published checkpoint trails the log by at most `checkpointIntervalMs`. The same interval
 * governs the checkpoints each ledger signs inside its append commits (0: neither signs; a
 * checkpoint is then signed only on demand, and a last one at close).
 */
import type { FastifyBaseLogger } from 'fastify';
import { ErrorCode, EvidentError, isEvidentError } from '../core/errors.ts';
import { formatVerifierKey } from '../core/note-keys.ts';
import type { KeyRing } from '../ledger/keyfile.ts';
import { Ledger, type LedgerOptions } from '../ledger/ledger.ts';
import { createLog } from '../ledger/open.ts';
import type { Fence } from '../ledger/published.ts';
import type { Store } from '../store/types.ts';
import { DEFAULTS } from './options.ts';
import type { Witnessing } from './witnessing.ts';

export type LedgerTuning = Pick<
  LedgerOptions,
  'maxBatch' | 'maxDelayMs' | 'maxPending' | 'checkpointIntervalMs' | 'signerState'
>;

export interface LogRegistryOptions {
  store: Store;
  keyRing: KeyRing;
  /** Logs created on first use get the origin `<originHost>/<log>`. */
  originHost: string;
  /** Each ledger's tuning; its `checkpointIntervalMs`, if given, wins over the one below. */
  ledger?: LedgerTuning;
  /** Each log's durably committed entries, batch by batch (LedgerOptions.onAppended). */
  onAppended?: LedgerOptions['onAppended'];
  /** Each log's batches committed and not yet durable, and those whose commit failed. */
  onCommitting?: LedgerOptions['onCommitting'];
  onAbandoned?: LedgerOptions['onAbandoned'];
  /** How often grown logs get a new signed checkpoint, by the timer and inside appends, in ms (0: only on demand). */
  checkpointIntervalMs?: number;
  log?: FastifyBaseLogger;
  now?: () => Date;
  /** Sends each log's latest checkpoint to its witnesses (./witnessing.ts), on its own timer. */
  witnessing?: Witnessing;
  /**
   * Checks run in order once on each log this server can sign, after it opens and before it is
   * used: each reads a checkpoint published outside the database (an archive target's largest,
   * what the witnesses hold) into the log's floor, so a rolled-back store is fenced before
   * anything of it is signed. They must not reject.
   */
  beforeUse?: readonly ((ledger: Ledger) => Promise<void>)[];
  /** Called once per log fenced (a published checkpoint contradicts it: ../ledger/published.ts). */
  onFence?: (log: string, fence: Fence) => void;
}

export class LogRegistry {
  private readonly ledgers = new Map<string, Promise<Ledger | undefined>>();
  private readonly timer: NodeJS.Timeout | undefined;
  /** The ledgers' own interval between checkpoints signed inside append commits, in ms. */
  private readonly ledgerCheckpointIntervalMs: number;
  private readonly witnessTimer: NodeJS.Timeout | undefined;
  private witnessingRun: Promise<void> | undefined;
  private closed = false;
  private sweeping: Promise<void> | undefined;
  private readonly fences = new Map<string, Fence>();

  constructor(private readonly o: LogRegistryOptions) {
    const every = o.checkpointIntervalMs ?? DEFAULTS.checkpointIntervalMs;
    // 0 is "on demand only": the ledgers then never sign inside an append either.
    this.ledgerCheckpointIntervalMs = o.ledger?.checkpointIntervalMs ?? (every > 0 ? every : Infinity);
    if (every > 0) {
      this.timer = setInterval(() => {
        this.sweeping ??= this.signGrown().finally(() => {
          this.sweeping = undefined;
        });
      }, every);
      this.timer.unref();
    }
    const w = o.witnessing;
    if (w) {
      // Ticks four times per interval; Witnessing itself keeps each log to one round per interval.
      const tick = Math.max(50, Math.floor(w.intervalMs / 4));
      this.witnessTimer = setInterval(() => {
        this.witnessingRun ??= this.witnessAll(w).finally(() => {
          this.witnessingRun = undefined;
        });
      }, tick);
      this.witnessTimer.unref();
    }
  }

  /** A witnessing round for every log this server can sign (opening each on first use). */
  private async witnessAll(w: Witnessing): Promise<void> {
    try {
      for (const info of await this.o.store.listLogs()) {
        if (this.closed) return;
        const l = await this.get(info.name);
        if (l?.canSign)
          void w
            .maybeRound(l)
            ?.catch((e) => this.o.log?.warn({ log: info.name, err: e }, 'witnessing round failed'));
      }
    } catch (e) {
      this.o.log?.warn({ err: e }, 'witnessing: listing logs failed');
    }
  }

  /** The logs fenced in this process, and why (for /readyz). */
  fenced(): ({ log: string } & Fence)[] {
    return [...this.fences].map(([log, f]) => ({ log, ...f }));
  }

  /** The ledger of an existing log, or undefined. */
  async get(name: string): Promise<Ledger | undefined> {
    if (this.closed) throw new EvidentError(ErrorCode.LEDGER_CLOSED, 'the server is shutting down');
    let p = this.ledgers.get(name);
    if (!p) {
      p = this.open(name);
      this.ledgers.set(name, p);
      // A log that does not exist yet may be created later (evident init): do not remember the miss.
      p.then(
        (l) => {
          if (!l) this.ledgers.delete(name);
        },
        () => this.ledgers.delete(name),
      );
    }
    return p;
  }

  /** Creates the log (origin `<originHost>/<name>`), or returns it if it appeared meanwhile. */
  async create(name: string): Promise<Ledger> {
    const existing = await this.get(name);
    if (existing) return existing;
    try {
      await createLog(this.o.store, {
        name,
        origin: `${this.o.originHost}/${name}`,
        signer: this.o.keyRing,
      });
      this.o.log?.info({ log: name }, 'created log on first use');
    } catch (e) {
      // Another request (or process) created it first: use theirs.
      if (!(isEvidentError(e, ErrorCode.USAGE) && (await this.o.store.getLog(name)))) throw e;
    }
    const ledger = await this.get(name);
    if (!ledger) throw new EvidentError(ErrorCode.INTERNAL, `log "${name}" vanished after creation`);
    return ledger;
  }

  private async open(name: string): Promise<Ledger | undefined> {
    const info = await this.o.store.getLog(name);
    if (!info) return undefined;
    const signer = this.o.keyRing.forOrigin(info.origin);
    // A key ring derives a key for any origin: only the one whose verifier key the log recorded
    // at creation may sign for it, else checkpoints would carry a signature nobody trusts.
    const matches = formatVerifierKey(signer.name, signer.publicKey) === info.vkey;
    if (!matches) {
      this.o.log?.error(
        { log: name, origin: info.origin },
        "the key file does not hold this log's signing key: serving it read-only (appends fail with KEY_INVALID)",
      );
    }
    const ledger = await Ledger.open({
      ...this.o.ledger,
      checkpointIntervalMs: this.ledgerCheckpointIntervalMs,
      store: this.o.store,
      log: name,
      ownsStore: false,
      ...(matches ? { signer } : {}),
      ...(this.o.onAppended ? { onAppended: this.o.onAppended } : {}),
      ...(this.o.onCommitting ? { onCommitting: this.o.onCommitting } : {}),
      ...(this.o.onAbandoned ? { onAbandoned: this.o.onAbandoned } : {}),
      ...(this.o.now ? { now: this.o.now } : {}),
      onFence: (log, f) => {
        this.fences.set(log, f);
        this.o.log?.error(
          { log, ...f },
          'log fenced: it contradicts a published checkpoint; appends refused',
        );
        this.o.onFence?.(log, f);
      },
    });
    // Before it is used: an archive target or a witness holding more than this database fences
    // the log before it signs.
    if (ledger.canSign) for (const check of this.o.beforeUse ?? []) await check(ledger);
    return ledger;
  }

  /**
   * Closes and forgets the ledgers of these logs (their cluster changed: docs/clusters.md), so
   * that the next request opens each where the map now places it. Pending appends of the old
   * ledger fail with the store's refusal (LOG_MOVED), which the client retries.
   */
  async forget(names: readonly string[]): Promise<void> {
    const closing: Promise<void>[] = [];
    for (const name of names) {
      const p = this.ledgers.get(name);
      if (!p) continue;
      this.ledgers.delete(name);
      closing.push(
        p.then(
          (l) =>
            l
              ?.close()
              .catch((e: unknown) => this.o.log?.warn({ log: name, err: e }, 'closing the moved log failed')),
          () => undefined,
        ),
      );
    }
    await Promise.all(closing);
  }

  /** Every open ledger. */
  private async openLedgers(): Promise<Ledger[]> {
    const all = await Promise.allSettled([...this.ledgers.values()]);
    return all.flatMap((r) => (r.status === 'fulfilled' && r.value ? [r.value] : []));
  }

  /** Signs a checkpoint for every log whose tree outgrew its latest checkpoint. */
  async signGrown(): Promise<void> {
    for (const l of await this.openLedgers()) {
      if (this.closed || !l.canSign || l.fenced) continue;
      try {
        const [size, cp] = await Promise.all([l.size(), l.latestCheckpoint()]);
        if (size > (cp?.size ?? -1)) await l.checkpoint();
      } catch (e) {
        // The database away (STORE_BUSY) is retried at the next tick; anything else is a fault.
        const level = isEvidentError(e, ErrorCode.STORE_BUSY) ? 'warn' : 'error';
        this.o.log?.[level]({ log: l.log.name, err: e }, 'background checkpoint failed');
      }
    }
  }

  /** Commits every pending append, signs a last checkpoint per log; the store stays open. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.timer) clearInterval(this.timer);
    if (this.witnessTimer) clearInterval(this.witnessTimer);
    await this.sweeping;
    await this.witnessingRun;
    await this.o.witnessing?.idle();
    const ledgers = await this.openLedgers();
    const results = await Promise.allSettled(ledgers.map((l) => l.close()));
    for (const [i, r] of results.entries()) {
      if (r.status === 'rejected') {
        this.o.log?.error({ log: ledgers[i]!.log.name, err: r.reason }, 'closing the log failed');
      }
    }
  }
}
