/** What an operator watches: counters since open, and the last failure. */

export interface LastError {
  code: string;
  message: string;
  /** HTTP status, when the server answered. */
  status?: number;
  at: string;
}

export interface ClientStats {
  /** Events written to the spool by this process (record() resolved). */
  spooled: number;
  /** Group commits of the spool (one write and one fdatasync each, shared by concurrent record() calls). */
  commits: number;
  /** Undelivered events found in the spool at open (replayed). */
  replayed: number;
  /** Events the server gave a receipt for (duplicates included). */
  delivered: number;
  /** Of those, receipts marked duplicate: an earlier send had reached the log. */
  duplicates: number;
  /** Events still waiting in the spool (or being written to it). */
  pending: number;
  /** Bytes of undelivered events in the spool. */
  pendingBytes: number;
  /** Events the server refused for good, set aside in the rejected file. */
  rejected: number;
  /** Delivery attempts that failed and will be retried. */
  retries: number;
  /** Requests that succeeded. */
  batches: number;
  /** record() calls refused (SPOOL_FULL, SPOOL_FAILED, VALIDATION_FAILED, closed). */
  refused: number;
  /** Bytes cut from a torn spool tail at open (a crash mid-write). */
  tornBytes: number;
  lastError: LastError | undefined;
  lastDeliveryAt: string | undefined;
  /**
   * Set while events wait and nothing was delivered for `stallAfterMs`: since when nothing was
   * (the last delivery, or when events began to wait). Cleared by the next delivery.
   */
  stalledSince: string | undefined;
  /** The last checkpoint verified by checkLog(), if any. */
  verifiedSize: number | undefined;
  /** Set by a failed checkpoint check, and kept: the log may have been rolled back or forked. */
  logAlarm: LastError | undefined;
}

export function emptyStats(): ClientStats {
  return {
    spooled: 0,
    commits: 0,
    replayed: 0,
    delivered: 0,
    duplicates: 0,
    pending: 0,
    pendingBytes: 0,
    rejected: 0,
    retries: 0,
    batches: 0,
    refused: 0,
    tornBytes: 0,
    lastError: undefined,
    lastDeliveryAt: undefined,
    stalledSince: undefined,
    verifiedSize: undefined,
    logAlarm: undefined,
  };
}
