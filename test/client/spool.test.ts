/**
 * The spool on real files, without a server (delivery off): framing and replay, a torn tail cut,
 * damage in the middle refused with a code, bounds (reject and block), failures of the disk
 * (a full and a read-only filesystem, a removed directory), and the lock.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import {
  appendFileSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { EvidentClient } from '../../src/client/index.ts';
import type { ClientOptions } from '../../src/client/options.ts';
import { isEvidentError } from '../../src/core/errors.ts';
import { event, removeTempDirs, sleep, tempDir } from './support.ts';

// Nothing listens here: these tests never deliver.
const base = (spoolDir: string, o: Partial<ClientOptions> = {}): ClientOptions => ({
  url: 'http://127.0.0.1:9',
  apiKey: 'evk_000000000000_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA',
  log: 'default',
  spoolDir,
  deliver: false,
  ...o,
});

const segments = (dir: string) =>
  readdirSync(dir)
    .filter((f) => f.startsWith('seg-'))
    .sort();

async function rejectsWith(p: Promise<unknown>, code: string, check?: (d: Record<string, unknown>) => void) {
  await assert.rejects(p, (e: unknown) => {
    assert.ok(isEvidentError(e), `not an EvidentError: ${String(e)}`);
    assert.equal(e.code, code, e.message);
    check?.(e.details);
    return true;
  });
}

async function fill(dir: string, count: number, o: Partial<ClientOptions> = {}): Promise<string[]> {
  const c = await EvidentClient.open(base(dir, o));
  const ids = (await Promise.all(Array.from({ length: count }, () => c.record(event())))).map((r) => r.id);
  await c.close({ timeoutMs: 0 });
  return ids;
}

after(removeTempDirs);

describe('spool: records and replay', () => {
  it('fills id (UUIDv7) and timestamp, fsyncs by group commit, and replays everything after a restart', async () => {
    const dir = tempDir();
    const c = await EvidentClient.open(base(dir));
    const before = Date.now();
    const recs = await Promise.all(Array.from({ length: 2000 }, () => c.record(event())));
    const s = c.stats();
    assert.equal(s.spooled, 2000);
    assert.equal(s.pending, 2000);
    assert.ok(s.commits < 200, `2000 concurrent records took ${s.commits} fsyncs`);
    for (const r of recs)
      assert.match(r.id, /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    assert.ok(Date.parse(recs[0]!.timestamp) >= before - 1);
    const given = await c.record({
      ...event(),
      id: '0190aaaa-bbbb-7ccc-8ddd-eeeeeeeeeeee',
      timestamp: '2026-01-02T03:04:05.000Z',
    });
    assert.deepEqual(given, {
      id: '0190aaaa-bbbb-7ccc-8ddd-eeeeeeeeeeee',
      timestamp: '2026-01-02T03:04:05.000Z',
    });
    await c.close({ timeoutMs: 0 });
    assert.ok(!existsSync(join(dir, 'LOCK')), 'close releases the lock');

    const again = await EvidentClient.open(base(dir));
    assert.equal(again.stats().replayed, 2001);
    assert.equal(again.stats().pending, 2001);
    await again.close({ timeoutMs: 0 });
  });

  it('refuses an invalid event with VALIDATION_FAILED naming field and rule, and spools nothing', async () => {
    const dir = tempDir();
    const c = await EvidentClient.open(base(dir));
    await rejectsWith(
      c.record({ ...event(), actor_type: 'robot', color: 'red' }),
      'VALIDATION_FAILED',
      (d) => {
        const issues = d['issues'] as { field: string; rule: string }[];
        assert.ok(issues.some((i) => i.field === 'actor_type' && i.rule === 'enum'));
        assert.ok(issues.some((i) => i.field === 'color' && i.rule === 'unknown_field'));
      },
    );
    assert.equal(c.stats().pending, 0);
    assert.equal(c.stats().refused, 1);
    await c.close({ timeoutMs: 0 });
    assert.deepEqual(segments(dir), [], 'no segment was even created');
  });

  it('cuts a torn tail (a partial record, or zeros) at open and keeps every whole record', async () => {
    const dir = tempDir();
    await fill(dir, 10);
    const [seg] = segments(dir);
    const path = join(dir, seg!);
    const size = statSync(path).size;
    // A record header announcing 200 bytes, of which 30 reached the disk.
    const torn = Buffer.alloc(8 + 30, 0x41);
    torn.writeUInt32BE(200, 0);
    appendFileSync(path, torn);
    const c = await EvidentClient.open(base(dir));
    assert.equal(c.stats().replayed, 10);
    assert.equal(c.stats().tornBytes, 38);
    assert.equal(statSync(path).size, size, 'the tail was cut from the file');
    await c.close({ timeoutMs: 0 });

    // The file grew but the data never came: zeros after the last record.
    const [, seg2] = segments(dir);
    assert.equal(seg2, undefined, 'no records were written, so no new segment');
    appendFileSync(path, Buffer.alloc(4096));
    const d = await EvidentClient.open(base(dir));
    assert.equal(d.stats().replayed, 10);
    assert.equal(d.stats().tornBytes, 4096);
    await d.close({ timeoutMs: 0 });
  });

  it('a damaged record in the middle fails the open with SPOOL_FAILED (corrupt_record, segment, offset): never skipped', async () => {
    const dir = tempDir();
    await fill(dir, 10);
    const path = join(dir, segments(dir)[0]!);
    const buf = readFileSync(path);
    // Third record: header 8 + two records before it.
    const first = 8 + 8 + buf.readUInt32BE(8);
    const third = first + 8 + buf.readUInt32BE(first);
    buf[third + 8 + 5]! ^= 0x01; // one bit of its payload
    writeFileSync(path, buf);
    await rejectsWith(EvidentClient.open(base(dir)), 'SPOOL_FAILED', (d) => {
      assert.equal(d['reason'], 'corrupt_record');
      assert.equal(d['offset'], third);
      assert.equal(d['segment'], 1);
    });
    assert.ok(!existsSync(join(dir, 'LOCK')), 'a failed open leaves no lock behind');
    assert.equal(readFileSync(path).length, buf.length, 'nothing was cut');
  });

  it('damage in a segment that is not the last one is refused too, even at its end', async () => {
    const dir = tempDir();
    await fill(dir, 3);
    await fill(dir, 3); // a second process: a second segment
    const [s1, s2] = segments(dir);
    assert.ok(s1 && s2);
    appendFileSync(join(dir, s1), Buffer.from([0, 0, 0, 50, 1, 2, 3]));
    await rejectsWith(EvidentClient.open(base(dir)), 'SPOOL_FAILED', (d) =>
      assert.equal(d['reason'], 'corrupt_record'),
    );
  });
});

describe('spool: bounds', () => {
  it("onFull 'reject': SPOOL_FULL at the limit, nothing written, ensureWritable says the same", async () => {
    const dir = tempDir();
    const c = await EvidentClient.open(base(dir, { maxEvents: 5 }));
    for (let i = 0; i < 5; i++) await c.record(event());
    const size = statSync(join(dir, segments(dir)[0]!)).size;
    await rejectsWith(c.record(event()), 'SPOOL_FULL', (d) => {
      assert.deepEqual(d['limit'], { events: 5, bytes: 64 * 1024 * 1024 });
      assert.equal((d['pending'] as { events: number }).events, 5);
    });
    await rejectsWith(c.ensureWritable(), 'SPOOL_FULL');
    assert.equal(statSync(join(dir, segments(dir)[0]!)).size, size);
    assert.equal(c.stats().pending, 5);
    await c.close({ timeoutMs: 0 });
  });

  it('the byte bound counts too', async () => {
    const dir = tempDir();
    const c = await EvidentClient.open(base(dir, { maxBytes: 2048 }));
    let ok = 0;
    for (;;) {
      try {
        await c.record(event());
        ok++;
      } catch (e) {
        assert.ok(isEvidentError(e, 'SPOOL_FULL'));
        break;
      }
    }
    assert.ok(ok > 3 && c.stats().pendingBytes <= 2048, `${ok} events, ${c.stats().pendingBytes} bytes`);
    await c.close({ timeoutMs: 0 });
  });

  it("onFull 'block': waits for room, then SPOOL_FULL after blockTimeoutMs; nothing written", async () => {
    const dir = tempDir();
    const c = await EvidentClient.open(base(dir, { maxEvents: 3, onFull: 'block', blockTimeoutMs: 300 }));
    for (let i = 0; i < 3; i++) await c.record(event());
    const t0 = Date.now();
    await rejectsWith(c.record(event()), 'SPOOL_FULL');
    assert.ok(Date.now() - t0 >= 290, `gave up after ${Date.now() - t0} ms`);
    const t1 = Date.now();
    await rejectsWith(c.ensureWritable(), 'SPOOL_FULL');
    assert.ok(Date.now() - t1 >= 290);
    assert.equal(c.stats().pending, 3);
    // close() ends the waits at once with LEDGER_CLOSED
    const waiting = c.record(event()).catch((e: unknown) => e);
    await sleep(20);
    await c.close({ timeoutMs: 0 });
    assert.ok(isEvidentError(await waiting, 'LEDGER_CLOSED'));
    const again = await EvidentClient.open(base(dir));
    assert.equal(again.stats().replayed, 3);
    await again.close({ timeoutMs: 0 });
  });
});

describe('spool: an unwritable spool is SPOOL_FAILED', () => {
  it('a spool path that is a file', async () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'file'), 'x');
    await rejectsWith(EvidentClient.open(base(join(dir, 'file'))), 'SPOOL_FAILED');
  });

  it('the directory removed under a running client: record() and ensureWritable() refuse, never write into the void', async () => {
    const dir = join(tempDir(), 'spool');
    const c = await EvidentClient.open(base(dir, { probeIntervalMs: 60_000 }));
    await c.record(event());
    await c.ensureWritable();
    rmSync(dir, { recursive: true, force: true });
    await rejectsWith(c.ensureWritable(), 'SPOOL_FAILED');
    await rejectsWith(c.record(event()), 'SPOOL_FAILED');
    // recreated empty: not the directory we locked, still refused
    mkdirSync(dir);
    await rejectsWith(c.record(event()), 'SPOOL_FAILED');
    await rejectsWith(c.ensureWritable(), 'SPOOL_FAILED');
    await c.close({ timeoutMs: 0 });
  });

  describe('on a small tmpfs (needs mount: root with CAP_SYS_ADMIN)', () => {
    const mnt = tempDir();
    let mounted = false;
    try {
      execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', mnt], { stdio: 'ignore' });
      mounted = true;
    } catch {
      mounted = false;
    }
    after(() => {
      if (mounted) execFileSync('umount', ['-l', mnt], { stdio: 'ignore' });
    });
    // Under CI a missing capability is a failure, as for the project's other tools.
    const skip = mounted || process.env['CI'] === 'true' ? false : 'mount is not permitted here';
    it('a tmpfs could be mounted', { skip }, () => assert.ok(mounted, 'mount -t tmpfs failed'));

    it('disk full: record() rejects SPOOL_FAILED (ENOSPC), ensureWritable too; the records before stay', {
      skip,
    }, async () => {
      const dir = join(mnt, 'full');
      const c = await EvidentClient.open(base(dir, { probeIntervalMs: 0 }));
      let ok = 0;
      let failure: unknown;
      for (let i = 0; i < 5000 && failure === undefined; i++) {
        try {
          await c.record({ ...event(), metadata: { pad: 'x'.repeat(1000) } });
          ok++;
        } catch (e) {
          failure = e;
        }
      }
      assert.ok(isEvidentError(failure, 'SPOOL_FAILED'), String(failure));
      assert.equal((failure as { details: Record<string, unknown> }).details['cause'], 'ENOSPC');
      await rejectsWith(c.ensureWritable(), 'SPOOL_FAILED');
      assert.equal(c.stats().pending, ok);
      await c.close({ timeoutMs: 0 });
      const again = await EvidentClient.open(base(dir));
      assert.equal(again.stats().replayed, ok, 'every acknowledged record is still there, and only those');
      await again.close({ timeoutMs: 0 });
    });

    it('read-only filesystem: open() rejects SPOOL_FAILED (EROFS); the spool is intact once writable again', {
      skip,
    }, async () => {
      rmSync(join(mnt, 'full'), { recursive: true, force: true });
      const dir = join(mnt, 'ro');
      const c = await EvidentClient.open(base(dir));
      await c.record(event());
      await c.close({ timeoutMs: 0 });
      execFileSync('mount', ['-o', 'remount,ro', mnt]);
      try {
        await rejectsWith(EvidentClient.open(base(dir)), 'SPOOL_FAILED', (d) =>
          assert.equal(d['cause'], 'EROFS'),
        );
      } finally {
        execFileSync('mount', ['-o', 'remount,rw', mnt]);
      }
      const again = await EvidentClient.open(base(dir));
      assert.equal(again.stats().replayed, 1);
      await again.close({ timeoutMs: 0 });
    });
  });
});

describe('spool: one process per directory', () => {
  it('a second client on the same directory in this process is refused (locked)', async () => {
    const dir = tempDir();
    const c = await EvidentClient.open(base(dir));
    await rejectsWith(EvidentClient.open(base(dir)), 'SPOOL_FAILED', (d) =>
      assert.equal(d['reason'], 'locked'),
    );
    await c.close({ timeoutMs: 0 });
  });

  it('a lock held by a live process is refused; a stale lock of a dead pid is taken over', async () => {
    const dir = tempDir();
    const child = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60000)'], { stdio: 'ignore' });
    const lock = (pid: number) =>
      writeFileSync(
        join(dir, 'LOCK'),
        `${JSON.stringify({ pid, host: hostname(), since: new Date().toISOString() })}\n`,
      );
    try {
      lock(child.pid!);
      await rejectsWith(EvidentClient.open(base(dir)), 'SPOOL_FAILED', (d) => {
        assert.equal(d['reason'], 'locked');
        assert.equal(d['pid'], child.pid);
      });
    } finally {
      child.kill('SIGKILL');
      await new Promise((r) => child.once('exit', r));
    }
    // the same pid, now dead: stale
    const c = await EvidentClient.open(base(dir));
    assert.equal(JSON.parse(readFileSync(join(dir, 'LOCK'), 'utf8')).pid, process.pid);
    await c.record(event());
    await c.close({ timeoutMs: 0 });
    // a lock from another host is never taken over
    writeFileSync(join(dir, 'LOCK'), JSON.stringify({ pid: 1, host: 'elsewhere.example', since: '' }));
    await rejectsWith(EvidentClient.open(base(dir)), 'SPOOL_FAILED', (d) =>
      assert.equal(d['host'], 'elsewhere.example'),
    );
  });
});
