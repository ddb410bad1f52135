/**
 * Where a middleware's events go: an embedded ledger (`ledgerSink`) or the remote client
 * (`EvidentClient` from evident/client), chosen by configuration. Both meet this contract.
 */

/**
 * What `ledgerSink` uses of an embedded ledger; evident/ledger's `Ledger` meets it. Written as a
 * shape rather than imported, so the middleware stays below the ledger layer (docs/design.md).
 */
export interface EmbeddedLedger {
  append(event: unknown): Promise<unknown>;
  ensureWritable(): Promise<void>;
}

export interface AuditSink {
  /**
   * Records one event. MUST NOT resolve before the event is durable: committed to the log
   * (embedded) or written and fsynced to the local spool (remote). MUST reject with a coded
   * EvidentError when it cannot: `VALIDATION_FAILED` for a bad event, `SPOOL_FULL`,
   * `SPOOL_FAILED`, `STORE_BUSY` or `LEDGER_CLOSED` when the event was not kept.
   */
  record(event: Readonly<Record<string, unknown>>): Promise<unknown>;
  /**
   * The fail-closed preflight: resolves when an event recorded now can be made durable, and
   * rejects with the code that says why not. A protected route runs its handler only after this
   * resolves, so an unwritable spool refuses the request before it has any side effect.
   */
  ensureWritable(): Promise<void>;
}

/** An embedded ledger as a sink: `record` resolves once the event is committed. */
export function ledgerSink(ledger: EmbeddedLedger): AuditSink {
  return {
    record: (event) => ledger.append(event),
    ensureWritable: () => ledger.ensureWritable(),
  };
}
