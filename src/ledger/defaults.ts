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
  /** verify-bundle cuts a batch of lines (a run a worker checks, a page without workers) at this many bytes. */
  verifyBatchBytes: 4 * 1024 * 1024,
  /** verify-bundle keeps at most this many bytes of lines in flight to the workers, per worker thread. */
  verifyInFlightBytesPerWorker: 8 * 1024 * 1024,
} as const;

/** The S3 archive target's defaults (src/archive/s3.ts; docs/archive-s3.md). */
export const ARCHIVE_S3_DEFAULTS = {
  /** A request whose connection sends and receives nothing for this long fails (ARCHIVE_UNAVAILABLE), in ms. */
  idleTimeoutMs: 30_000,
  /** Connecting to the S3 endpoint fails after this long, in ms. */
  connectTimeoutMs: 10_000,
  /** Attempts of each read request on a network error, 5xx or timeout (an upload is tried once). */
  maxAttempts: 3,
  /** Bodies larger than this go up as a multipart upload, in bytes (a single PUT takes up to 5 GiB). */
  multipartThresholdBytes: 512 * 1024 * 1024,
  /** The size of each part of a multipart upload, in bytes (S3: 5 MiB to 5 GiB, at most 10,000 parts). */
  partSizeBytes: 64 * 1024 * 1024,
} as const;
