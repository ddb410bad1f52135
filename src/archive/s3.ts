/**
 * The S3 archive target: objects under COMPLIANCE-mode Object Lock, so nobody (not even the
 * account's root user) can delete a version or shorten its retention before `retainUntil`
 * (Amazon S3 User Guide, "Locking objects with Object Lock"). The bucket MUST have Object Lock
 * enabled (checked at open); Object Lock implies versioning.
 *
 * A name's object is its OLDEST version: the one put wrote and locked. A later PUT of other bytes
 * by anyone with write access makes a newer version, and a DELETE without a version id only adds a
 * delete marker; neither changes what read, stat and list return. The AWS SDK v3 is an optional
 * peer, loaded when a target is opened.
 */

import type {
  GetObjectCommandOutput,
  HeadObjectCommandOutput,
  ObjectVersion,
  S3Client,
  S3ClientConfig,
} from '@aws-sdk/client-s3';
import { ErrorCode, EvidentError, isEvidentError } from '../core/errors.ts';
import { loadPeer } from '../core/peers.ts';
import { ARCHIVE_S3_DEFAULTS } from '../ledger/defaults.ts';
import { checksumHex, digestBody, digestStream } from './s3-body.ts';
import { describeCause, errorName, httpStatus } from './s3-errors.ts';
import { putMultipart, putSingle, type Sdk, SHA256_META } from './s3-upload.ts';
import { parseS3Url, type S3Location } from './s3-url.ts';
import type { ArchiveBody, ArchiveObject, ArchivePut, ArchiveTarget } from './target.ts';

export interface S3TargetOptions {
  /**
   * A request whose connection sends and receives nothing for this long fails, in ms: an idle
   * limit, not a total one, so a large upload that keeps moving is never cut.
   */
  idleTimeoutMs?: number;
  connectTimeoutMs?: number;
  /** Attempts of each read request (an upload streams its body once and is tried once). */
  maxAttempts?: number;
  /** Bodies larger than this are sent as a multipart upload, in bytes. */
  multipartThresholdBytes?: number;
  partSizeBytes?: number;
  /** Keys per list request (S3's default and largest is 1,000). */
  listPageSize?: number;
  /** Credentials to use instead of the SDK's default chain (AWS_* variables, profiles, roles). */
  credentials?: { accessKeyId: string; secretAccessKey: string; sessionToken?: string };
  /**
   * Open for reading only (`archive verify`, `restore`): the bucket need not have Object Lock,
   * since verification never relies on it (every object is hashed and checked against manifests
   * and signed checkpoints), and `put` is refused (USAGE). Writing always requires the lock.
   */
  readOnly?: boolean;
}

const MIN_PART = 5 * 1024 * 1024;
const SILENT = { trace() {}, debug() {}, info() {}, warn() {}, error() {} };

/**
 * Opens an S3 target and checks that its bucket exists and, unless `readOnly`, has Object Lock
 * enabled.
 */
export async function openS3Target(url: URL | string, options: S3TargetOptions = {}): Promise<ArchiveTarget> {
  const location = parseS3Url(url);
  const partSize = options.partSizeBytes ?? ARCHIVE_S3_DEFAULTS.partSizeBytes;
  if (!Number.isSafeInteger(partSize) || partSize < MIN_PART)
    throw new EvidentError(ErrorCode.USAGE, `partSizeBytes: at least ${MIN_PART} (S3's smallest part)`, {
      field: 'partSizeBytes',
    });
  const sdk = await loadPeer(
    '@aws-sdk/client-s3',
    'the S3 archive target',
    () => import('@aws-sdk/client-s3'),
  );
  const target = new S3Target(sdk, location, options, partSize);
  try {
    await target.checkBucket();
  } catch (e) {
    await target.close();
    throw e;
  }
  return target;
}

class S3Target implements ArchiveTarget {
  readonly url: string;
  private readonly client: S3Client;
  /** Uploads are not retried by the SDK: a file stream cannot be rewound. */
  private readonly uploadClient: S3Client;
  private readonly threshold: number;
  private readonly pageSize: number | undefined;
  private readonly readOnly: boolean;

  constructor(
    private readonly sdk: Sdk,
    private readonly loc: S3Location,
    options: S3TargetOptions,
    private readonly partSize: number,
  ) {
    this.url = loc.url;
    this.threshold = options.multipartThresholdBytes ?? ARCHIVE_S3_DEFAULTS.multipartThresholdBytes;
    this.pageSize = options.listPageSize;
    this.readOnly = options.readOnly === true;
    const config: S3ClientConfig = {
      forcePathStyle: loc.forcePathStyle,
      // Checksums are the ones put sets itself; SDK-computed ones break streamed uploads (411) on
      // servers without chunked-signature support and are not needed for reads (we hash them).
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
      // Silent: every failure reaches the caller as a coded error; the SDK would otherwise warn on
      // the console (stdout), where the CLI's output goes.
      logger: SILENT,
      requestHandler: {
        connectionTimeout: options.connectTimeoutMs ?? ARCHIVE_S3_DEFAULTS.connectTimeoutMs,
        socketTimeout: options.idleTimeoutMs ?? ARCHIVE_S3_DEFAULTS.idleTimeoutMs,
      },
      ...(loc.endpoint !== undefined ? { endpoint: loc.endpoint } : {}),
      // A custom endpoint ignores the region, but SigV4 needs one: us-east-1 unless configured.
      ...(loc.region !== undefined
        ? { region: loc.region }
        : loc.endpoint !== undefined && !process.env.AWS_REGION
          ? { region: 'us-east-1' }
          : {}),
      ...(options.credentials ? { credentials: options.credentials } : {}),
    };
    this.client = new sdk.S3Client({
      ...config,
      maxAttempts: options.maxAttempts ?? ARCHIVE_S3_DEFAULTS.maxAttempts,
    });
    this.uploadClient = new sdk.S3Client({ ...config, maxAttempts: 1 });
  }

  async checkBucket(): Promise<void> {
    try {
      await this.client.config.region();
    } catch (e) {
      throw new EvidentError(
        ErrorCode.USAGE,
        `S3 archive URL, ?region: no region configured (add ?region= or set AWS_REGION): ${this.url}`,
        { field: '?region', target: this.url, cause: String(e) },
      );
    }
    let enabled: string | undefined;
    try {
      const out = await this.client.send(
        new this.sdk.GetObjectLockConfigurationCommand({ Bucket: this.loc.bucket }),
      );
      enabled = out.ObjectLockConfiguration?.ObjectLockEnabled;
    } catch (e) {
      const name = errorName(e);
      if (name === 'NoSuchBucket')
        throw this.refused(`the bucket ${this.loc.bucket} does not exist`, 'bucket-missing', e);
      if (name !== 'ObjectLockConfigurationNotFoundError') throw this.unavailable('open', undefined, e);
    }
    if (enabled !== 'Enabled' && !this.readOnly)
      throw this.refused(
        `the bucket ${this.loc.bucket} does not have Object Lock enabled: create it with Object Lock (versioning follows)`,
        'object-lock-disabled',
      );
  }

  async put(name: string, body: ArchiveBody, meta: ArchivePut): Promise<ArchiveObject> {
    if (this.readOnly)
      throw new EvidentError(
        ErrorCode.USAGE,
        `S3 archive ${this.url} was opened read-only: put ${name} refused`,
        {
          target: this.url,
          name,
          reason: 'read-only',
        },
      );
    const key = this.key(name);
    checkPut(meta);
    const existing = await this.located(name);
    if (existing) return this.sameOrConflict(name, existing, meta);

    const multipart = meta.size > this.threshold;
    const digest = await digestBody(body, multipart ? this.partSize : undefined);
    if (digest.size !== meta.size || digest.sha256Hex !== meta.sha256)
      throw new EvidentError(ErrorCode.INTERNAL, `archive body ${name} is not what its caller hashed`, {
        target: this.url,
        name,
        expected: { size: meta.size, sha256: meta.sha256 },
        found: { size: digest.size, sha256: digest.sha256Hex },
      });

    let versionId: string | undefined;
    try {
      const upload = {
        sdk: this.sdk,
        client: this.uploadClient,
        bucket: this.loc.bucket,
        key,
        body,
        meta,
        digest,
      };
      versionId = multipart ? await putMultipart(upload, this.client) : await putSingle(upload);
    } catch (e) {
      // If-None-Match lost a race (412, or 409 while another write is in flight): compare with the winner.
      const status = httpStatus(e);
      if (status === 412 || status === 409) {
        const winner = await this.located(name);
        if (winner) return this.sameOrConflict(name, winner, meta);
      }
      throw this.unavailable('put', name, e);
    }
    return this.readBack(name, versionId, meta);
  }

  async read(name: string): Promise<AsyncIterable<Uint8Array> | undefined> {
    const version = await this.original(this.key(name));
    if (!version) return undefined;
    const out = await this.get(name, version.VersionId);
    return out ? this.guard(name, out.Body as AsyncIterable<Uint8Array>) : undefined;
  }

  async stat(name: string): Promise<ArchiveObject | undefined> {
    return (await this.located(name))?.object;
  }

  async *list(prefix: string): AsyncIterable<ArchiveObject> {
    const full = this.loc.prefix + prefix;
    // Versions come in key order, newest first within a key: the last one seen of a key is its original.
    let pending: ObjectVersion | undefined;
    for await (const versions of this.versionPages('list', prefix, full)) {
      for (const v of versions) {
        if (pending && pending.Key !== v.Key) yield this.listed(pending);
        pending = v;
      }
    }
    if (pending) yield this.listed(pending);
  }

  async close(): Promise<void> {
    this.client.destroy();
    this.uploadClient.destroy();
  }

  /** Resolves only when the stored version is locked as asked and reads back with the same bytes. */
  private async readBack(
    name: string,
    versionId: string | undefined,
    meta: ArchivePut,
  ): Promise<ArchiveObject> {
    // A server ignoring If-None-Match lets a concurrent writer in: the name's object is the oldest version.
    const original = await this.original(this.key(name));
    if (original && versionId !== undefined && original.VersionId !== versionId) {
      const winner = await this.located(name);
      if (winner) return this.sameOrConflict(name, winner, meta);
    }
    let head = await this.head(name, versionId);
    if (head && !lockedUntil(head, meta.retainUntil)) {
      // Some servers (Ceph RGW before 17) drop the lock headers of a multipart upload: lock the
      // version now. Setting or lengthening COMPLIANCE retention is always allowed.
      await this.lock(name, versionId, meta.retainUntil);
      head = await this.head(name, versionId);
    }
    const object = head ? describe(name, head) : undefined;
    const until = head?.ObjectLockRetainUntilDate;
    if (!object || !head || !lockedUntil(head, meta.retainUntil))
      throw this.failed(
        name,
        'retention-not-applied',
        'the server did not keep the COMPLIANCE retention asked for',
        {
          mode: head?.ObjectLockMode,
          retainUntil: until?.toISOString(),
        },
      );
    const out = await this.get(name, versionId);
    const found = out ? await this.guardedDigest(name, out) : undefined;
    if (!found || found.size !== meta.size || found.sha256Hex !== meta.sha256)
      throw this.failed(name, 'read-back-mismatch', 'the object read back differs from what was sent', {
        expected: { size: meta.size, sha256: meta.sha256 },
        found: found ? { size: found.size, sha256: found.sha256Hex } : undefined,
      });
    return { ...object, sha256: meta.sha256, size: meta.size };
  }

  /**
   * A name that exists: its bytes (hashed here, never taken from metadata) equal to the body's is a
   * retried put, which succeeds, extending the retention if it is shorter than asked; otherwise
   * ARCHIVE_CONFLICT.
   */
  private async sameOrConflict(
    name: string,
    existing: { object: ArchiveObject; versionId?: string },
    meta: ArchivePut,
  ): Promise<ArchiveObject> {
    const { object, versionId } = existing;
    let sha256: string | undefined;
    if (object.size === meta.size) {
      const out = await this.get(name, versionId);
      sha256 = out ? (await this.guardedDigest(name, out)).sha256Hex : undefined;
    }
    if (object.size !== meta.size || sha256 !== meta.sha256)
      throw new EvidentError(
        ErrorCode.ARCHIVE_CONFLICT,
        `archive object ${name} already exists in ${this.url} with other bytes: archives are written once`,
        {
          target: this.url,
          name,
          existing: { size: object.size, ...(sha256 !== undefined ? { sha256 } : {}) },
          attempted: { size: meta.size, sha256: meta.sha256 },
        },
      );
    if (object.retainUntil === undefined || object.retainUntil.getTime() < meta.retainUntil.getTime()) {
      // COMPLIANCE retention can be lengthened, never shortened.
      await this.lock(name, versionId, meta.retainUntil);
      return { ...object, sha256: meta.sha256, retainUntil: meta.retainUntil };
    }
    return { ...object, sha256: meta.sha256 };
  }

  // --- reading

  /** The name's object (its oldest version) with its version id. */
  private async located(name: string): Promise<{ object: ArchiveObject; versionId?: string } | undefined> {
    const version = await this.original(this.key(name));
    if (!version) return undefined;
    const head = await this.head(name, version.VersionId);
    if (!head) return undefined;
    return {
      object: describe(name, head),
      ...(version.VersionId !== undefined ? { versionId: version.VersionId } : {}),
    };
  }

  /** The oldest version of a key (the one put wrote), skipping delete markers; undefined if none. */
  private async original(key: string): Promise<ObjectVersion | undefined> {
    let oldest: ObjectVersion | undefined;
    for await (const versions of this.versionPages('stat', key.slice(this.loc.prefix.length), key)) {
      let past = false;
      for (const v of versions) {
        if (v.Key === key) oldest = v;
        else if ((v.Key ?? '') > key) past = true;
      }
      if (past) break;
    }
    return oldest;
  }

  /** The versions of the keys under `prefix` (a full key prefix), a page at a time, in key order. */
  private async *versionPages(
    op: 'list' | 'stat',
    name: string,
    prefix: string,
  ): AsyncIterable<ObjectVersion[]> {
    let keyMarker: string | undefined;
    let versionMarker: string | undefined;
    for (;;) {
      const page = await this.call(op, name, () =>
        this.client.send(
          new this.sdk.ListObjectVersionsCommand({
            Bucket: this.loc.bucket,
            Prefix: prefix,
            ...(this.pageSize !== undefined ? { MaxKeys: this.pageSize } : {}),
            ...(keyMarker !== undefined ? { KeyMarker: keyMarker } : {}),
            ...(versionMarker !== undefined ? { VersionIdMarker: versionMarker } : {}),
          }),
        ),
      );
      yield page.Versions ?? [];
      if (!page.IsTruncated) return;
      keyMarker = page.NextKeyMarker;
      versionMarker = page.NextVersionIdMarker;
    }
  }

  /** One version of the name's object (the newest when `versionId` is undefined). */
  private version(name: string, versionId: string | undefined) {
    return {
      Bucket: this.loc.bucket,
      Key: this.key(name),
      ...(versionId !== undefined ? { VersionId: versionId } : {}),
    };
  }

  /** Sets (or lengthens) the COMPLIANCE retention of one version. */
  private async lock(name: string, versionId: string | undefined, retainUntil: Date): Promise<void> {
    await this.call('put', name, () =>
      this.client.send(
        new this.sdk.PutObjectRetentionCommand({
          ...this.version(name, versionId),
          Retention: { Mode: 'COMPLIANCE', RetainUntilDate: retainUntil },
        }),
      ),
    );
  }

  private async head(
    name: string,
    versionId: string | undefined,
  ): Promise<HeadObjectCommandOutput | undefined> {
    return this.orMissing('stat', name, () =>
      this.client.send(
        new this.sdk.HeadObjectCommand({ ...this.version(name, versionId), ChecksumMode: 'ENABLED' }),
      ),
    );
  }

  private async get(
    name: string,
    versionId: string | undefined,
  ): Promise<GetObjectCommandOutput | undefined> {
    return this.orMissing('read', name, () =>
      this.client.send(new this.sdk.GetObjectCommand(this.version(name, versionId))),
    );
  }

  private guardedDigest(name: string, out: GetObjectCommandOutput) {
    return this.guardedDigestStream(name, out.Body as AsyncIterable<Uint8Array>);
  }

  private guardedDigestStream(name: string, stream: AsyncIterable<Uint8Array>) {
    return digestStream(this.guard(name, stream));
  }

  /** A body stream whose failures (connection reset, idle timeout) are ARCHIVE_UNAVAILABLE. */
  private async *guard(name: string, stream: AsyncIterable<Uint8Array>): AsyncIterable<Uint8Array> {
    try {
      yield* stream;
    } catch (e) {
      throw this.unavailable('read', name, e);
    }
  }

  private listed(v: ObjectVersion): ArchiveObject {
    return { name: (v.Key ?? '').slice(this.loc.prefix.length), size: v.Size ?? 0 };
  }

  // --- names and errors

  private key(name: string): string {
    if (typeof name !== 'string' || name === '' || name.startsWith('/') || /[\u0000-\u001f\u007f]/.test(name))
      throw new EvidentError(
        ErrorCode.USAGE,
        `archive object name ${JSON.stringify(name)}: must be a non-empty relative name without control characters`,
        {
          field: 'name',
        },
      );
    const key = this.loc.prefix + name;
    if (Buffer.byteLength(key) > 1024)
      throw new EvidentError(ErrorCode.USAGE, `archive object name ${name}: the S3 key is over 1024 bytes`, {
        field: 'name',
      });
    return key;
  }

  private async orMissing<T>(op: string, name: string, run: () => Promise<T>): Promise<T | undefined> {
    try {
      return await run();
    } catch (e) {
      const n = errorName(e);
      if (httpStatus(e) === 404 && n !== 'NoSuchBucket') return undefined;
      throw this.unavailable(op, name, e);
    }
  }

  private async call<T>(op: string, name: string, run: () => Promise<T>): Promise<T> {
    try {
      return await run();
    } catch (e) {
      throw this.unavailable(op, name, e);
    }
  }

  private unavailable(op: string, name: string | undefined, e: unknown): EvidentError {
    if (isEvidentError(e)) return e;
    const status = httpStatus(e);
    return new EvidentError(
      ErrorCode.ARCHIVE_UNAVAILABLE,
      `S3 archive ${this.url}: ${op}${name !== undefined ? ` ${name}` : ''} failed: ${errorName(e)}${status !== undefined ? ` (HTTP ${status})` : ''}`,
      {
        target: this.url,
        operation: op,
        ...(name !== undefined ? { name } : {}),
        ...(status !== undefined ? { status } : {}),
        cause: describeCause(e),
      },
    );
  }

  private failed(name: string, reason: string, what: string, extra: Record<string, unknown>): EvidentError {
    return new EvidentError(ErrorCode.ARCHIVE_UNAVAILABLE, `S3 archive ${this.url}: ${name}: ${what}`, {
      target: this.url,
      operation: 'put',
      name,
      reason,
      cause: what,
      ...extra,
    });
  }

  private refused(what: string, reason: string, cause?: unknown): EvidentError {
    return new EvidentError(ErrorCode.USAGE, `S3 archive ${this.url}: ${what}`, {
      target: this.url,
      bucket: this.loc.bucket,
      reason,
      ...(cause !== undefined ? { cause: describeCause(cause) } : {}),
    });
  }
}

function checkPut(meta: ArchivePut): void {
  const bad = (field: string, rule: string) =>
    new EvidentError(ErrorCode.USAGE, `archive put, ${field}: ${rule}`, { field, rule });
  if (!/^[0-9a-f]{64}$/.test(meta.sha256)) throw bad('sha256', 'lowercase hex SHA-256 (64 characters)');
  if (!Number.isSafeInteger(meta.size) || meta.size < 0) throw bad('size', 'a non-negative integer');
  if (!(meta.retainUntil instanceof Date) || Number.isNaN(meta.retainUntil.getTime()))
    throw bad('retainUntil', 'a valid date');
  if (meta.retainUntil.getTime() <= Date.now())
    throw bad('retainUntil', 'must be in the future (S3 Object Lock)');
}

/** Whether a version is under COMPLIANCE retention until `until` or later (S3 keeps whole seconds). */
function lockedUntil(head: HeadObjectCommandOutput, until: Date): boolean {
  const kept = head.ObjectLockRetainUntilDate;
  return (
    head.ObjectLockMode === 'COMPLIANCE' &&
    kept !== undefined &&
    Math.floor(kept.getTime() / 1000) >= Math.floor(until.getTime() / 1000)
  );
}

function describe(name: string, head: HeadObjectCommandOutput): ArchiveObject {
  const sha256 = checksumHex(head.ChecksumSHA256) ?? head.Metadata?.[SHA256_META];
  return {
    name,
    size: head.ContentLength ?? 0,
    ...(sha256 !== undefined ? { sha256 } : {}),
    ...(head.ObjectLockRetainUntilDate ? { retainUntil: head.ObjectLockRetainUntilDate } : {}),
  };
}
