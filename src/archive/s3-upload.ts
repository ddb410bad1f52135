/**
 * The S3 target's uploads: one streamed PutObject, or a multipart upload of parts, each sent
 * with Content-MD5 and x-amz-checksum-sha256 (the server refuses bytes that do not match),
 * COMPLIANCE-mode lock headers, and If-None-Match: * (servers with conditional writes refuse a
 * second writer). Bodies are streamed from disk; a file failing mid-stream aborts the request.
 */
import type { Readable } from 'node:stream';
import type { S3Client } from '@aws-sdk/client-s3';
import { ErrorCode, EvidentError } from '../core/errors.ts';
import { type BodyDigest, bodyRange } from './s3-body.ts';
import { describeCause } from './s3-errors.ts';
import type { ArchiveBody, ArchivePut } from './target.ts';

export type Sdk = typeof import('@aws-sdk/client-s3');

/** The user metadata holding the body's SHA-256 (hex): S3 servers without flexible checksums keep it too. */
export const SHA256_META = 'evident-sha256';

export interface Upload {
  sdk: Sdk;
  /** A client that does not retry: a streamed body cannot be rewound. */
  client: S3Client;
  bucket: string;
  key: string;
  body: ArchiveBody;
  meta: ArchivePut;
  digest: BodyDigest;
}

export async function putSingle(u: Upload): Promise<string | undefined> {
  const { sdk, client, bucket, key, body, meta, digest: d } = u;
  const out = await sendBody(bodyRange(body, 0, d.size), (Body, abortSignal) =>
    client.send(
      new sdk.PutObjectCommand({
        Bucket: bucket,
        Key: key,
        Body,
        ContentLength: d.size,
        ContentMD5: d.md5,
        ChecksumSHA256: d.sha256,
        ContentType: meta.contentType ?? 'application/octet-stream',
        Metadata: { [SHA256_META]: d.sha256Hex },
        ObjectLockMode: 'COMPLIANCE',
        ObjectLockRetainUntilDate: meta.retainUntil,
        IfNoneMatch: '*',
      }),
      abortSignal ? { abortSignal } : {},
    ),
  );
  return out.VersionId;
}

/** A multipart upload, part by part; aborted (through `cleanup`, which retries) when a step fails. */
export async function putMultipart(u: Upload, cleanup: S3Client): Promise<string | undefined> {
  const { sdk, client, bucket, key, body, meta, digest: d } = u;
  const created = await client.send(
    new sdk.CreateMultipartUploadCommand({
      Bucket: bucket,
      Key: key,
      ContentType: meta.contentType ?? 'application/octet-stream',
      Metadata: { [SHA256_META]: d.sha256Hex },
      ObjectLockMode: 'COMPLIANCE',
      ObjectLockRetainUntilDate: meta.retainUntil,
      ChecksumAlgorithm: 'SHA256',
    }),
  );
  const uploadId = created.UploadId;
  try {
    const parts: Array<{ PartNumber: number; ETag: string; ChecksumSHA256: string }> = [];
    for (const part of d.parts ?? []) {
      const out = await sendBody(bodyRange(body, part.start, part.size), (Body, abortSignal) =>
        client.send(
          new sdk.UploadPartCommand({
            Bucket: bucket,
            Key: key,
            UploadId: uploadId,
            PartNumber: part.number,
            Body,
            ContentLength: part.size,
            ContentMD5: part.md5,
            ChecksumSHA256: part.sha256,
          }),
          abortSignal ? { abortSignal } : {},
        ),
      );
      parts.push({ PartNumber: part.number, ETag: out.ETag ?? '', ChecksumSHA256: part.sha256 });
    }
    const done = await client.send(
      new sdk.CompleteMultipartUploadCommand({
        Bucket: bucket,
        Key: key,
        UploadId: uploadId,
        MultipartUpload: { Parts: parts },
        IfNoneMatch: '*',
      }),
    );
    return done.VersionId;
  } catch (e) {
    // Best effort: an abandoned upload holds storage, not an object; lifecycle rules reap the rest.
    await cleanup
      .send(new sdk.AbortMultipartUploadCommand({ Bucket: bucket, Key: key, UploadId: uploadId }))
      .catch(() => undefined);
    throw e;
  }
}

/**
 * Sends a body; a file that fails while streaming (removed, unreadable) aborts the request at once
 * instead of leaving it waiting for bytes that never come.
 */
async function sendBody<T>(
  body: Uint8Array | Readable,
  send: (body: Uint8Array | Readable, abortSignal?: AbortSignal) => Promise<T>,
): Promise<T> {
  if (body instanceof Uint8Array) return send(body);
  const controller = new AbortController();
  let failure: unknown;
  body.once('error', (e) => {
    failure = e;
    controller.abort();
  });
  try {
    return await send(body, controller.signal);
  } catch (e) {
    if (failure === undefined) throw e;
    throw new EvidentError(
      ErrorCode.INTERNAL,
      `archive body could not be read while uploading: ${String(failure)}`,
      {
        cause: describeCause(failure),
      },
    );
  } finally {
    body.destroy();
  }
}
