/**
 * The fail-closed intents one ledger holds (AuditSink.begin / complete / release), kept apart
 * from the append engine (./ledger.ts), which they reach only through two doors: `put`, which
 * commits an intent through the group-commit queue, and `append`, which appends events and
 * retires intents in one transaction. What an intent is and when it is an orphan: ./intents.ts.
 */
import { ErrorCode, EvidentError, ValidationError } from '../core/errors.ts';
import type { AuditEvent } from '../core/event/schema.ts';
import type { Store, StoredIntent } from '../store/types.ts';
import type { Receipt } from './integrate.ts';
import { isOrphan, type LedgerIntent, liveOwners, newOwner, storedEvent } from './intents.ts';

/** What `open` found of intents left by processes that ended mid-request. */
export interface IntentRecovery {
  /** Orphan intents appended as their provisional events. */
  recovered: number;
  /** Intents held by live ledgers, left alone. */
  live: number;
  /** Orphans whose stored event is not valid (or not of their id): left in place. */
  invalid: number;
}

export interface HeldIntentsOptions {
  store: Store;
  logId: number;
  now: () => Date;
  orphanAfterMs: number;
  /** Validates events as an append does (ValidationError listing every fault). */
  validate: (events: readonly unknown[]) => AuditEvent[];
  /** Commits an intent; resolves once it is durable. */
  put: (intent: StoredIntent) => Promise<unknown>;
  /** Appends events and retires these intents in the same transaction. */
  append: (events: readonly unknown[], retire: string[]) => Promise<Receipt[]>;
}

export class HeldIntents {
  /** This ledger instance, as intents name their holder. */
  readonly owner = newOwner();
  /** Intents begun here and not yet completed or released: the provisional events by id. */
  private readonly held = new Map<string, AuditEvent>();

  constructor(private readonly o: HeldIntentsOptions) {}

  /**
   * Appends the provisional events of orphan intents (their process ended before the outcome
   * was recorded), retiring each in the same transaction. An orphan whose stored event is not a
   * valid event (only a writer of the database makes one) is not appended and not deleted: it
   * is left for an operator, counted in `invalid`.
   */
  async recover(): Promise<IntentRecovery> {
    const now = Date.now();
    const all = await this.o.store.intents(this.o.logId);
    const orphans = all.filter((i) => isOrphan(i, this.o.orphanAfterMs, now));
    const valid: { event: AuditEvent; id: string }[] = [];
    for (const i of orphans) {
      try {
        const [event] = this.o.validate([storedEvent(i)]);
        if (event!.id === i.id) valid.push({ event: event!, id: i.id });
      } catch (e) {
        if (!(e instanceof ValidationError)) throw e;
      }
    }
    await Promise.all(valid.map((v) => this.o.append([v.event], [v.id])));
    return {
      recovered: valid.length,
      live: all.length - orphans.length,
      invalid: orphans.length - valid.length,
    };
  }

  /** Validates the provisional event and stores it as an intent, resolving once committed. */
  async begin(event: unknown): Promise<LedgerIntent> {
    const [valid] = this.o.validate([event]);
    const id = valid!.id;
    if (this.held.has(id))
      throw new EvidentError(ErrorCode.ID_CONFLICT, `an intent for event ${id} is already held`, { id });
    await this.o.put({
      id,
      event: JSON.stringify(valid),
      owner: this.owner,
      createdAt: this.o.now().toISOString(),
    });
    this.held.set(id, valid!);
    return { eventId: id };
  }

  /** Appends the final event of an intent and retires the intent, in one transaction. */
  async complete(intent: LedgerIntent, event: unknown): Promise<Receipt> {
    this.provisional(intent);
    // Retiring the intent for an event of another id would lose the provisional event.
    const id = (event as { id?: unknown } | null)?.id;
    if (id !== intent.eventId)
      throw new EvidentError(ErrorCode.USAGE, "the final event must carry its intent's id", {
        id: typeof id === 'string' ? id : null,
        intent: intent.eventId,
      });
    const [r] = await this.o.append([event], [intent.eventId]);
    this.held.delete(intent.eventId);
    return r!;
  }

  /** Appends an intent's provisional event as it is and retires the intent, in one transaction. */
  async release(intent: LedgerIntent): Promise<Receipt> {
    const [r] = await this.o.append([this.provisional(intent)], [intent.eventId]);
    this.held.delete(intent.eventId);
    return r!;
  }

  /** Releases every intent still held (their requests lose their outcome); never rejects. */
  async releaseAll(): Promise<void> {
    await Promise.allSettled([...this.held.keys()].map((eventId) => this.release({ eventId })));
  }

  /** This instance no longer holds intents: those left in the store are orphans from now on. */
  retire(): void {
    liveOwners.delete(this.owner);
  }

  private provisional(intent: LedgerIntent): AuditEvent {
    const event = this.held.get(intent.eventId);
    if (!event)
      throw new EvidentError(ErrorCode.NOT_FOUND, `no intent held for event ${intent.eventId}`, {
        id: intent.eventId,
      });
    return event;
  }
}
