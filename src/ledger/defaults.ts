/** The ledger's defaults, in one place: the server's settings and their help read them. */
export const LEDGER_DEFAULTS = {
  /** Most events in one commit. */
  maxBatch: 1000,
  /** Wait for more events before committing, in ms (0: the next turn of the event loop). */
  maxDelayMs: 0,
  /** Events waiting for a commit before appends are refused with STORE_BUSY. */
  maxPending: 100_000,
  /** Sign a checkpoint at most this often while appending, in ms. */
  checkpointIntervalMs: 1000,
  /** Verification starts worker threads (one per core) for logs of at least this many entries. */
  verifyParallelMinEntries: 50_000,
} as const;
