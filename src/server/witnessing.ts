/**
 * The log side of C2SP tlog-witness: after a checkpoint is signed, send it to every configured
 * witness with a consistency proof from the size that witness last cosigned, gather the
 * cosignatures, and store them beside the checkpoint (CosignatureStore), so that the checkpoint
 * is served with every cosignature it has.
 *
 * - Where a witness's proof starts: the largest size it cosigned (stored), or the size it named
 *   in a 409 (`text/x.tlog.size`), kept in memory and retried at once.
 * - A 409 naming the very size sent means the witness holds another root at that size: the
 *   log forked (or was rewritten); nothing is retried, the operator must look.
 * - At most one round per log at a time, and no more often than `intervalMs`; a witness that
 *   fails is retried with exponential backoff (up to `maxBackoffMs`).
 * - Only stored checkpoints are sent, and the signer never signs a tree inconsistent with the
 *   latest stored checkpoint (../ledger/sign.ts), so no checkpoint a witness saw can be
 *   contradicted by a later one while the database keeps what it signed.
 * - A witness that contradicts the database fences the log (Ledger.fence, source `witness`):
 *   a 409 naming a size the database holds no checkpoint of (`witness_checkpoint_missing`: the
 *   database lost a checkpoint that was sent, or was rolled back), a 409 naming the very size
 *   sent (`witness_conflict`), or a 422 for a proof from the witness's size that the log checked
 *   itself (`witness_inconsistent`). Before a log is first used, `probe` asks every witness once,
 *   even one whose cosignature is stored, so a rolled-back database is fenced before it signs.
 */
import { bytesEqual, fromBase64, toHex, utf8 } from '../core/bytes.ts';
import { cosignatureVerifier } from '../core/cosignature.ts';
import { formatSignatureLine, parseNote } from '../core/note.ts';
import { evaluateWitnessQuorum, type PolicyWitness, type WitnessPolicy } from '../core/witness-policy.ts';
import { formatAddCheckpoint, parseCosignatureLines, parseTlogSize } from '../core/witness-request.ts';
import { cosignedNote } from '../ledger/cosigned.ts';
import type { Ledger } from '../ledger/ledger.ts';
import type { Fence } from '../ledger/published.ts';
import type { CosignatureStore, StoredCheckpoint, StoredCosignature } from '../store/types.ts';
import type { ServerMetrics } from './metrics.ts';

export interface WitnessingOptions {
  policy: WitnessPolicy;
  store: CosignatureStore;
  /** Least time between two rounds of one log, in ms. */
  intervalMs: number;
  /** One request's deadline, in ms. */
  timeoutMs: number;
  /** The first wait before retrying a failing witness, doubling per failure, in ms. */
  minBackoffMs: number;
  /** The longest wait before retrying a failing witness, in ms. */
  maxBackoffMs: number;
  metrics?: ServerMetrics;
  log?: { warn(o: object, msg: string): void; info(o: object, msg: string): void };
  now?: () => number;
}

export interface WitnessState {
  name: string;
  url: string;
  up: boolean;
  /** The largest size it cosigned for the log last witnessed, if known. */
  size?: number;
  failures: number;
  lastError?: string;
  /** When it is tried next (ms since the epoch), while failing. */
  retryAt?: number;
}

interface Tracked extends WitnessState {
  witness: PolicyWitness;
  /** Sizes named by a 409, by log id: where the next proof starts. */
  told: Map<number, number>;
}

/** A checkpoint with the cosignatures stored for it, and whether the policy is met. */
export interface WitnessedNote {
  note: string;
  met: boolean;
  cosigned: string[];
}

export class Witnessing {
  private readonly witnesses: Tracked[];
  private readonly rounds = new Map<number, Promise<void>>();
  private readonly lastRound = new Map<number, number>();
  private readonly now: () => number;

  constructor(private readonly o: WitnessingOptions) {
    this.now = o.now ?? Date.now;
    this.witnesses = o.policy.witnesses.map((w) => ({
      name: w.name,
      url: (w.url ?? '').replace(/\/+$/, ''),
      up: true,
      failures: 0,
      witness: w,
      told: new Map(),
    }));
  }

  get intervalMs(): number {
    return this.o.intervalMs;
  }

  /** Resolves once no round is running. */
  async idle(): Promise<void> {
    await Promise.allSettled([...this.rounds.values()]);
  }

  /** The witnesses and their state, for /readyz. */
  states(): WitnessState[] {
    return this.witnesses.map(({ witness: _w, told: _t, ...s }) => ({ ...s }));
  }

  /** Starts a round for the log unless one runs or one ran less than intervalMs ago. */
  maybeRound(ledger: Ledger): Promise<void> | undefined {
    const id = ledger.log.id;
    const running = this.rounds.get(id);
    if (running) return running;
    if (this.now() - (this.lastRound.get(id) ?? 0) < this.o.intervalMs) return undefined;
    this.lastRound.set(id, this.now());
    const run = this.round(ledger).finally(() => this.rounds.delete(id));
    this.rounds.set(id, run);
    return run;
  }

  /**
   * Asks every witness once about the log's latest checkpoint, even one that cosigned it by the
   * database's word (a rolled-back database keeps the old cosignatures): a witness that holds
   * more than the database is found before the log signs. Each request is bounded by timeoutMs.
   */
  async probe(ledger: Ledger): Promise<void> {
    this.lastRound.set(ledger.log.id, this.now());
    await this.round(ledger, true);
  }

  /** Sends the latest checkpoint to every witness that has not cosigned it and is not backing off. */
  private async round(ledger: Ledger, probe = false): Promise<void> {
    if (ledger.fenced) return;
    const cp = await ledger.latestCheckpoint();
    if (!cp) return;
    const id = ledger.log.id;
    const have = await this.o.store.cosignatures(id, cp.size);
    const sizes = await this.o.store.cosignedSizes(id);
    await Promise.all(
      this.witnesses.map(async (w) => {
        const keyId = toHex(w.witness.key.keyId);
        if (!probe && have.some((c) => c.name === w.witness.key.name && c.keyId === keyId)) {
          w.size = cp.size;
          return;
        }
        if (w.retryAt !== undefined && this.now() < w.retryAt) return;
        const stored = sizes.find((s) => s.name === w.witness.key.name && s.keyId === keyId)?.size;
        await this.ask(ledger, cp, w, w.told.get(id) ?? stored ?? 0);
      }),
    );
  }

  private async ask(
    ledger: Ledger,
    cp: StoredCheckpoint,
    w: Tracked,
    old: number,
    retried = false,
  ): Promise<void> {
    const id = ledger.log.id;
    if (old > cp.size) {
      this.fail(
        w,
        'witness-ahead',
        `the witness cosigned size ${old}, beyond this log's ${cp.size}: rolled back?`,
      );
      return;
    }
    let status: number;
    let body: string;
    let proof: Uint8Array[];
    try {
      // Checked against the stored checkpoints before it leaves (Ledger.proveConsistency).
      proof =
        old === 0 || old === cp.size
          ? []
          : (await ledger.proveConsistency(old, cp.size)).map((h) => fromBase64(h));
    } catch (e) {
      this.fail(w, 'proof-failed', (e as Error).message);
      return;
    }
    try {
      const res = await fetch(`${w.url}/add-checkpoint`, {
        method: 'POST',
        body: formatAddCheckpoint({ oldSize: old, proof, checkpoint: cp.note }),
        signal: AbortSignal.timeout(this.o.timeoutMs),
      });
      status = res.status;
      body = await res.text();
    } catch (e) {
      this.fail(w, 'unreachable', (e as Error).message);
      return;
    }
    if (status === 200) {
      const stored = this.accept(cp, w, body);
      if (stored.length === 0) {
        this.fail(w, 'bad-answer', 'the 200 answer holds no valid cosignature by this witness');
        return;
      }
      await this.o.store.addCosignatures(id, stored);
      w.told.delete(id);
      w.size = cp.size;
      this.ok(w);
      return;
    }
    const size = status === 409 ? parseTlogSize(body) : undefined;
    if (status === 409 && size !== undefined && size > cp.size) {
      // Every checkpoint is committed before it is sent: the database must hold this one.
      if (!(await ledger.store.checkpointAt(id, size))) {
        await this.fence(ledger, w, 'witness_checkpoint_missing', size);
        this.fail(
          w,
          'witness-ahead',
          `the witness cosigned size ${size}, which this database lacks: rolled back?`,
        );
        return;
      }
    }
    if (status === 422 && old > 0) {
      // The proof from the witness's size was checked against this log's own tree before it left.
      await this.fence(ledger, w, 'witness_inconsistent', old);
      this.fail(w, 'inconsistent', `the witness's checkpoint of size ${old} is not consistent with this log`);
      return;
    }
    if (status === 409 && size !== undefined && size !== old && !retried) {
      w.told.set(id, size);
      this.count(w, 'resync');
      await this.ask(ledger, cp, w, size, true);
      return;
    }
    if (status === 409 && size === old) {
      await this.fence(ledger, w, 'witness_conflict', old);
      this.fail(w, 'conflict', `the witness holds another root at size ${old}: this log's history forked`);
      return;
    }
    this.fail(w, `http-${status}`, body.slice(0, 200));
  }

  /** Fences the log: the witness holds a checkpoint of `size` that the database contradicts. */
  private async fence(ledger: Ledger, w: Tracked, rule: string, size: number): Promise<void> {
    const f: Fence = {
      source: 'witness',
      rule,
      published_size: size,
      tree_size: await ledger.size(),
      where: w.url,
      since: new Date(this.now()).toISOString(),
    };
    ledger.fence(f);
  }

  /** The cosignature lines of a 200 answer that are by this witness and verify. */
  private accept(cp: StoredCheckpoint, w: Tracked, body: string): StoredCosignature[] {
    let sigs: ReturnType<typeof parseCosignatureLines>;
    try {
      sigs = parseCosignatureLines(cp.note, body);
    } catch {
      return [];
    }
    const v = cosignatureVerifier(w.witness.vkey);
    const text = utf8(parseNote(cp.note).text);
    const createdAt = new Date(this.now()).toISOString();
    return sigs
      .filter((s) => s.name === v.name && bytesEqual(s.keyId, v.keyId) && v.verify(text, s.signature))
      .slice(0, 1)
      .map((s) => ({
        size: cp.size,
        name: s.name,
        keyId: toHex(s.keyId),
        line: formatSignatureLine(s).slice(0, -1),
        createdAt,
      }));
  }

  private ok(w: Tracked): void {
    w.up = true;
    w.failures = 0;
    delete w.retryAt;
    delete w.lastError;
    this.count(w, 'cosigned');
    this.o.metrics?.witnessUp.set({ witness: w.name }, 1);
  }

  private fail(w: Tracked, outcome: string, message: string): void {
    w.up = false;
    w.failures++;
    w.lastError = `${outcome}: ${message}`;
    // min, 2 min, 4 min ... up to maxBackoffMs, with jitter so a witness coming back is not stampeded.
    const wait = Math.min(this.o.maxBackoffMs, this.o.minBackoffMs * 2 ** Math.min(w.failures - 1, 20));
    w.retryAt = this.now() + wait / 2 + Math.random() * (wait / 2);
    this.count(w, outcome.startsWith('http-') ? 'refused' : outcome);
    this.o.metrics?.witnessUp.set({ witness: w.name }, 0);
    this.o.log?.warn(
      { witness: w.name, outcome, message, retry_in_ms: Math.round(w.retryAt - this.now()) },
      'witness did not cosign',
    );
  }

  private count(w: Tracked, outcome: string): void {
    this.o.metrics?.witnessRequests.inc({ witness: w.name, outcome });
  }

  /** The checkpoint note with every stored cosignature appended, and whether the policy is met. */
  async withCosignatures(logId: number, cp: StoredCheckpoint): Promise<WitnessedNote> {
    return quorumOf(this.o.policy, await cosignedNote(this.o.store, logId, cp), cp.note);
  }
}

/** Evaluates the policy on a note carrying cosignatures. */
export function quorumOf(policy: WitnessPolicy, note: string, plain: string): WitnessedNote {
  try {
    const q = evaluateWitnessQuorum(note, policy);
    return { note, met: q.met, cosigned: q.cosigned };
  } catch {
    // A stored cosignature that fails (a rewritten table): served without them, not met.
    return { note: plain, met: false, cosigned: [] };
  }
}
