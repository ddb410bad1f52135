/**
 * Section `s3` (opt-in: `npm run bench -- --only s3`): put throughput of a file to the S3 archive
 * target, against a plain streamed PutObject of the same file to the same server. The target
 * hashes the file first, sends Content-MD5 and SHA-256, checks the retention and reads the object
 * back; the ratio is what those checks cost. Server: EVIDENT_BENCH_S3 (an s3:// URL of a bucket
 * with Object Lock, credentials from the AWS environment), else the local Ceph RGW of
 * scripts/ceph-s3.sh, started if needed.
 */
import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { openS3Target } from '../src/archive/s3.ts';
import { parseS3Url } from '../src/archive/s3-url.ts';

export interface S3PutResult {
  mb: number;
  /** The target's put: hash, upload with checksums, retention check, read-back. */
  put_mb_per_s: number;
  /** A plain streamed PutObject of the same file (no lock, no checks). */
  raw_mb_per_s: number;
  server: string;
}

const CEPH = new URL('../scripts/ceph-s3.sh', import.meta.url).pathname;

/**
 * The target URL to measure (a fresh locked bucket on the local gateway), or why there is none.
 * `start: false` only uses a gateway already running (the archive section's S3 variant).
 */
export async function server(o: { start?: boolean } = {}): Promise<{ url: string } | { error: string }> {
  const given = process.env['EVIDENT_BENCH_S3'];
  if (given) return { url: given };
  const start = o.start ?? true;
  try {
    const env = (await promisify(execFile)('bash', [CEPH, start ? 'start' : 'status'], {
      timeout: 120_000,
    }).then(() => promisify(execFile)('bash', [CEPH, 'env']))) as { stdout: string };
    for (const line of env.stdout.trim().split('\n')) {
      const [k, v] = line.split('=') as [string, string];
      if (k.startsWith('AWS_')) process.env[k] = v;
    }
  } catch (e) {
    return {
      error: start
        ? `no S3 server (scripts/ceph-s3.sh start failed: ${String(e).split('\n')[0]})`
        : 'the Ceph gateway of scripts/ceph-s3.sh is not running (and EVIDENT_BENCH_S3 is not set)',
    };
  }
  process.env['AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED'] = 'true';
  const { S3Client, CreateBucketCommand } = await import('@aws-sdk/client-s3');
  const client = new S3Client({
    endpoint: 'http://127.0.0.1:7480',
    region: 'us-east-1',
    forcePathStyle: true,
  });
  const bucket = `evident-bench-${randomBytes(4).toString('hex')}`;
  await client.send(new CreateBucketCommand({ Bucket: bucket, ObjectLockEnabledForBucket: true }));
  client.destroy();
  return { url: `s3://${bucket}/bench?endpoint=http://127.0.0.1:7480&region=us-east-1` };
}

export async function benchS3Put(sizesMb: number[]): Promise<S3PutResult[] | { error: string }> {
  const where = await server();
  if ('error' in where) return where;
  const target = await openS3Target(where.url);
  const loc = parseS3Url(where.url);
  const { S3Client, PutObjectCommand, DeleteObjectCommand } = await import('@aws-sdk/client-s3');
  const raw = new S3Client({
    ...(loc.endpoint ? { endpoint: loc.endpoint } : {}),
    ...(loc.region ? { region: loc.region } : {}),
    forcePathStyle: loc.forcePathStyle,
    requestChecksumCalculation: 'WHEN_REQUIRED',
  });
  const dir = mkdtempSync(join(tmpdir(), 'evident-bench-s3-'));
  const out: S3PutResult[] = [];
  try {
    for (const mb of sizesMb) {
      const file = join(dir, `${mb}.bin`);
      const bytes = randomBytes(mb * 1024 * 1024);
      writeFileSync(file, bytes);
      const sha256 = createHash('sha256').update(bytes).digest('hex');
      const retainUntil = new Date(Date.now() + 3_600_000);
      const name = `${Date.now()}-${mb}`;

      let t0 = performance.now();
      await raw.send(
        new PutObjectCommand({
          Bucket: loc.bucket,
          Key: `${loc.prefix}raw-${name}`,
          Body: createReadStream(file),
          ContentLength: bytes.length,
        }),
      );
      const rawS = (performance.now() - t0) / 1000;
      // The plain object is not locked: remove it (a memory-backed test server keeps every byte).
      await raw.send(new DeleteObjectCommand({ Bucket: loc.bucket, Key: `${loc.prefix}raw-${name}` }));
      t0 = performance.now();
      await target.put(name, { path: file }, { sha256, size: bytes.length, retainUntil });
      const putS = (performance.now() - t0) / 1000;
      out.push({
        mb,
        put_mb_per_s: Math.round((mb / putS) * 10) / 10,
        raw_mb_per_s: Math.round((mb / rawS) * 10) / 10,
        server: target.url,
      });
      rmSync(file);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
    raw.destroy();
    await target.close();
  }
  return out;
}
