/**
 * A real S3 with Object Lock for the S3 target's tests: the one-node Ceph cluster of
 * scripts/ceph-s3.sh (RADOS Gateway on 127.0.0.1:7480). The first test file to ask starts it (the
 * script holds a lock, so parallel files wait for one start); later ones reuse it. Each test gets
 * its own bucket, so files run in parallel against one server.
 *
 * Without Ceph (apt-get install -y --no-install-recommends radosgw ceph-mon ceph-osd) the tests are
 * skipped with that message, except under CI=true, where they fail.
 *
 * Some tests stop the gateway (an outage), which every user of it would meet. So: every test that
 * uses the gateway is in test/archive/s3.test.ts, whose top-level blocks run one after the other,
 * and that file holds `gatewayLock()` for its whole run, an exclusive flock(1) on a file beside
 * the cluster's data, so that two test runs on one machine (two checkouts, one cluster: its ports
 * are fixed) take turns instead of stopping the gateway under each other.
 */
import assert from 'node:assert/strict';
import { execFile, execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { TestContext } from 'node:test';
import { promisify } from 'node:util';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';

// The SDK warns once per process that its 2027 releases need Node 22: noise in test output.
process.env['AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED'] = 'true';
// Targets take their credentials from the environment, as in production (the SDK's default chain).
process.env['AWS_ACCESS_KEY_ID'] = 'evident-test';
process.env['AWS_SECRET_ACCESS_KEY'] = 'evident-test-secret';
delete process.env['AWS_SESSION_TOKEN'];
delete process.env['AWS_PROFILE'];

export const SCRIPT = new URL('../../scripts/ceph-s3.sh', import.meta.url).pathname;
export const ENDPOINT = 'http://127.0.0.1:7480';
export const CREDENTIALS = { accessKeyId: 'evident-test', secretAccessKey: 'evident-test-secret' };
export const INSTALL = 'apt-get install -y --no-install-recommends radosgw ceph-mon ceph-osd';
const DATA = process.env['EVIDENT_CEPH_DIR'] ?? `${process.env['TMPDIR'] ?? '/tmp'}/evident-ceph-s3`;

export interface S3Server {
  endpoint: string;
  /** An SDK client for what the target never does: raw writes, deletes, retention changes. */
  raw: S3Client;
  /** A fresh bucket (Object Lock enabled unless `lock` is false). */
  bucket(lock?: boolean): Promise<string>;
  /** s3:// URL of a fresh locked bucket under a prefix. */
  url(prefix?: string): Promise<string>;
}

let started: Promise<S3Server | string> | undefined;

/** Starts (or reuses) the server; a string is why it could not. */
function start(): Promise<S3Server | string> {
  started ??= (async () => {
    try {
      execFileSync('sh', ['-c', 'command -v radosgw && command -v ceph-mon && command -v ceph-osd'], {
        stdio: 'ignore',
      });
    } catch {
      return `Ceph is not installed (${INSTALL})`;
    }
    try {
      await promisify(execFile)('bash', [SCRIPT, 'start'], { timeout: 120_000 });
    } catch (e) {
      return `scripts/ceph-s3.sh start failed: ${(e as { stderr?: string }).stderr ?? String(e)}`;
    }
    const raw = new S3Client({
      endpoint: ENDPOINT,
      region: 'us-east-1',
      forcePathStyle: true,
      credentials: CREDENTIALS,
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
      requestHandler: { connectionTimeout: 5000, socketTimeout: 20_000 },
    });
    const bucket = async (lock = true) => {
      const name = `evident-${process.pid}-${randomBytes(4).toString('hex')}`;
      await raw.send(new CreateBucketCommand({ Bucket: name, ObjectLockEnabledForBucket: lock }));
      return name;
    };
    const url = async (prefix = 'archive') =>
      `s3://${await bucket()}/${prefix}?endpoint=${ENDPOINT}&region=us-east-1`;
    return { endpoint: ENDPOINT, raw, bucket, url };
  })();
  return started;
}

/** The server, or the test skipped (locally) / failed (CI=true) with the reason. */
export async function s3Server(t: TestContext): Promise<S3Server | undefined> {
  const server = await start();
  if (typeof server !== 'string') return server;
  if (process.env['CI'] === 'true') assert.fail(`${server}: not allowed under CI=true`);
  t.skip(server);
  return undefined;
}

/** The gateway's process id (a test stops and resumes it). */
export function gatewayPid(): number {
  return Number(readFileSync(`${DATA}/run/client.rgw.a.pid`, 'utf8').trim());
}

/** Starts the gateway again after a test killed it (the monitor and OSD keep running). */
export async function restartGateway(): Promise<void> {
  await promisify(execFile)('bash', [SCRIPT, 'start'], { timeout: 120_000 });
}

/** Options for a target that gives up fast (the failure tests). */
export const FAST = { idleTimeoutMs: 2000, connectTimeoutMs: 1000, maxAttempts: 1 };

/**
 * Waits for the machine-wide lock of the gateway's tests and holds it until the returned release
 * is called (or this process ends: the holder is a `flock` child reading our pipe, which exits
 * when the pipe closes). Without flock(1), nothing is locked.
 */
export async function gatewayLock(): Promise<() => void> {
  const child = spawn('flock', ['-x', `${DATA}.tests.lock`, 'sh', '-c', 'echo locked; read _'], {
    stdio: ['pipe', 'pipe', 'ignore'],
  });
  const locked = await new Promise<boolean>((resolve) => {
    child.once('error', () => resolve(false));
    child.once('exit', () => resolve(false));
    child.stdout.once('data', () => resolve(true));
  });
  if (!locked) return () => {};
  child.unref();
  return () => {
    child.stdin.end();
  };
}
