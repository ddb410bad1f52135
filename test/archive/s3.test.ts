/**
 * The S3 archive target against a real S3 with Object Lock (Ceph RGW, test/archive/s3-server.ts).
 * One file, run in order: tests here stop the gateway, which every S3 test shares, so every test
 * that uses the gateway lives in this file (node:test runs a file's top-level blocks in sequence;
 * files run in parallel). The last block drives the archive pass and the CLI end to end.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
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
  type GetObjectRetentionCommandOutput,
  HeadObjectCommand,
  ListObjectsV2Command,
  ListObjectVersionsCommand,
  PutObjectCommand,
  PutObjectRetentionCommand,
} from '@aws-sdk/client-s3';
import { addDuration, parseDuration } from '../../src/archive/duration.ts';
import { archivePass } from '../../src/archive/pass.ts';
import { openS3Target } from '../../src/archive/s3.ts';
import type { ArchiveTarget } from '../../src/archive/target.ts';
import { ErrorCode, type EvidentError } from '../../src/core/errors.ts';
import { loadKeyRing } from '../../src/ledger/keyfile.ts';
import { openLedger } from '../../src/ledger/open.ts';
import { buildServer } from '../../src/server/app.ts';
import { openStore } from '../../src/store/open.ts';
import {
  ensureBuilt,
  errorOf,
  event,
  jsonLines,
  lines,
  removeTempDirs,
  run,
  tempDir,
} from '../cli/helpers.ts';
import {
  ENDPOINT,
  FAST,
  gatewayLock,
  gatewayPid,
  restartGateway,
  type S3Server,
  s3Server,
} from './s3-server.ts';

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
let release: () => void = () => {};
before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'evident-s3-'));
  release = await gatewayLock(); // another run of this file on the machine goes first (s3-server.ts)
});
after(() => {
  release();
  rmSync(dir, { recursive: true, force: true });
});

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

  it('refuses at open a bucket without Object Lock (unless read-only), and a missing bucket', async (t) => {
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
    // Read-only (archive verify, restore): the lock is not required, a put is refused, and a
    // missing bucket is still refused at open.
    const reader = await openS3Target(`s3://${plain}/x?endpoint=${ENDPOINT}`, { readOnly: true });
    try {
      assert.deepEqual(await all(reader.list('')), []);
      const b = bytes('x');
      await assert.rejects(reader.put('a', { bytes: b }, meta(b)), (e: EvidentError) => {
        assert.equal(e.code, ErrorCode.USAGE);
        assert.equal(e.details['reason'], 'read-only');
        return true;
      });
    } finally {
      await reader.close();
    }
    await assert.rejects(
      openS3Target(`s3://evident-no-such-bucket/x?endpoint=${ENDPOINT}`, { readOnly: true }),
      (e: EvidentError) => e.code === ErrorCode.USAGE && e.details['reason'] === 'bucket-missing',
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
      }, 50); // often enough for a fast put to be seen at least twice; each sample runs a collection
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

/**
 * The archive pass, `evident archive run/verify` and `evident restore` against the same gateway,
 * through the built bin in child processes. In this file, after the target's tests, because the
 * outage test above and the one below stop the gateway: node:test runs the top-level blocks of a
 * file one after the other, and no other test file uses the gateway, so no test can meet an
 * outage it did not cause.
 */
describe('archive pass, archive verify and restore on S3 (Ceph RGW with Object Lock)', () => {
  before(ensureBuilt);
  after(removeTempDirs);
  /** n valid events, JSON Lines (the CLI tests' own, test/cli/helpers.ts). */
  const EVENTS = (n: number, from = 0) => lines(Array.from({ length: n }, (_, i) => event(from + i)));

  /** A log with a 1y archive policy in 5-entry segments, n events, and the S3 target added. */
  async function logWithTarget(s3: S3Server, n: number) {
    const cwd = tempDir();
    const init = await run(
      ['init', '--retention', 'custom', '--online', '1d', '--archive', '1y', '--segment', '5'],
      { cwd },
    );
    assert.equal(init.code, 0, init.stderr);
    const vk = await run(['key', '--json'], { cwd });
    writeFileSync(join(cwd, 'audit.vkey'), `${JSON.parse(vk.stdout).vkey}\n`);
    assert.equal((await run(['append'], { cwd, input: EVENTS(n) })).code, 0);
    const url = await s3.url('audit');
    const add = await run(['archive', 'target', 'add', '--log', 'default', url], { cwd });
    assert.equal(add.code, 0, add.stderr);
    return { cwd, url, bucket: new URL(url).host };
  }

  async function keys(s3: S3Server, bucket: string, prefix: string): Promise<string[]> {
    const out = await s3.raw.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix }));
    return (out.Contents ?? []).map((o) => o.Key!).sort();
  }
  async function text(s3: S3Server, bucket: string, key: string): Promise<string> {
    const out = await s3.raw.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    return out.Body!.transformToString();
  }
  /** A copy of every object of `from` into a fresh bucket WITHOUT Object Lock (anyone may edit it). */
  async function unlockedCopy(s3: S3Server, from: string): Promise<string> {
    const to = await s3.bucket(false);
    for (const key of await keys(s3, from, '')) {
      const out = await s3.raw.send(new GetObjectCommand({ Bucket: from, Key: key }));
      const body = await out.Body!.transformToByteArray();
      await s3.raw.send(new PutObjectCommand({ Bucket: to, Key: key, Body: body }));
    }
    return to;
  }

  let good: { cwd: string; url: string; bucket: string } | undefined;

  it('archive run --seal-open puts everything under COMPLIANCE until the policy date; archive verify passes; restore gives the same root', async (t) => {
    const s3 = await s3Server(t);
    if (!s3) return;
    const { cwd, url, bucket } = await logWithTarget(s3, 12);
    const pass = await run(['archive', 'run', '--seal-open', '--json'], { cwd });
    assert.equal(pass.code, 0, pass.stderr);
    const r = JSON.parse(pass.stdout);
    assert.deepEqual(
      r.sealed.map((s: { first: number }) => s.first),
      [0, 5, 10],
    );
    assert.ok(r.checkpoints_written >= 1);
    assert.equal(r.pruned.length, 0);

    const segs = await keys(s3, bucket, 'audit/default/segments/');
    assert.equal(segs.filter((k) => k.endsWith('.bundle')).length, 3);
    assert.equal(segs.filter((k) => k.endsWith('.manifest.json')).length, 3);
    const cps = await keys(s3, bucket, 'audit/default/checkpoints/');
    assert.ok(cps.length >= 1);
    // Every object is locked; a bundle and its manifest until last_received_at + the policy's 1y.
    const first = JSON.parse(await text(s3, bucket, segs.find((k) => k.endsWith('.manifest.json'))!)) as {
      last_received_at: string;
      retain_until: string;
      bundle: { name: string };
    };
    const due = addDuration(new Date(first.last_received_at), parseDuration('1y', 'archive'));
    assert.equal(first.retain_until, due.toISOString());
    for (const key of [...segs, ...cps]) {
      const ret: GetObjectRetentionCommandOutput = await s3.raw.send(
        new GetObjectRetentionCommand({ Bucket: bucket, Key: key }),
      );
      assert.equal(ret.Retention?.Mode, 'COMPLIANCE', key);
      if (key.startsWith(`audit/${first.bundle.name.replace(/\.bundle$/, '')}`))
        assert.equal(
          Math.floor(ret.Retention!.RetainUntilDate!.getTime() / 1000),
          Math.floor(due.getTime() / 1000),
          key,
        );
    }
    assert.ok(segs.includes(`audit/${first.bundle.name}`));

    const ok = await run(['archive', 'verify', url, '--vkey', 'audit.vkey', '--json'], { cwd });
    assert.equal(ok.code, 0, ok.stdout + ok.stderr);
    assert.equal(JSON.parse(ok.stdout).ok, true);

    const restored = await run(
      ['restore', '--from', url, '--db', 'restored.db', '--vkey', 'audit.vkey', '--json'],
      { cwd },
    );
    assert.equal(restored.code, 0, restored.stderr);
    const rr = JSON.parse(restored.stdout);
    const v = await run(['verify', '--db', 'restored.db', '--vkey', 'audit.vkey', '--json'], { cwd });
    assert.equal(v.code, 0, v.stdout);
    assert.equal(JSON.parse(v.stdout).root, rr.root);
    // the root of the archive's latest checkpoint (C2SP signed note: origin, size, root)
    const latest = (await text(s3, bucket, cps.at(-1)!)).split('\n');
    assert.equal(rr.size, Number(latest[1]));
    assert.equal(
      Buffer.from(rr.root, /^[0-9a-f]+$/.test(rr.root) ? 'hex' : 'base64').toString('base64'),
      latest[2],
    );
    good = { cwd, url, bucket };
  });

  it('archive verify of an archive edited in a bucket without Object Lock: each change named, exit 1', async (t) => {
    const s3 = await s3Server(t);
    if (!s3) return;
    assert.ok(good, 'uses the archive the first test of this block wrote (run the block whole)');
    const { cwd, bucket } = good;
    const base = 'audit/default/segments/';
    const segs = (await keys(s3, bucket, base)).map((k) => k.slice('audit/'.length));
    const bundles = segs.filter((k) => k.endsWith('.bundle'));
    const manifests = segs.filter((k) => k.endsWith('.manifest.json'));
    const verify = async (b: string) => {
      const r = await run(
        [
          'archive',
          'verify',
          `s3://${b}/audit?endpoint=${ENDPOINT}&region=us-east-1`,
          '--vkey',
          'audit.vkey',
          '--json',
        ],
        { cwd },
      );
      return { code: r.code, report: r.stdout ? JSON.parse(r.stdout) : undefined, stderr: r.stderr };
    };
    // The intact copy verifies: reading never needs the lock. Writing to it is refused.
    const intact = await unlockedCopy(s3, bucket);
    const ok = await verify(intact);
    assert.equal(ok.code, 0, ok.stderr);
    const w = await run(
      ['archive', 'target', 'add', `s3://${intact}/audit?endpoint=${ENDPOINT}&region=us-east-1`, '--json'],
      { cwd },
    );
    assert.equal(w.code, 2);
    assert.equal(errorOf(w)['reason'], 'object-lock-disabled');

    const put = (b: string, name: string, body: Uint8Array | string) =>
      s3.raw.send(new PutObjectCommand({ Bucket: b, Key: `audit/${name}`, Body: body }));
    const get = async (b: string, name: string) =>
      (
        await s3.raw.send(new GetObjectCommand({ Bucket: b, Key: `audit/${name}` }))
      ).Body!.transformToByteArray();
    const cases: Array<[string, (b: string) => Promise<unknown>, string, string]> = [
      [
        'altered',
        async (b) => {
          const m = manifests[1]!;
          await put(b, m, (await text(s3, b, `audit/${m}`)).replace('"count": 5', '"count": 6'));
        },
        'altered',
        manifests[1]!,
      ],
      [
        'deleted',
        (b) => s3.raw.send(new DeleteObjectCommand({ Bucket: b, Key: `audit/${bundles[1]}` })),
        'missing',
        bundles[1]!,
      ],
      [
        'two bundles swapped',
        async (b) => {
          const [x, y] = [await get(b, bundles[0]!), await get(b, bundles[1]!)];
          await put(b, bundles[0]!, y);
          await put(b, bundles[1]!, x);
        },
        'out_of_order',
        bundles[0]!,
      ],
      [
        'an extra object',
        (b) => put(b, 'default/segments/notes.txt', 'hello'),
        'extra',
        'default/segments/notes.txt',
      ],
    ];
    for (const [what, change, kind, object] of cases) {
      const b = await unlockedCopy(s3, bucket);
      await change(b);
      const bad = await verify(b);
      assert.equal(bad.code, 1, `${what}: ${bad.stderr}`);
      assert.equal(bad.report.ok, false);
      assert.ok(
        bad.report.faults.some(
          (f: { kind: string; object: string }) => f.kind === kind && f.object === object,
        ),
        `${what}: ${JSON.stringify(bad.report.faults)}`,
      );
    }
  });

  it('a primary store put back to an older copy is caught from the checkpoints in the bucket: TAMPER_DETECTED, exit 1', async (t) => {
    const s3 = await s3Server(t);
    if (!s3) return;
    assert.ok(good, 'uses the archive the first test of this block wrote (run the block whole)');
    const { cwd } = good;
    const db = join(cwd, 'evident.db');
    copyFileSync(db, join(cwd, 'old.db'));
    assert.equal((await run(['append'], { cwd, input: EVENTS(6, 100) })).code, 0);
    const later = await run(['archive', 'run', '--seal-open', '--json'], { cwd });
    assert.equal(later.code, 0, later.stderr);
    for (const x of ['-wal', '-shm']) rmSync(db + x, { force: true });
    copyFileSync(join(cwd, 'old.db'), db);
    const r = await run(['archive', 'run', '--json'], { cwd });
    assert.equal(r.code, 1, r.stderr);
    assert.equal(errorOf(r).code, 'TAMPER_DETECTED');
    assert.equal(errorOf(r)['rule'], 'archive_checkpoint_missing');
  });

  it('the gateway killed at the prune step prunes nothing (ARCHIVE_UNAVAILABLE, exit 2); the next pass prunes what is due', async (t) => {
    const s3 = await s3Server(t);
    if (!s3) return;
    const { cwd, url } = await logWithTarget(s3, 12);
    const first = await run(['archive', 'run', '--seal-open', '--no-prune', '--json'], { cwd });
    assert.equal(first.code, 0, first.stderr);
    const zero = ['--online', '0d', '--archive', '1y', '--segment', '5', '--force', '--reason', 'test'];
    assert.equal((await run(['retention', 'set', 'custom', ...zero], { cwd })).code, 0);
    const prunes = async () =>
      (await run(['query', '--action', 'evident.prune', '--json'], { cwd })).stdout
        .trim()
        .split('\n')
        .filter(Boolean).length;

    // In process: the real pass and target; the gateway dies when the pass reaches its prune step.
    const ledger = await openLedger({ db: join(cwd, 'evident.db'), key: join(cwd, 'evident.key') });
    const target = await openS3Target(url, FAST);
    let killed = false;
    try {
      await assert.rejects(
        archivePass({
          ledger,
          targets: [target],
          onProgress: (p) => {
            if (p.phase === 'prune' && !killed) {
              process.kill(gatewayPid(), 'SIGKILL');
              killed = true;
            }
          },
        }),
        (e: EvidentError) => e.code === ErrorCode.ARCHIVE_UNAVAILABLE,
      );
      assert.ok(killed, 'the pass reached its prune step');
      assert.deepEqual(await ledger.store.prunedRanges(ledger.log.id), []);
    } finally {
      await target.close();
      await ledger.close();
    }
    try {
      // The CLI with the gateway still down: exit 2, ARCHIVE_UNAVAILABLE, nothing pruned.
      const down = await run(['archive', 'run', '--json'], { cwd });
      assert.equal(down.code, 2, down.stderr);
      assert.equal(errorOf(down).code, 'ARCHIVE_UNAVAILABLE');
      assert.equal(await prunes(), 0);
      const q = await run(['query', '--json'], { cwd });
      assert.equal(q.code, 0, q.stderr);
      assert.ok(
        jsonLines(q.stdout).some((e) => e['index'] === 0),
        'entry 0 is still in the store',
      );
      // The server's scheduled pass meets the same outage: /readyz stays 200 and names it.
      const store = await openStore(join(cwd, 'evident.db'));
      const app = await buildServer({
        store,
        keyRing: await loadKeyRing(join(cwd, 'evident.key')),
        originHost: 'test.example',
        archiveIntervalMs: 3_600_000,
      });
      try {
        await app.ready();
        let ready = await app.inject({ url: '/readyz' });
        for (let i = 0; i < 300 && ready.json().archive === undefined; i++) {
          await new Promise((r) => setTimeout(r, 100));
          ready = await app.inject({ url: '/readyz' });
        }
        assert.equal(ready.statusCode, 200);
        assert.equal(ready.json().archive?.[0]?.log, 'default');
        assert.equal(ready.json().archive?.[0]?.code, 'ARCHIVE_UNAVAILABLE');
      } finally {
        await app.close();
      }
    } finally {
      await restartGateway();
    }
    const back = await run(['archive', 'run', '--json'], { cwd });
    assert.equal(back.code, 0, back.stderr);
    assert.deepEqual(
      JSON.parse(back.stdout).pruned.map((p: { first: number }) => p.first),
      [0, 5, 10],
    );
    assert.equal(await prunes(), 3);
    const v = await run(['verify', '--vkey', 'audit.vkey', '--json'], { cwd });
    assert.equal(v.code, 0, v.stdout);
    assert.equal(JSON.parse(v.stdout).pruned[0].first, 0);
  });
});
