/**
 * An archive target: a place outside the primary store that keeps sealed segments and signed
 * checkpoints, written once and never overwritten (a directory, or S3 under Object Lock).
 *
 * Every implementation keeps the same contract, so sealing, pruning, `archive verify` and
 * `restore` never ask which kind they hold:
 * - `put` writes an object once. If the name exists with the same bytes it succeeds (a retried
 *   pass); with other bytes it refuses (ARCHIVE_CONFLICT). It resolves only when the object is
 *   durable and has been read back and found equal (size and SHA-256).
 * - `retainUntil` is the earliest date the object may be deleted: the directory target records
 *   it, an S3 target sets COMPLIANCE-mode Object Lock retention to it.
 * - reads never trust the target: callers hash what they read and compare with manifests and
 *   signed checkpoints.
 */

/** What is written: bytes in memory (manifests, checkpoints) or a local file (segment bundles). */
export type ArchiveBody = { bytes: Uint8Array } | { path: string };

export interface ArchivePut {
  /** Lowercase hex SHA-256 of the body, computed by the caller while writing it. */
  sha256: string;
  size: number;
  retainUntil: Date;
  contentType?: string;
}

export interface ArchiveObject {
  name: string;
  size: number;
  /** When the target reports it (S3 ChecksumSHA256, the directory's side record). */
  sha256?: string;
  retainUntil?: Date;
}

export interface ArchiveTarget {
  /** The target as configured, with no secret in it (shown in events, metrics and reports). */
  readonly url: string;
  put(name: string, body: ArchiveBody, meta: ArchivePut): Promise<ArchiveObject>;
  /** The object's bytes as a stream, or undefined when there is no such object. */
  read(name: string): Promise<AsyncIterable<Uint8Array> | undefined>;
  stat(name: string): Promise<ArchiveObject | undefined>;
  /** Every object whose name starts with prefix, in name order. */
  list(prefix: string): AsyncIterable<ArchiveObject>;
  close(): Promise<void>;
}
