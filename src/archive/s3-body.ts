/**
 * The S3 target's view of a body: its digests before upload (Content-MD5 and SHA-256, whole and
 * per multipart part), computed in one streamed pass so a file of any size costs constant memory,
 * and a fresh stream of each byte range to send.
 */
import { createHash, type Hash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import type { Readable } from 'node:stream';
import type { ArchiveBody } from './target.ts';

export interface PartDigest {
  /** 1-based, as S3 numbers parts. */
  number: number;
  start: number;
  size: number;
  md5: string;
  /** Base64, for x-amz-checksum-sha256. */
  sha256: string;
}

export interface BodyDigest {
  size: number;
  sha256Hex: string;
  /** Base64, for Content-MD5: the check every S3 implementation makes (flexible checksums are newer). */
  md5: string;
  /** Base64, for x-amz-checksum-sha256. */
  sha256: string;
  /** The parts of a multipart upload, or undefined for a single PUT. */
  parts?: PartDigest[];
}

class PartHasher {
  readonly parts: PartDigest[] = [];
  private md5: Hash = createHash('md5');
  private sha: Hash = createHash('sha256');
  private filled = 0;
  private start = 0;

  constructor(private readonly partSize: number) {}

  update(chunk: Uint8Array): void {
    let offset = 0;
    while (offset < chunk.length) {
      const take = Math.min(this.partSize - this.filled, chunk.length - offset);
      const piece = chunk.subarray(offset, offset + take);
      this.md5.update(piece);
      this.sha.update(piece);
      this.filled += take;
      offset += take;
      if (this.filled === this.partSize) this.cut();
    }
  }

  finish(): PartDigest[] {
    if (this.filled > 0) this.cut();
    return this.parts;
  }

  private cut(): void {
    this.parts.push({
      number: this.parts.length + 1,
      start: this.start,
      size: this.filled,
      md5: this.md5.digest('base64'),
      sha256: this.sha.digest('base64'),
    });
    this.start += this.filled;
    this.filled = 0;
    this.md5 = createHash('md5');
    this.sha = createHash('sha256');
  }
}

/** Hashes a body in one pass; `partSize` set: also per part (a multipart upload). */
export async function digestBody(body: ArchiveBody, partSize?: number): Promise<BodyDigest> {
  const md5 = createHash('md5');
  const sha = createHash('sha256');
  const parts = partSize === undefined ? undefined : new PartHasher(partSize);
  let size = 0;
  const feed = (chunk: Uint8Array) => {
    md5.update(chunk);
    sha.update(chunk);
    parts?.update(chunk);
    size += chunk.length;
  };
  if ('bytes' in body) feed(body.bytes);
  else for await (const chunk of createReadStream(body.path)) feed(chunk as Uint8Array);
  const whole = sha.digest();
  return {
    size,
    sha256Hex: whole.toString('hex'),
    sha256: whole.toString('base64'),
    md5: md5.digest('base64'),
    ...(parts ? { parts: parts.finish() } : {}),
  };
}

/** The bytes of [start, start + size) of a body, as a fresh stream or a view of memory. */
export function bodyRange(body: ArchiveBody, start: number, size: number): Uint8Array | Readable {
  if ('bytes' in body) return body.bytes.subarray(start, start + size);
  if (size === 0) return new Uint8Array(0);
  // From the start, read sequentially (no positioned reads): a pipe or device has no offsets.
  return createReadStream(body.path, start === 0 ? { end: size - 1 } : { start, end: start + size - 1 });
}

/** SHA-256 (hex) and size of a stream, read to its end. */
export async function digestStream(
  stream: AsyncIterable<Uint8Array>,
): Promise<{ size: number; sha256Hex: string }> {
  const sha = createHash('sha256');
  let size = 0;
  for await (const chunk of stream) {
    sha.update(chunk);
    size += chunk.length;
  }
  return { size, sha256Hex: sha.digest('hex') };
}

/** An x-amz-checksum-sha256 value of a whole object as hex; undefined for a composite (multipart) one. */
export function checksumHex(value: string | undefined): string | undefined {
  if (value === undefined || value.includes('-')) return undefined;
  const bytes = Buffer.from(value, 'base64');
  return bytes.length === 32 ? bytes.toString('hex') : undefined;
}
