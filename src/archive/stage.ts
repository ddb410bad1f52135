/**
 * Local staging files: a bundle is written to a file while it is hashed, fsynced, and only then
 * put to the targets, so that every target receives the same bytes and a target's read-back
 * can be compared with one SHA-256.
 */
import { createHash, randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface Staged {
  path: string;
  sha256: string;
  size: number;
}

/** Writes the chunks to a new file under dir, hashing them; fsyncs before resolving. */
export async function stage(
  chunks: AsyncIterable<string | Uint8Array>,
  dir: string = tmpdir(),
): Promise<Staged> {
  await fs.mkdir(dir, { recursive: true });
  const path = join(dir, `evident-stage-${randomBytes(8).toString('hex')}`);
  const fh = await fs.open(path, 'wx', 0o600);
  const h = createHash('sha256');
  let size = 0;
  let buf: Buffer[] = [];
  let buffered = 0;
  const flush = async () => {
    if (buffered === 0) return;
    const b = Buffer.concat(buf, buffered);
    buf = [];
    buffered = 0;
    await fh.write(b);
  };
  try {
    for await (const c of chunks) {
      const b =
        typeof c === 'string' ? Buffer.from(c, 'utf8') : Buffer.from(c.buffer, c.byteOffset, c.byteLength);
      h.update(b);
      size += b.length;
      buf.push(b);
      buffered += b.length;
      if (buffered >= 1 << 20) await flush();
    }
    await flush();
    await fh.sync();
  } catch (e) {
    await fh.close().catch(() => {});
    await fs.rm(path, { force: true });
    throw e;
  }
  await fh.close();
  return { path, sha256: h.digest('hex'), size };
}

/** Hashes an archive object as it is read (never trusting the target's own word). */
export async function hashStream(body: AsyncIterable<Uint8Array>): Promise<{ sha256: string; size: number }> {
  const h = createHash('sha256');
  let size = 0;
  for await (const c of body) {
    h.update(c);
    size += c.length;
  }
  return { sha256: h.digest('hex'), size };
}

export async function readAll(body: AsyncIterable<Uint8Array>, max = 1 << 20): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  let n = 0;
  for await (const c of body) {
    n += c.length;
    if (n > max) throw new RangeError(`object larger than ${max} bytes`);
    parts.push(c);
  }
  return Buffer.concat(parts, n);
}

export function sha256Hex(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}
