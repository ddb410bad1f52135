/**
 * The append engine. Concurrent appends are gathered into batches (group commit): one write
 * transaction, one fsync, many events. An append resolves only after its batch is durably
 * committed; a full queue is refused at once (pushback), never dropped or left to grow.
 */
import './native-hash.ts';
import { bytesEqual, toBase64 } from '../core/bytes.ts';
import { openCheckpoint } from '../core/checkpoint.ts';
import { ErrorCode, EvidentError } from '../core/errors.ts';
import { type Entry, leafBytes } from '../core/event/entry.ts';
import type { AuditEvent } from '../core/event/schema.ts';
import { idWasFilled } from '../core/event/validate.ts';
import { CompactRange, consistencyPlan, inclusionPlan, type ProofPlan } from '../core/merkle/index.ts';
import { type NoteSigner, verifierFromPublicKey } from '../core/note-keys.ts';
import type { VerifyReport } from '../core/verify/report.ts';
import type {
  EntryFilter,
  FailureCount,
  LogHead,
  LogInfo,
  Store,
  StoredCheckpoint,
  StoredIntent,
  WriteTx,
} from '../store/types.ts';
import { LEDGER_DEFAULTS } from './defaults.ts';
import { type ErasureRequest, type ErasureResult, eraseSubject } from './erase.ts';
import { checkedHead } from './head.ts';
import { HeldIntents, type IntentRecovery } from './held-intents.ts';
import { integrate, type Receipt, type Unit, type UnitOutcome } from './integrate.ts';
import { DEFAULT_ORPHAN_AFTER_MS, type LedgerIntent } from './intents.ts';
import { isKeyRing, type KeyRing } from './keyfile.ts';
import { ProofNodeCache } from './proof-nodes.ts';
import { checkConsistency, checkInclusion, proofNodes } from './proofs.ts';
import {
  checkFloor,
  type Fence,
  type FloorSource,
  fencedError,
  fenceFrom,
  floorViolation,
  type PublishedFloor,
} from './published.ts';
import { signInTx } from './sign.ts';
import { SignerState } from './signer-state.ts';
import { validateBatch } from './validate-batch.ts';
import { type VerifiedQueryResult, verifiedQuery } from './verified-query.ts';
import { type VerifyOptions, verifyStoredLog } from './verify.ts';

/** Batches committed and not yet answered, at most (see drain). */
const MAX_IN_FLIGHT = 2;

export interface LedgerOptions {
  store: Store;
  /** Log name; `default` unless given. */
  log?: string;
  /** Signs checkpoints: a signer named by the log's origin, or a key ring. Without it the ledger is read-only. */
  signer?: NoteSigner | KeyRing;
  /** Most events in one commit. */
  maxBatch?: number;
  /** How long to wait for more events before committing a batch, in ms (0: next turn of the event loop). */
  maxDelayMs?: number;
  /** Most events waiting for a commit; beyond it appends are refused with STORE_BUSY. */
  maxPending?: number;
  /**
   * Sign a checkpoint at most this often while appending, in ms (Infinity: never while appending,
   * only by checkpoint()); close() always signs.
   */
  checkpointIntervalMs?: number;
  now?: () => Date;
  /** Whether close() also closes the store (default true; false when many ledgers share one store). */
  ownsStore?: boolean;
  /**
   * Write-ahead intents left by a ledger on another host count as orphans (and are appended as
   * their provisional events) once this old, in ms (default 15 min). On this host a dead
   * process's intents are orphans at once.
   */
  orphanAfterMs?: number;
  /**
   * The signer state directory (./signer-state.ts): the largest checkpoint this host let out is
   * recorded there after its transaction commits and before it leaves the ledger, and no tree
   * contradicting it is ever signed (./published.ts). Off unless given; used only with a signer.
   */
  signerState?: string;
  /** Called once when the ledger is fenced (a published checkpoint contradicts the log). */
  onFence?: (log: string, fence: Fence) => void;
  /**
   * Called with the entries of each batch once it is durably committed, in commit order (the
   * alert runner of `evident serve` takes them instead of reading them back). Must not throw.
   */
  onAppended?: (logId: number, entries: readonly Entry[]) => void;
  /**
   * Called with each batch's place in the log once its rows are written, before its commit is
   * durable; then `onAppended` follows, or `onAbandoned` if the commit failed. The alert runner
   * of `evident serve` waits for such a batch instead of reading it back. Must not throw.
   */
  onCommitting?: (logId: number, first: number, count: number) => void;
  onAbandoned?: (logId: number, first: number) => void;
}

export interface InclusionProof {
  index: number;
  size: number;
  /** The leaf bytes (RFC 8785 JSON of the entry's leaf object), base64. */
  leaf: string;
  hashes: string[];
}

interface Pending {
  unit: Unit;
  /** Intents to retire in the same transaction, if this unit is appended. */
  retire: string[];
  /** An intent to store (begin): then `unit` is empty. */
  put?: StoredIntent;
  resolve: (r: Receipt[]) => void;
  reject: (e: unknown) => void;
}

export class Ledger {
  readonly store: Store;
  readonly log: LogInfo;
  private readonly signer: NoteSigner | undefined;
  /** Upper tree nodes of the proofs this ledger checked and served (./proof-nodes.ts). */
  private readonly proofCache = new ProofNodeCache();
  private readonly maxBatch: number;
  private readonly maxDelayMs: number;
  private readonly maxPending: number;
  private readonly checkpointIntervalMs: number;
  private readonly now: () => Date;
  private readonly ownsStore: boolean;
  private pending: Pending[] = [];
  private pendingEvents = 0;
  private draining: Promise<void> | undefined;
  /** Batches committed (or being committed) whose outcome is not settled yet: awaited by flush(). */
  private readonly settling = new Set<Promise<void>>();
  /** Whether the store pipelines commits (WriteOptions): batches then overlap fsyncs. */
  private readonly pipelines: boolean;
  private lastCheckpointAt = 0;
  /**
   * The head as this ledger's last commit left it (checked by checkedHead when it was first
   * read): the expected head of Store.appendAt. Undefined until a commit through write(), and
   * after any failure.
   */
  private knownHead: LogHead | undefined;
  /** The last batch handed to Store.appendAt, settled (never rejecting): the general path waits for it. */
  private handedOver: Promise<unknown> = Promise.resolve();
  private closed = false;
  private readonly intents: HeldIntents;
  /** The signer state, when configured and the ledger signs. */
  private readonly signerState: SignerState | undefined;
  /** Floors published outside the database other than the signer state, by source and place. */
  private readonly floors = new Map<string, PublishedFloor>();
  private fenceState: Fence | undefined;
  private readonly onFence: ((log: string, fence: Fence) => void) | undefined;
  private readonly onAppended: ((logId: number, entries: readonly Entry[]) => void) | undefined;
  private readonly onCommitting: LedgerOptions['onCommitting'];
  private readonly onAbandoned: LedgerOptions['onAbandoned'];
  /** Set by open(): the orphans it appended. */
  recovery: IntentRecovery = { recovered: 0, live: 0, invalid: 0 };

  private constructor(log: LogInfo, o: LedgerOptions) {
    this.store = o.store;
    this.log = log;
    this.signer = o.signer as NoteSigner | undefined; // resolved from a key ring by open()
    this.maxBatch = o.maxBatch ?? LEDGER_DEFAULTS.maxBatch;
    this.maxDelayMs = o.maxDelayMs ?? LEDGER_DEFAULTS.maxDelayMs;
    this.pipelines = o.store.pipelines === true;
    this.maxPending = o.maxPending ?? LEDGER_DEFAULTS.maxPending;
    this.checkpointIntervalMs = o.checkpointIntervalMs ?? LEDGER_DEFAULTS.checkpointIntervalMs;
    this.now = o.now ?? (() => new Date());
    this.ownsStore = o.ownsStore ?? true;
    this.signerState =
      this.signer && o.signerState !== undefined ? new SignerState(o.signerState, log.origin) : undefined;
    this.onFence = o.onFence;
    this.onAppended = o.onAppended;
    this.onCommitting = o.onCommitting;
    this.onAbandoned = o.onAbandoned;
    this.intents = new HeldIntents({
      store: this.store,
      logId: log.id,
      now: this.now,
      orphanAfterMs: o.orphanAfterMs ?? DEFAULT_ORPHAN_AFTER_MS,
      validate: (events) => validateBatch(events, this.now),
      // Through the commit queue: concurrent intents share one transaction and one fsync with
      // the appends waiting beside them (group commit), and resolve once it is committed.
      put: (intent) =>
        new Promise<Receipt[]>((resolve, reject) => {
          this.pending.push({ unit: [], retire: [], put: intent, resolve, reject });
          this.kick();
        }),
      append: (events, retire) => this.enqueue(events, retire),
    });
  }

  static async open(o: LedgerOptions): Promise<Ledger> {
    const name = o.log ?? 'default';
    const log = await o.store.getLog(name);
    if (!log)
      throw new EvidentError(ErrorCode.NOT_FOUND, `no log named "${name}" (create it with evident init)`, {
        log: name,
      });
    const signer = o.signer && isKeyRing(o.signer) ? o.signer.forOrigin(log.origin) : o.signer;
    if (signer && signer.name !== log.origin) {
      throw new EvidentError(
        ErrorCode.KEY_INVALID,
        `the signing key is named "${signer.name}" but log "${name}" has origin "${log.origin}"`,
        { key_name: signer.name, origin: log.origin },
      );
    }
    const ledger = new Ledger(log, { ...o, ...(signer ? { signer } : {}) });
    if (signer) {
      // A log behind (or beside) what this host published is fenced before anything is appended.
      const floor = await ledger.signerState?.floor();
      if (floor) await ledger.evaluate(floor);
      if (ledger.fenceState) return ledger;
      try {
        ledger.recovery = await ledger.intents.recover();
      } catch (e) {
        ledger.intents.retire();
        throw e;
      }
    }
    return ledger;
  }

  /**
   * The fail-closed write-ahead (AuditSink.begin): validates the provisional event and stores it
   * as an intent, resolving only once that is committed. It is not in the log: `complete`
   * replaces it by the final event, `release` appends it as it is, and if this process dies
   * first, the next open() appends it. Rejects with the codes of append (STORE_BUSY when another
   * process holds the lock past the busy timeout, STORE_FAILED when the disk is full).
   */
  async begin(event: unknown): Promise<LedgerIntent> {
    await this.ensureWritable(); // a full queue refuses here, before the handler, not at complete
    return this.intents.begin(event);
  }

  /** Appends the final event of an intent and retires the intent, in one transaction. */
  complete(intent: LedgerIntent, event: unknown): Promise<Receipt> {
    return this.intents.complete(intent, event);
  }

  /** Appends an intent's provisional event as it is and retires the intent, in one transaction. */
  release(intent: LedgerIntent): Promise<Receipt> {
    return this.intents.release(intent);
  }

  /** Appends one event; resolves with its receipt once durably committed. */
  async append(event: unknown): Promise<Receipt> {
    const [r] = await this.appendMany([event]);
    return r!;
  }

  /**
   * Appends events all together or not at all: every invalid event is reported (with its
   * position) and nothing is written; an id conflict refuses the whole call.
   */
  appendMany(events: readonly unknown[]): Promise<Receipt[]> {
    return this.enqueue(events, []);
  }

  private enqueue(events: readonly unknown[], retire: string[]): Promise<Receipt[]> {
    if (this.closed) return Promise.reject(new EvidentError(ErrorCode.LEDGER_CLOSED, 'ledger is closed'));
    if (!this.signer)
      return Promise.reject(new EvidentError(ErrorCode.KEY_INVALID, 'ledger opened without a signing key'));
    if (this.fenceState) return Promise.reject(fencedError(this.log.name, this.fenceState));
    let unit: AuditEvent[];
    try {
      unit = validateBatch(events, this.now);
    } catch (e) {
      return Promise.reject(e);
    }
    if (unit.length === 0) return Promise.resolve([]);
    // A request admitted by begin() is not refused by pushback at its end: its intent is durable.
    if (retire.length === 0 && this.pendingEvents + unit.length > this.maxPending) {
      return Promise.reject(
        new EvidentError(ErrorCode.STORE_BUSY, 'too many events are waiting for a commit: retry later', {
          pending: this.pendingEvents,
          retry_after_ms: 100,
        }),
      );
    }
    return new Promise<Receipt[]>((resolve, reject) => {
      this.pending.push({ unit, retire, resolve, reject });
      this.pendingEvents += unit.length;
      this.kick();
    });
  }

  /**
   * Resolves when an append made now would be accepted for commit; rejects with the code an
   * append would get (`LEDGER_CLOSED`, `KEY_INVALID`, `STORE_BUSY`). The fail-closed preflight
   * of the middleware: a protected route runs only after this resolves.
   */
  async ensureWritable(): Promise<void> {
    if (this.closed) throw new EvidentError(ErrorCode.LEDGER_CLOSED, 'ledger is closed');
    if (!this.signer) throw new EvidentError(ErrorCode.KEY_INVALID, 'ledger opened without a signing key');
    if (this.fenceState) throw fencedError(this.log.name, this.fenceState);
    if (this.pendingEvents >= this.maxPending) {
      throw new EvidentError(ErrorCode.STORE_BUSY, 'too many events are waiting for a commit: retry later', {
        pending: this.pendingEvents,
        retry_after_ms: 100,
      });
    }
  }

  /** Resolves once every append made before it has been committed or refused. */
  async flush(): Promise<void> {
    while (this.draining || this.pending.length > 0 || this.settling.size > 0) {
      this.kick();
      await this.draining;
      await Promise.all(this.settling);
    }
  }

  private kick(): void {
    if (this.draining) return;
    this.draining = new Promise<void>((resolve) => {
      const start = () => this.drain().finally(resolve);
      if (this.maxDelayMs > 0) setTimeout(start, this.maxDelayMs);
      else setImmediate(start);
    }).finally(() => {
      this.draining = undefined;
      if (this.pending.length > 0) this.kick();
    });
  }

  private async drain(): Promise<void> {
    while (this.pending.length > 0) {
      // At most MAX_IN_FLIGHT batches between their commit and their answer: more would only
      // cut what waits into smaller batches.
      while (this.settling.size >= MAX_IN_FLIGHT) await Promise.race(this.settling);
      const batch: Pending[] = [];
      let n = 0;
      // With a pipelining store and nothing in flight, half of what waits goes first, so that
      // the rest is prepared and written while that half's fsync runs; callers answered together
      // come back together, so the two halves keep alternating.
      const cap =
        this.pipelines && this.settling.size === 0
          ? Math.min(this.maxBatch, Math.ceil(this.pendingEvents / 2))
          : this.maxBatch;
      while (this.pending.length > 0 && (batch.length === 0 || n + this.pending[0]!.unit.length <= cap)) {
        const p = this.pending.shift()!;
        batch.push(p);
        n += p.unit.length;
      }
      this.pendingEvents -= n;
      // The next batch is formed as soon as this one is committed, while its fsync runs
      // (store pipelining, WriteOptions); each caller is answered once its batch is durable.
      // A batch that is all there is to do commits inline instead: with nothing to prepare
      // meanwhile, handing its fsync to another thread and back only adds to its latency.
      const alone = this.pending.length === 0 && this.settling.size === 0;
      let committed!: () => void;
      const next = new Promise<void>((r) => {
        committed = r;
      });
      const settled: Promise<void> = this.commit(batch, committed, alone)
        .then(
          (outcomes) => {
            for (const [i, o] of outcomes.entries()) {
              if (o.ok) batch[i]!.resolve(o.receipts);
              else batch[i]!.reject(o.error);
            }
          },
          (e) => {
            for (const p of batch) p.reject(e);
          },
        )
        .finally(() => this.settling.delete(settled));
      this.settling.add(settled);
      await Promise.race([next, settled]);
    }
  }

  private async commit(batch: Pending[], committed: () => void, alone: boolean): Promise<UnitOutcome[]> {
    const units = batch.map((p) => p.unit);
    // Only ids a client chose can be stored already (idempotent retries); made ones are fresh.
    const ids: string[] = [];
    for (const u of units) for (const e of u) if (!idWasFilled(e)) ids.push(e.id);
    const erasable = this.log.erasable;
    // A transaction that signs a checkpoint is not pipelined: a checkpoint is seen only once durable.
    const sign = Date.now() - this.lastCheckpointAt >= this.checkpointIntervalMs;
    const known = this.knownHead;
    let signed: StoredCheckpoint | undefined;
    let written: Entry[] = [];
    /** The first index of the batch announced to onCommitting, until it is durable or failed. */
    let announced: number | undefined;
    const withdraw = () => {
      if (announced !== undefined) this.tell(() => this.onAbandoned?.(this.log.id, announced!));
    };
    try {
      // One round trip where the store offers it: the batch sealed on the head this ledger left,
      // written only if that is still the head and no id is stored (else the general path).
      if (known && this.store.appendAt && !sign && batch.every((p) => !p.put && p.retire.length === 0)) {
        // Not refused only while no other writer moved the head since this ledger's last batch:
        // received_at then still follows index order (docs/exports.md, "Complete time ranges").
        const result = integrate(known, units, new Map(), { erasable, receivedAt: this.now().toISOString() });
        if (result.entries.length > 0) {
          // Announced before it is handed over: readers may see the rows from its commit on.
          announced = result.entries[0]!.index;
          this.tell(() => this.onCommitting?.(this.log.id, announced!, result.entries.length));
          // A pipelining store lets the next batch be sealed on the head this one leaves before
          // this one is durable; if this one is refused, so is that one (Store.appendAt).
          this.knownHead = result.head;
          const handed = this.store.appendAt(
            this.log.id,
            known,
            { entries: result.entries, nodes: result.nodes, head: result.head },
            alone ? {} : { pipeline: { committed } },
          );
          this.handedOver = handed.catch(() => false);
          if (await handed) {
            this.appended(result.entries);
            return result.outcomes;
          }
          withdraw();
          announced = undefined;
          this.knownHead = undefined;
        }
      }
      // After every batch handed over before this one: they may still move the head.
      await this.handedOver;
      const outcomes = await this.store.write(
        this.log.id,
        async (tx) => {
          // Taken under the sequencing lock, so that received_at follows index order whenever the
          // writers share a clock that does not step back (docs/exports.md, "Complete time ranges").
          const receivedAt = this.now().toISOString();
          for (const p of batch) if (p.put) await tx.putIntent(p.put);
          // Checked before use: a rewritten head must not extend the chain or the tree (./head.ts).
          const { head } = await checkedHead(tx, known);
          const existing = await tx.entriesById(ids);
          const result = integrate(head, units, existing, { erasable, receivedAt });
          // An intent goes in the transaction that appends its event, never before (nor without it).
          const retire = result.outcomes.flatMap((o, i) => (o.ok ? batch[i]!.retire : []));
          if (retire.length > 0) await tx.retireIntents(retire);
          if (result.entries.length > 0) {
            await tx.insertEntries(result.entries, result.nodes, result.head);
            if (sign) signed = await this.signInTx(tx);
          }
          written = result.entries;
          // Announced before COMMIT, as readers see the rows from then on; a store that runs the
          // transaction again withdraws the first attempt's batch before announcing this one.
          withdraw();
          announced = written[0]?.index;
          if (announced !== undefined) {
            this.tell(() => this.onCommitting?.(this.log.id, announced!, written.length));
          }
          // Set before COMMIT (a pipelined next batch begins before this one is durable). Safe
          // if the commit then fails: the stored head is not this one, and is fully checked.
          this.knownHead = result.head;
          return result.outcomes;
        },
        sign || alone ? {} : { pipeline: { committed } },
      );
      this.appended(written);
      // Committed (durably: a signing transaction is not pipelined), then recorded, and only then
      // may it leave. The appends stand whatever happens here: a checkpoint not recorded is
      // recorded (or refused) by whoever publishes it next (publish).
      if (signed) await this.record(signed).catch(() => {});
      return outcomes;
    } catch (e) {
      this.knownHead = undefined;
      withdraw();
      throw e;
    }
  }

  /** Durable now: tell whoever listens (never failing the appends, which stand). */
  private appended(entries: Entry[]): void {
    if (entries.length > 0) this.tell(() => this.onAppended?.(this.log.id, entries));
  }

  /** Calls a listener: its fault is never the appends'. */
  private tell(listener: () => void): void {
    try {
      listener();
    } catch {
      // a listener's fault is not the appends'
    }
  }

  /**
   * Signs a checkpoint of the current tree, unless the latest one already covers it. Never
   * signs a tree that is not consistent with the previous checkpoint (RFC 9162 §2.1.4).
   */
  async checkpoint(): Promise<StoredCheckpoint> {
    if (!this.signer) throw new EvidentError(ErrorCode.KEY_INVALID, 'ledger opened without a signing key');
    if (this.fenceState) throw fencedError(this.log.name, this.fenceState);
    await this.flush();
    const cp = await this.store.write(this.log.id, (tx) => this.signInTx(tx));
    await this.record(cp);
    return cp;
  }

  private async signInTx(tx: WriteTx): Promise<StoredCheckpoint> {
    if (this.fenceState) throw fencedError(this.log.name, this.fenceState);
    try {
      const cp = await signInTx(tx, {
        origin: this.log.origin,
        signer: this.signer!,
        now: this.now,
        floors: () => this.publishedFloors(),
      });
      this.lastCheckpointAt = Date.now();
      return cp;
    } catch (e) {
      // A published floor violated: the transaction rolls back, and the log takes nothing more.
      if (e instanceof EvidentError) {
        const f = fenceFrom(e, this.now());
        if (f) this.fence(f);
      }
      throw e;
    }
  }

  /** Every published floor: the signer state's, read now, and those raised by the archive. */
  private async publishedFloors(): Promise<PublishedFloor[]> {
    const journal = await this.signerState?.floor();
    return [...(journal ? [journal] : []), ...this.floors.values()];
  }

  /** Records a checkpoint in the signer state (if configured), before it leaves the ledger. */
  private async record(cp: StoredCheckpoint): Promise<void> {
    await this.signerState?.record({ size: cp.size, root: cp.root, note: cp.note });
  }

  /**
   * A stored checkpoint about to leave the ledger (returned, served, sent to a witness or an
   * archive). With a signer state, a checkpoint larger than the recorded one is checked against
   * it (its own signature, then a consistency proof between the two signed roots) and recorded
   * first; one that contradicts it is CHECKPOINT_INCONSISTENT (source `journal`) and fences the
   * log: a fork signed elsewhere is never handed out.
   */
  async publish(cp: StoredCheckpoint): Promise<StoredCheckpoint>;
  async publish(cp: StoredCheckpoint | undefined): Promise<StoredCheckpoint | undefined>;
  async publish(cp: StoredCheckpoint | undefined): Promise<StoredCheckpoint | undefined> {
    const state = this.signerState;
    if (!cp || !state) return cp;
    const floor = state.cached(cp.size) ?? (await state.floor());
    if (floor && floor.size >= cp.size) {
      if (floor.size === cp.size && !bytesEqual(floor.root, cp.root)) {
        const e = floorViolation(
          floor,
          cp.size,
          'published_root_differs',
          `the stored checkpoint of tree size ${cp.size} has another root than the one published`,
        );
        this.fence(fenceFrom(e, this.now())!);
        throw e;
      }
      return cp;
    }
    // The root the note signs, checked by our key: the stored root column is the database's word.
    const root = openCheckpoint(cp.note, verifierFromSigner(this.signer!), this.log.origin).checkpoint
      .rootHash;
    if (floor) {
      try {
        await checkFloor(floor, cp.size, root, (ids) => proofNodes(this.store, this.log.id, ids));
      } catch (e) {
        const f = e instanceof EvidentError ? fenceFrom(e, this.now()) : undefined;
        if (f) this.fence(f);
        throw e;
      }
    }
    await state.record({ size: cp.size, root, note: cp.note });
    return cp;
  }

  /**
   * Raises a floor published outside the database (an archive target's largest checkpoint):
   * every later signature is checked against it. It is checked against the stored tree at
   * once, and a violation fences the log (the signature would be refused anyway).
   */
  async raiseFloor(floor: PublishedFloor): Promise<Fence | undefined> {
    const key = `${floor.source} ${floor.where}`;
    const had = this.floors.get(key);
    if (!had || had.size < floor.size) this.floors.set(key, floor);
    return this.evaluate(floor);
  }

  /**
   * Raises a floor from a signed checkpoint note found outside the database (`where`): only a
   * note this ledger's key signed for its origin counts (else it is ignored, and undefined is
   * returned). Returns the fence, if the log is fenced.
   */
  async raisePublished(source: FloorSource, note: string, where: string): Promise<Fence | undefined> {
    if (!this.signer) return undefined;
    let cp: { size: number; rootHash: Uint8Array };
    try {
      cp = openCheckpoint(note, verifierFromSigner(this.signer), this.log.origin).checkpoint;
    } catch {
      return this.fenceState;
    }
    return this.raiseFloor({ source, size: cp.size, root: cp.rootHash, where });
  }

  /** Checks a floor against the stored tree (read, not under the lock) and fences on a violation. */
  private async evaluate(floor: PublishedFloor): Promise<Fence | undefined> {
    const head = await this.store.head(this.log.id);
    let root: Uint8Array;
    try {
      root = CompactRange.decode(head.size, head.frontier).root();
    } catch {
      return undefined; // a broken head: the signer's checkedHead names it
    }
    try {
      await checkFloor(floor, head.size, root, (ids) => proofNodes(this.store, this.log.id, ids));
    } catch (e) {
      const f = e instanceof EvidentError ? fenceFrom(e, this.now()) : undefined;
      if (!f) throw e;
      this.fence(f);
    }
    return this.fenceState;
  }

  /**
   * Fences the log: the stored tree contradicts a checkpoint published outside the database.
   * Appends, intents and signatures are refused with LOG_FENCED until the ledger is reopened
   * (after the database that holds the published checkpoint is put back). The first fence stays.
   */
  fence(f: Fence): void {
    if (this.fenceState) return;
    this.fenceState = f;
    this.onFence?.(this.log.name, f);
  }

  /** Why the log is fenced, if it is. */
  get fenced(): Fence | undefined {
    return this.fenceState;
  }

  /** Whether this ledger holds a signing key (can append and sign checkpoints). */
  get canSign(): boolean {
    return this.signer !== undefined;
  }

  /** The latest stored checkpoint, recorded in the signer state first (publish). */
  async latestCheckpoint(): Promise<StoredCheckpoint | undefined> {
    return this.publish(await this.store.latestCheckpoint(this.log.id));
  }

  /** The stored checkpoint of a tree size, recorded in the signer state first (publish). */
  async checkpointAt(size: number): Promise<StoredCheckpoint | undefined> {
    return this.publish(await this.store.checkpointAt(this.log.id, size));
  }

  async size(): Promise<number> {
    return (await this.store.head(this.log.id)).size;
  }

  /**
   * Inclusion proof of entry `index` in the tree of `size` (default: the latest checkpoint's),
   * checked against that size's signed checkpoint (else the stored tree's root) before it is
   * returned: TAMPER_DETECTED (rule proof_mismatch) when it fails (./proofs.ts).
   */
  async proveInclusion(index: number, size?: number): Promise<InclusionProof> {
    const n = size ?? (await this.latestCheckpoint())?.size ?? 0;
    await this.checkSize(n);
    const [hashes, bytes] = await this.checkedProof(inclusionPlan(index, n), async (h) => {
      const entry = await this.entryAt(index);
      if (!entry) {
        throw new EvidentError(
          ErrorCode.TAMPER_DETECTED,
          `integrity alarm: entry ${index} of the tree is missing`,
          {
            rule: 'proof_mismatch',
            index,
            size: n,
          },
        );
      }
      const leaf = leafBytes(entry);
      await checkInclusion(this.store, this.log.id, entry, leaf, n, h);
      return leaf;
    });
    return { index, size: n, leaf: toBase64(bytes), hashes: hashes.map(toBase64) };
  }

  /**
   * A proof assembled from its stored nodes (the upper ones kept from proofs checked before),
   * returned with what `check` returns once it passed; its upper nodes are then kept
   * (./proof-nodes.ts).
   */
  private async checkedProof<T>(
    plan: ProofPlan,
    check: (hashes: Uint8Array[]) => Promise<T>,
  ): Promise<[Uint8Array[], T]> {
    const stored = await this.proofCache.read(plan.nodes, (ids) => proofNodes(this.store, this.log.id, ids));
    const hashes = plan.assemble(stored);
    const checked = await check(hashes);
    this.proofCache.keep(plan.nodes, stored);
    return [hashes, checked];
  }

  /** Consistency proof between the trees of sizes `from` and `to` (RFC 9162 §2.1.4), checked like proveInclusion. */
  async proveConsistency(from: number, to: number): Promise<string[]> {
    await this.checkSize(to);
    const [hashes] = await this.checkedProof(consistencyPlan(from, to), (h) =>
      checkConsistency(this.store, this.log.id, from, to, h),
    );
    return hashes.map(toBase64);
  }

  private async checkSize(n: number): Promise<void> {
    const head = await this.store.head(this.log.id);
    if (!Number.isSafeInteger(n) || n < 0 || n > head.size) {
      throw new EvidentError(ErrorCode.PROOF_RANGE, `tree size ${n} is outside the log (size ${head.size})`, {
        size: n,
        log_size: head.size,
      });
    }
  }

  async entryAt(index: number): Promise<Entry | undefined> {
    return (await this.store.entries(this.log.id, index, index + 1, 1))[0];
  }

  async entry(id: string): Promise<Entry | undefined> {
    return this.store.entryById(this.log.id, id);
  }

  async query(filter: EntryFilter = {}): Promise<Entry[]> {
    return this.store.query(this.log.id, filter);
  }

  /** Actors with more than `threshold` failures or denials since `since`. */
  async failuresByActor(since: string, threshold: number): Promise<FailureCount[]> {
    return this.store.failuresByActor(this.log.id, since, threshold);
  }

  /** Verifies the whole log, streaming: see ../core/verify/log-verifier.ts. */
  async verify(options: VerifyOptions = {}): Promise<VerifyReport> {
    await this.flush();
    const verifiers = options.verifiers ?? (this.signer ? [verifierFromSigner(this.signer)] : undefined);
    return verifyStoredLog(this.store, this.log, { ...options, ...(verifiers ? { verifiers } : {}) });
  }

  /**
   * A query whose answer cannot hide rows: the whole log is verified and the filter applied to
   * the entries just checked (verified-query.ts). Use the result only when `report.ok`.
   */
  async verifiedQuery(filter: EntryFilter, options: VerifyOptions = {}): Promise<VerifiedQueryResult> {
    await this.flush();
    const verifiers = options.verifiers ?? (this.signer ? [verifierFromSigner(this.signer)] : undefined);
    return verifiedQuery(this.store, this.log, filter, { ...options, ...(verifiers ? { verifiers } : {}) });
  }

  /** Erases one data subject's erasable values; the erasure is itself an audit event. */
  async erase(request: ErasureRequest): Promise<ErasureResult> {
    if (!this.signer) throw new EvidentError(ErrorCode.KEY_INVALID, 'ledger opened without a signing key');
    if (this.fenceState) throw fencedError(this.log.name, this.fenceState);
    await this.flush();
    return eraseSubject(this.store, this.log, request, this.now);
  }

  /** Commits what is pending, signs a last checkpoint, and closes the store. */
  async close(): Promise<void> {
    if (this.closed) return;
    // Requests still running lose their outcome: their provisional events go in now (a failure
    // leaves the intents durable, appended by the next open).
    await this.intents.releaseAll();
    await this.flush();
    this.closed = true;
    this.intents.retire();
    this.proofCache.forget();
    try {
      const latest = await this.store.latestCheckpoint(this.log.id);
      if (this.signer && !this.fenceState && (await this.size()) > (latest?.size ?? 0)) {
        await this.record(await this.store.write(this.log.id, (tx) => this.signInTx(tx)));
      }
    } finally {
      // A refused last checkpoint (e.g. CHECKPOINT_INCONSISTENT) must not leave the file open.
      if (this.ownsStore) await this.store.close();
    }
  }
}

function verifierFromSigner(s: NoteSigner) {
  return verifierFromPublicKey(s.name, s.publicKey);
}
