/**
 * The S3 archive target against a real S3 with Object Lock (Ceph RGW, test/archive/s3-server.ts).
 * One file, run in order: the last tests stop the gateway, which every S3 test shares.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import {
  DeleteObjectCommand,
  GetObjectCommand,
  GetObjectRetentionCommand,
  HeadObjectCommand,
  ListObjectVersionsCommand,
  PutObjectCommand,
  PutObjectRetentionCommand,
} from '@aws-sdk/client-s3';
import { openS3Target } from '../../src/archive/s3.ts';
import type { ArchiveTarget } from '../../src/archive/target.ts';
import { ErrorCode, type EvidentError } from '../../src/core/errors.ts';
import { ENDPOINT, FAST, gatewayPid, restartGateway, type S3Server, s3Server } from './s3-server.ts';

const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
const inAnHour = () => new Date(Math.ceil((Date.now() + 3_600_000) / 1000) * 1000);
const bytes = (s: string) => new TextEncoder().encode(s);
const meta = (b: Uint8Array, retainUntil = inAnHour()) => ({
  sha256: sha256(b),
  size: b.length,
  retainUntil,
});

async function collect(stream: AsyncIterable<Uint8Array> | undefined): Promise<Buffer | undefined> {
  if (!stream) return undefined;
  const chunks: Uint8Array[] = [];
  for await (const c of stream) chunks.push(c);
  return Buffer.concat(chunks);
}

async function all<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}

function code(e: unknown): string {
  return (e as EvidentError).code;
}

/** An S3 SDK error's code and status, to show what the server answered. */
async function serverRefusal(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (e) {
    const x = e as { name: string; $metadata?: { httpStatusCode?: number } };
    return `${x.name} ${x.$metadata?.httpStatusCode}`;
  }
  return 'accepted';
}

let dir: string;
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'evident-s3-'));
});
after(() => rmSync(dir, { recursive: true, force: true }));

describe('S3 archive target (Ceph RGW with Object Lock)', () => {
  const targets: ArchiveTarget[] = [];
  after(async () => {
    for (const t of targets) await t.close();
  });
  async function open(s3: S3Server, options = {}): Promise<{ target: ArchiveTarget; bucket: string }> {
    const url = await s3.url('archive/log-1');
    const target = await openS3Target(url, options);
    targets.push(target);
    return { target, bucket: new URL(url).host };
  }

  it('refuses at open a bucket without Object Lock, and a missing bucket', async (t) => {
    const s3 = await s3Server(t);
    if (!s3) return;
    const plain = await s3.bucket(false);
    await assert.rejects(openS3Target(`s3://${plain}/x?endpoint=${ENDPOINT}`), (e: EvidentError) => {
      assert.equal(e.code, ErrorCode.USAGE);
      assert.equal(e.details['reason'], 'object-lock-disabled');
      return true;
    });
    await assert.rejects(
      openS3Target(`s3://evident-no-such-bucket/x?endpoint=${ENDPOINT}`),
      (e: EvidentError) => {
        assert.equal(e.code, ErrorCode.USAGE);
        assert.equal(e.details['reason'], 'bucket-missing');
        return true;
      },
    );
  });

  it('writes each object under COMPLIANCE retention until the given date, and reads it back', async (t) => {
    const s3 = await s3Server(t);
    if (!s3) return;
    const { target, bucket } = await open(s3);
    assert.equal(target.url, `s3://${bucket}/archive/log-1/?endpoint=${ENDPOINT}&region=us-east-1`);
    const body = bytes('checkpoint text\n');
    const until = inAnHour();
    const put = await target.put('checkpoints/1.txt', { bytes: body }, meta(body, until));
    assert.deepEqual(put, {
      name: 'checkpoints/1.txt',
      size: body.length,
      sha256: sha256(body),
      retainUntil: until,
    });

    const key = 'archive/log-1/checkpoints/1.txt';
    const retention = await s3.raw.send(new GetObjectRetentionCommand({ Bucket: bucket, Key: key }));
    assert.equal(retention.Retention?.Mode, 'COMPLIANCE');
    assert.equal(retention.Retention?.RetainUntilDate?.getTime(), until.getTime());
    assert.deepEqual(await target.stat('checkpoints/1.txt'), put);
    assert.deepEqual(await collect(await target.read('checkpoints/1.txt')), Buffer.from(body));
    assert.equal(await target.stat('checkpoints/2.txt'), undefined);
    assert.equal(await target.read('checkpoints/2.txt'), undefined);
  });

  it('the server refuses deleting the locked version and shortening its retention; an overwrite leaves it intact', async (t) => {
    const s3 = await s3Server(t);
    if (!s3) return;
    const { target, bucket } = await open(s3);
    const body = bytes('sealed segment 0-999');
    const until = inAnHour();
    await target.put('segments/0.bundle', { bytes: body }, meta(body, until));
    const key = 'archive/log-1/segments/0.bundle';
    const [locked] =
      (await s3.raw.send(new ListObjectVersionsCommand({ Bucket: bucket, Prefix: key }))).Versions ?? [];
    const VersionId = locked?.VersionId;
    assert.ok(VersionId);

    // Each refused by the server itself, with 403 AccessDenied (AWS answers the same).
    const del = new DeleteObjectCommand({ Bucket: bucket, Key: key, VersionId });
    assert.equal(await serverRefusal(s3.raw.send(del)), 'AccessDenied 403');
    const shorter = { Mode: 'COMPLIANCE' as const, RetainUntilDate: new Date(Date.now() + 60_000) };
    const shorten = new PutObjectRetentionCommand({
      Bucket: bucket,
      Key: key,
      VersionId,
      Retention: shorter,
    });
    assert.equal(await serverRefusal(s3.raw.send(shorten)), 'AccessDenied 403');
    const toGovernance = new PutObjectRetentionCommand({
      Bucket: bucket,
      Key: key,
      VersionId,
      BypassGovernanceRetention: true,
      Retention: { Mode: 'GOVERNANCE', RetainUntilDate: until },
    });
    assert.equal(await serverRefusal(s3.raw.send(toGovernance)), 'AccessDenied 403');

    // Through the target, other bytes under the name are a conflict, and nothing is written.
    const other = bytes('forged segment 0-999!');
    await assert.rejects(target.put('segments/0.bundle', { bytes: other }, meta(other)), (e) => {
      assert.equal(code(e), ErrorCode.ARCHIVE_CONFLICT);
      return true;
    });
    // A raw PUT (anyone holding write access) makes a NEW version; a DELETE without a version id
    // adds a delete marker. The locked version stays, unchanged, and is what the target reads.
    const forged = await s3.raw.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: other }));
    assert.notEqual(forged.VersionId, VersionId);
    const marker = await s3.raw.send(new DeleteObjectCommand({ Bucket: bucket, Key: key }));
    assert.equal(marker.DeleteMarker, true);
    const original = await s3.raw.send(new GetObjectCommand({ Bucket: bucket, Key: key, VersionId }));
    assert.deepEqual(Buffer.from(await original.Body!.transformToByteArray()), Buffer.from(body));
    assert.deepEqual(await collect(await target.read('segments/0.bundle')), Buffer.from(body));
    assert.equal((await target.stat('segments/0.bundle'))?.sha256, sha256(body));
    assert.deepEqual(
      (await all(target.list('segments/'))).map((o) => [o.name, o.size]),
      [['segments/0.bundle', body.length]],
    );
    assert.equal(await serverRefusal(s3.raw.send(del)), 'AccessDenied 403');
  });

  it('puts once: an identical put succeeds (and may lengthen retention), other bytes are ARCHIVE_CONFLICT', async (t) => {
    const s3 = await s3Server(t);
    if (!s3) return;
    const { target, bucket } = await open(s3);
    const body = bytes('manifest {"from":0,"to":999}');
    const first = await target.put('m.json', { bytes: body }, meta(body));
    const file = join(dir, 'same.json');
    writeFileSync(file, body);
    const later = new Date(first.retainUntil!.getTime() + 3_600_000);
    const again = await target.put('m.json', { path: file }, meta(body, later));
    assert.equal(again.sha256, sha256(body));
    assert.equal(again.retainUntil?.getTime(), later.getTime());
    const r = await s3.raw.send(
      new GetObjectRetentionCommand({ Bucket: bucket, Key: 'archive/log-1/m.json' }),
    );
    assert.equal(r.Retention?.RetainUntilDate?.getTime(), later.getTime());

    for (const other of [bytes('manifest {"from":0,"to":998}'), bytes('short')]) {
      await assert.rejects(target.put('m.json', { bytes: other }, meta(other)), (e: EvidentError) => {
        assert.equal(e.code, ErrorCode.ARCHIVE_CONFLICT);
        assert.equal((e.details['existing'] as { sha256?: string }).sha256 ?? sha256(body), sha256(body));
        return true;
      });
    }
    const versions = await s3.raw.send(new ListObjectVersionsCommand({ Bucket: bucket }));
    assert.equal(versions.Versions?.length, 1);
  });

  it('checks its arguments: name, sha256, size, a retention date in the future', async (t) => {
    const s3 = await s3Server(t);
    if (!s3) return;
    const { target } = await open(s3);
    const body = bytes('x');
    const cases: Array<[string, Parameters<ArchiveTarget['put']>[2]]> = [
      ['a', { ...meta(body), sha256: 'ABC' }],
      ['a', { ...meta(body), size: -1 }],
      ['a', meta(body, new Date(Date.now() - 1000))],
      ['', meta(body)],
      ['/abs', meta(body)],
    ];
    for (const [name, m] of cases)
      await assert.rejects(target.put(name, { bytes: body }, m), (e) => code(e) === ErrorCode.USAGE);
    // A body that is not what its caller hashed is never uploaded.
    await assert.rejects(
      target.put('a', { bytes: body }, meta(bytes('y'))),
      (e) => code(e) === ErrorCode.INTERNAL,
    );
    assert.equal(await target.stat('a'), undefined);
  });

  it('lists in name order across pages, each name once, under the prefix only', async (t) => {
    const s3 = await s3Server(t);
    if (!s3) return;
    const { target, bucket } = await open(s3, { listPageSize: 2 });
    const names = ['b/2', 'a/1', 'b/10', 'c', 'b/1'];
    for (const n of names) {
      const b = bytes(`object ${n}`);
      await target.put(n, { bytes: b }, meta(b));
    }
    // Extra versions of one key split it across pages; a key outside the prefix is not listed.
    for (let i = 0; i < 3; i++)
      await s3.raw.send(new PutObjectCommand({ Bucket: bucket, Key: 'archive/log-1/b/10', Body: `v${i}` }));
    await s3.raw.send(new PutObjectCommand({ Bucket: bucket, Key: 'archive/log-10/a', Body: 'x' }));
    const listed = await all(target.list(''));
    assert.deepEqual(
      listed.map((o) => o.name),
      ['a/1', 'b/1', 'b/10', 'b/2', 'c'],
    );
    assert.equal(listed.find((o) => o.name === 'b/10')?.size, bytes('object b/10').length);
    assert.deepEqual(
      (await all(target.list('b/1'))).map((o) => o.name),
      ['b/1', 'b/10'],
    );
    assert.deepEqual(await all(target.list('z')), []);
  });

  it('streams a 24 MB file in constant memory, single PUT and multipart, checksums verified', async (t) => {
    const s3 = await s3Server(t);
    if (!s3) return;
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    const size = 24 * 1024 * 1024;
    const file = join(dir, 'segment.bundle');
    const hash = createHash('sha256');
    writeFileSync(file, '');
    for (let i = 0; i < 24; i++) {
      const chunk = randomBytes(1024 * 1024);
      hash.update(chunk);
      writeFileSync(file, chunk, { flag: 'a' });
    }
    const m = { sha256: hash.digest('hex'), size, retainUntil: inAnHour() };
    const { target, bucket } = await open(s3, {
      multipartThresholdBytes: 16 * 1024 * 1024,
      partSizeBytes: 5 * 1024 * 1024,
    });
    const { target: single } = await open(s3);

    for (const [name, tgt] of [
      ['multipart.bundle', target],
      ['single.bundle', single],
    ] as const) {
      gc();
      const base = process.memoryUsage();
      const samples: number[] = [];
      const timer = setInterval(() => {
        gc();
        const now = process.memoryUsage();
        samples.push(now.heapUsed + now.arrayBuffers - base.heapUsed - base.arrayBuffers);
      }, 200); // a full collection takes tens of ms: sampling more often slows the put itself
      try {
        const put = await tgt.put(name, { path: file }, m);
        assert.equal(put.sha256, m.sha256);
      } finally {
        clearInterval(timer);
      }
      // Live memory during the put stays far below the body's size: a put holding the whole file
      // would show 24 MB in every sample. The median, because freed buffers are released lazily
      // (a sample now and then still counts a few chunks the last collection let go).
      samples.sort((a, b) => a - b);
      const median = samples[Math.floor(samples.length / 2)] ?? 0;
      const mib = (x: number) => `${(x / 1024 / 1024).toFixed(1)} MiB`;
      t.diagnostic(
        `${name}: live memory growth median ${mib(median)}, peak ${mib(samples.at(-1) ?? 0)}, ${samples.length} samples`,
      );
      assert.ok(samples.length >= 2, 'sampled during the put');
      assert.ok(median < 8 * 1024 * 1024, `median live memory growth ${median} bytes`);
    }
    const multi = await s3.raw.send(
      new HeadObjectCommand({ Bucket: bucket, Key: 'archive/log-1/multipart.bundle' }),
    );
    assert.match(multi.ETag ?? '', /-5"$/, 'five parts of at most 5 MiB');
    assert.equal(multi.ObjectLockMode, 'COMPLIANCE');
    const back = createHash('sha256');
    for await (const c of (await target.read('multipart.bundle'))!) back.update(c);
    assert.equal(back.digest('hex'), m.sha256);
  });

  it('a corrupted upload is refused by the server (Content-MD5), and nothing is stored', async (t) => {
    const s3 = await s3Server(t);
    if (!s3) return;
    const { target, bucket } = await open(s3);
    const good = bytes('the bytes that were hashed');
    const bad = bytes('the bytes that were TOSSED'); // same length, other bytes
    const md5 = createHash('md5').update(good).digest('base64');
    const raw = new PutObjectCommand({
      Bucket: bucket,
      Key: 'archive/log-1/raw',
      Body: bad,
      ContentMD5: md5,
    });
    assert.equal(await serverRefusal(s3.raw.send(raw)), 'BadDigest 400');

    // The file changes between the target's hashing pass and its upload: a FIFO serves one content
    // to the first reader and another to the second.
    const fifo = join(dir, 'changing.fifo');
    execFileSync('mkfifo', [fifo]);
    const writer = (async () => {
      await writeFile(fifo, good);
      await new Promise((r) => setTimeout(r, 1000)); // the hashing reader sees end of file first
      await writeFile(fifo, bad);
    })();
    await assert.rejects(target.put('changing', { path: fifo }, meta(good)), (e: EvidentError) => {
      assert.equal(e.code, ErrorCode.ARCHIVE_UNAVAILABLE);
      assert.equal(e.details['status'], 400);
      assert.match(String(e.details['cause']), /BadDigest/);
      return true;
    });
    await writer;
    assert.equal(await target.stat('changing'), undefined);
    assert.equal(await target.stat('raw'), undefined);
  });

  it('a frozen or killed gateway is ARCHIVE_UNAVAILABLE within the timeout; the same put succeeds once it is back', async (t) => {
    const s3 = await s3Server(t);
    if (!s3) return;
    const { target } = await open(s3, FAST);
    const body = bytes('checkpoint during an outage');
    const pid = gatewayPid();
    process.kill(pid, 'SIGSTOP');
    try {
      const t0 = performance.now();
      await assert.rejects(target.put('outage', { bytes: body }, meta(body)), (e: EvidentError) => {
        assert.equal(e.code, ErrorCode.ARCHIVE_UNAVAILABLE);
        assert.equal(e.details['target'], target.url);
        assert.match(String(e.details['cause']), /Timeout|timed out|socket hang up/i);
        return true;
      });
      assert.ok(performance.now() - t0 < 8000, 'gave up within a few request timeouts');
    } finally {
      process.kill(pid, 'SIGCONT');
    }
    assert.equal((await target.put('outage', { bytes: body }, meta(body))).sha256, sha256(body));

    // Killed in the middle of a 32 MB upload: refused at once, then the same put succeeds.
    const file = join(dir, 'big.bundle');
    const big = randomBytes(32 * 1024 * 1024);
    writeFileSync(file, big);
    const m = meta(big);
    const pending = target.put('big.bundle', { path: file }, m);
    setTimeout(() => process.kill(gatewayPid(), 'SIGKILL'), 250);
    await assert.rejects(pending, (e) => code(e) === ErrorCode.ARCHIVE_UNAVAILABLE);
    await assert.rejects(target.stat('big.bundle'), (e) => code(e) === ErrorCode.ARCHIVE_UNAVAILABLE);
    await restartGateway();
    assert.equal((await target.put('big.bundle', { path: file }, m)).sha256, m.sha256);
    assert.deepEqual(await collect(await target.read('big.bundle')), big);
  });
});
