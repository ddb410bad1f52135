/**
 * Where a middleware's events go: an embedded ledger (`ledgerSink`) or the remote client
 * (`EvidentClient` from evident/client), chosen by configuration. Both meet this contract.
 */

/**
 * A fail-closed request's write-ahead intent: its provisional event, already durable, to be
 * replaced by the final event (`complete`) or recorded as it is (`release`). Opaque to callers.
 */
export interface AuditIntent {
  /** The id both the provisional and the final event carry. */
  readonly eventId: string;
}

/**
 * What `ledgerSink` uses of an embedded ledger; evident/ledger's `Ledger` meets it. Written as a
 * shape rather than imported, so the middleware stays below the ledger layer (docs/design.md).
 */
export interface EmbeddedLedger {
  append(event: unknown): Promise<unknown>;
  ensureWritable(): Promise<void>;
  begin(event: Readonly<Record<string, unknown>>): Promise<AuditIntent>;
  complete(intent: AuditIntent, event: Readonly<Record<string, unknown>>): Promise<unknown>;
  release(intent: AuditIntent): Promise<unknown>;
}

export interface AuditSink {
  /**
   * Records one event. MUST NOT resolve before the event is durable: committed to the log
   * (embedded) or written and fsynced to the local spool (remote). MUST reject with a coded
   * EvidentError when it cannot: `VALIDATION_FAILED` for a bad event, `SPOOL_FULL`,
   * `SPOOL_FAILED`, `STORE_BUSY`, `STORE_FAILED` or `LEDGER_CLOSED` when the event was not kept.
   */
  record(event: Readonly<Record<string, unknown>>): Promise<unknown>;
  /**
   * A cheap check that an event recorded now would likely be kept. Advisory only: a disk can
   * fill between this check and the write, so fail-closed routes rely on `begin`, not on this.
   */
  ensureWritable(): Promise<void>;
  /**
   * The fail-closed write-ahead record. MUST NOT resolve before `provisional` (the event as it
   * will stand if the outcome is never known) is durable, and MUST NOT let it reach the log
   * while the intent is held. Rejects, having kept nothing, with the codes of `record`: the
   * route then answers 503 before its handler runs.
   */
  begin(provisional: Readonly<Record<string, unknown>>): Promise<AuditIntent>;
  /**
   * Replaces the intent by the final event (same id), in one durable, atomic step: either the
   * final event is kept and the intent retired, or neither. On rejection the intent is still
   * held, and the caller MUST `release` it.
   */
  complete(intent: AuditIntent, event: Readonly<Record<string, unknown>>): Promise<unknown>;
  /**
   * Gives the provisional event up to the log (delivered or appended as it is). Never loses it:
   * if this fails too, the intent stays durable and is recorded when the sink next opens.
   */
  release(intent: AuditIntent): Promise<unknown>;
}

/** An embedded ledger as a sink: `record` resolves once the event is committed. */
export function ledgerSink(ledger: EmbeddedLedger): AuditSink {
  return {
    record: (event) => ledger.append(event),
    ensureWritable: () => ledger.ensureWritable(),
    begin: (event) => ledger.begin(event),
    complete: (intent, event) => ledger.complete(intent, event),
    release: (intent) => ledger.release(intent),
  };
}
