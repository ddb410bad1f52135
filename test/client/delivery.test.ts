/**
 * Delivery to a real `evident serve`: a server that is down at first, an application killed
 * with SIGKILL under load, a permanent refusal set aside, and bounded spools that make room as
 * deliveries land. Each test reads the log back with a read-scope key and compares ids and order.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { encodeRecord, SEGMENT_MAGIC } from '../../src/client/frame.ts';
import { EvidentClient, REJECTED_FILE } from '../../src/client/index.ts';
import type { EvidentError } from '../../src/core/errors.ts';
import { killAll } from '../server/cluster.ts';
import {
  checkOnceInOrder,
  event,
  prepareServer,
  readLog,
  removeTempDirs,
  type Server,
  tempDir,
} from './support.ts';

const RECORDER = fileURLToPath(new URL('./fixtures/recorder.ts', import.meta.url));

after(() => {
  killAll();
  removeTempDirs();
});

describe('delivery', () => {
  let s: Server;
  before(async () => {
    s = await prepareServer();
  });
  after(async () => {
    await s.stop();
  });

  it('server down: record() succeeds and spools; once it starts, every event lands exactly once, in record order', async () => {
    const errors: EvidentError[] = [];
    const c = await EvidentClient.open({
      url: s.url,
      apiKey: s.ingestKey,
      log: 'default',
      spoolDir: tempDir(),
      retryBaseMs: 20,
      retryMaxMs: 200,
      batchSize: 37,
      onError: (e) => errors.push(e),
    });
    const ids: string[] = [];
    for (let round = 0; round < 10; round++) {
      const recs = await Promise.all(Array.from({ length: 50 }, () => c.record(event('down'))));
      ids.push(...recs.map((r) => r.id));
    }
    await new Promise((r) => setTimeout(r, 300));
    const st = c.stats();
    assert.equal(st.spooled, 500);
    assert.equal(st.pending, 500);
    assert.equal(st.delivered, 0);
    assert.ok(st.retries > 0 && errors.length > 0);
    assert.equal(st.lastError?.code, 'DELIVERY_FAILED');
    assert.equal(errors[0]!.details['reason'], 'network');
    assert.deepEqual(await c.flush({ timeoutMs: 200 }), { drained: false, pending: 500 });

    await s.start();
    const r = await c.flush({ timeoutMs: 20_000 });
    assert.deepEqual(r, { drained: true, pending: 0 });
    assert.equal(c.stats().delivered, 500);
    assert.equal(c.stats().rejected, 0);
    assert.equal(checkOnceInOrder(await readLog(s), ids), undefined);
    await c.close();
  });

  it('a permanent refusal (409: the id names other content) is set aside and reported; the events after it are delivered', async () => {
    const taken = '0190f000-0000-7000-8000-000000000409';
    const first = await fetch(`${s.url}/v1/logs/default/events`, {
      method: 'POST',
      headers: { authorization: `Bearer ${s.ingestKey}`, 'content-type': 'application/json' },
      body: JSON.stringify([{ ...event('orig'), id: taken, timestamp: '2026-01-01T00:00:00Z' }]),
    });
    assert.equal(first.status, 201);
    const dir = tempDir();
    const errors: EvidentError[] = [];
    const rejected: Record<string, unknown>[] = [];
    const c = await EvidentClient.open({
      url: s.url,
      apiKey: s.ingestKey,
      log: 'default',
      spoolDir: dir,
      lingerMs: 50,
      onError: (e) => errors.push(e),
      onRejected: (ev) => rejected.push(ev),
    });
    const before = await Promise.all(Array.from({ length: 5 }, () => c.record(event('pre'))));
    const clash = await c.record({ ...event('clash'), id: taken });
    const afterIt = await Promise.all(Array.from({ length: 5 }, () => c.record(event('post'))));
    assert.deepEqual(await c.flush({ timeoutMs: 10_000 }), { drained: true, pending: 0 });
    const st = c.stats();
    assert.equal(st.rejected, 1);
    assert.equal(st.delivered, 10);
    const rej = errors.filter((e) => e.code === 'DELIVERY_REJECTED');
    assert.equal(rej.length, 1);
    assert.equal(rej[0]!.details['id'], clash.id);
    assert.equal(rej[0]!.details['server_code'], 'ID_CONFLICT');
    assert.equal(rej[0]!.details['status'], 409);
    assert.equal(rejected[0]!['id'], taken);
    const file = readFileSync(join(dir, REJECTED_FILE), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    assert.equal(file.length, 1);
    assert.equal(file[0].event.id, taken);
    assert.equal(file[0].error.code, 'DELIVERY_REJECTED');
    const log = await readLog(s);
    const ids = [...before, ...afterIt].map((r) => r.id);
    assert.equal(checkOnceInOrder(log, ids), undefined);
    const orig = log.filter((e) => e.id === taken);
    assert.equal(orig.length, 1);
    assert.match(orig[0]!.resource_id, /^orig-/);
    await c.close();
    // the rejected file survives, the spool is empty
    const again = await EvidentClient.open({
      url: s.url,
      apiKey: s.ingestKey,
      log: 'default',
      spoolDir: dir,
    });
    assert.equal(again.stats().replayed, 0);
    await again.close();
  });

  it('the same id recorded twice with other content in one batch: the first lands, only the later is set aside', async () => {
    // Framed by hand, so that all three are replayed at open and go in one batch, which the
    // server refuses (409) for the pair.
    const dir = tempDir();
    const id = '0190f000-0000-7000-8000-00000000beef';
    const first: Record<string, unknown> = { ...event('twin-first'), id, timestamp: '2026-01-01T00:00:00Z' };
    const events = [
      first,
      { ...first, resource_id: 'twin-later' },
      { ...event('twin-after'), id: `${id.slice(0, -4)}bef0` },
    ];
    writeFileSync(
      join(dir, 'seg-0000000000000001.log'),
      Buffer.concat([SEGMENT_MAGIC, ...events.map((e) => encodeRecord(Buffer.from(JSON.stringify(e))))]),
    );
    const rejected: Record<string, unknown>[] = [];
    const c = await EvidentClient.open({
      url: s.url,
      apiKey: s.ingestKey,
      log: 'default',
      spoolDir: dir,
      onRejected: (ev) => rejected.push(ev),
    });
    assert.equal(c.stats().replayed, 3);
    assert.deepEqual(await c.flush({ timeoutMs: 10_000 }), { drained: true, pending: 0 });
    assert.equal(c.stats().rejected, 1);
    assert.equal(rejected[0]!['resource_id'], 'twin-later');
    assert.equal(checkOnceInOrder(await readLog(s), [id, String(events[2]!.id)]), undefined);
    const stored = (await readLog(s)).filter((e) => e.id === id);
    assert.equal(stored[0]!.resource_id, first['resource_id']);
    await c.close();
  });

  it('a 400 naming one event of a batch sets that event aside and delivers the rest, in order', async () => {
    // A spool written by an older client that let a bad event through: framed by hand.
    const dir = tempDir();
    const good = (i: number) => ({
      ...event('old'),
      id: `0190f000-0000-7000-8000-${String(i).padStart(12, '0')}`,
      timestamp: '2026-01-01T00:00:00Z',
    });
    const events = [good(1), good(2), { ...good(3), color: 'red' }, good(4)];
    writeFileSync(
      join(dir, 'seg-0000000000000001.log'),
      Buffer.concat([SEGMENT_MAGIC, ...events.map((e) => encodeRecord(Buffer.from(JSON.stringify(e))))]),
    );
    const errors: EvidentError[] = [];
    const c = await EvidentClient.open({
      url: s.url,
      apiKey: s.ingestKey,
      log: 'default',
      spoolDir: dir,
      onError: (e) => errors.push(e),
    });
    assert.equal(c.stats().replayed, 4);
    assert.deepEqual(await c.flush({ timeoutMs: 10_000 }), { drained: true, pending: 0 });
    const rej = errors.find((e) => e.code === 'DELIVERY_REJECTED')!;
    assert.equal(rej.details['server_code'], 'VALIDATION_FAILED');
    assert.equal((rej.details['issues'] as { field: string }[])[0]!.field, 'color');
    assert.equal(
      checkOnceInOrder(await readLog(s), [events[0]!.id, events[1]!.id, events[3]!.id]),
      undefined,
    );
    await c.close();
  });

  it("onFull 'block' with a small spool: record() waits for deliveries to make room, nothing is refused; delivered segments are deleted", async () => {
    const dir = tempDir();
    const c = await EvidentClient.open({
      url: s.url,
      apiKey: s.ingestKey,
      log: 'default',
      spoolDir: dir,
      segmentBytes: 4096,
      maxEvents: 20,
      onFull: 'block',
      blockTimeoutMs: 20_000,
      batchSize: 10,
    });
    const recs = await Promise.all(Array.from({ length: 300 }, () => c.record(event('block'))));
    assert.deepEqual(await c.flush({ timeoutMs: 20_000 }), { drained: true, pending: 0 });
    assert.equal(c.stats().refused, 0);
    assert.equal(
      checkOnceInOrder(
        await readLog(s),
        recs.map((r) => r.id),
      ),
      undefined,
    );
    await c.close();
    const left = readdirSync(dir).filter((f) => f.startsWith('seg-'));
    assert.ok(left.length <= 1, `segments left: ${left.join(' ')}`);
    const again = await EvidentClient.open({
      url: s.url,
      apiKey: s.ingestKey,
      log: 'default',
      spoolDir: dir,
    });
    assert.equal(again.stats().replayed, 0);
    await again.close();
  });

  it('the application killed with SIGKILL under load: after a restart on the same spool, every acknowledged id is in the log once', async (t) => {
    const dir = tempDir();
    const acked: string[] = [];
    const child = spawn(process.execPath, ['--import', 'tsx', RECORDER, s.url, s.ingestKey, dir, 'load'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let partial = '';
    let err = '';
    child.stderr.on('data', (d) => {
      err += d;
    });
    const enough = new Promise<void>((resolve) => {
      child.stdout.setEncoding('utf8');
      child.stdout.on('data', (d: string) => {
        const lines = (partial + d).split('\n');
        partial = lines.pop()!;
        for (const l of lines) if (l !== 'ready') acked.push(l);
        if (acked.length >= 3000) resolve();
      });
    });
    const exited = new Promise<NodeJS.Signals | null>((r) => child.on('exit', (_c, sig) => r(sig)));
    await Promise.race([enough, exited.then(() => assert.fail(`recorder exited early: ${err}`))]);
    child.kill('SIGKILL');
    assert.equal(await exited, 'SIGKILL');
    // lines after the last newline were cut by the kill: not acknowledged as far as we know
    assert.ok(acked.length >= 3000);

    const drain = spawn(process.execPath, ['--import', 'tsx', RECORDER, s.url, s.ingestKey, dir, 'drain'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    drain.stdout.on('data', (d) => {
      out += d;
    });
    drain.stderr.on('data', (d) => {
      err += d;
    });
    const code = await new Promise<number | null>((r) => drain.on('exit', (c) => r(c)));
    assert.equal(code, 0, err);
    const result = JSON.parse(out.trim()) as {
      drained: boolean;
      stats: { replayed: number; delivered: number; duplicates: number; tornBytes: number };
    };
    assert.equal(result.drained, true);
    t.diagnostic(
      `acknowledged before the kill: ${acked.length}; replayed at restart: ${result.stats.replayed}, ` +
        `delivered then: ${result.stats.delivered} (duplicates ${result.stats.duplicates}), torn bytes cut: ${result.stats.tornBytes}`,
    );

    const log = await readLog(s);
    const count = new Map<string, number>();
    for (const e of log) count.set(e.id, (count.get(e.id) ?? 0) + 1);
    const missing = acked.filter((id) => count.get(id) !== 1);
    assert.deepEqual(
      missing,
      [],
      `${missing.length} of ${acked.length} acknowledged ids missing or repeated`,
    );
    assert.ok(
      [...count.values()].every((n) => n === 1),
      'no id twice in the log',
    );
  });
});

describe('delivery to a server with a small body limit', () => {
  let s: Server;
  before(async () => {
    s = await prepareServer(['--max-body-bytes', '4096']);
    await s.start();
  });
  after(async () => {
    await s.stop();
  });

  it('a 413 for a batch sends its events one by one; an event too large even alone is set aside (413), the rest delivered in order', async () => {
    const errors: EvidentError[] = [];
    const c = await EvidentClient.open({
      url: s.url,
      apiKey: s.ingestKey,
      log: 'default',
      spoolDir: tempDir(),
      batchSize: 100,
      lingerMs: 100,
      onError: (e) => errors.push(e),
    });
    const small = async (n: number) => Promise.all(Array.from({ length: n }, () => c.record(event('small'))));
    const a = await small(30);
    const big = await c.record({ ...event('big'), metadata: { pad: 'x'.repeat(6000) } });
    const b = await small(5);
    assert.deepEqual(await c.flush({ timeoutMs: 20_000 }), { drained: true, pending: 0 });
    const rej = errors.filter((e) => e.code === 'DELIVERY_REJECTED');
    assert.equal(rej.length, 1);
    assert.equal(rej[0]!.details['id'], big.id);
    assert.equal(rej[0]!.details['server_code'], 'PAYLOAD_TOO_LARGE');
    assert.equal(rej[0]!.details['status'], 413);
    assert.equal(c.stats().delivered, 35);
    assert.equal(
      checkOnceInOrder(
        await readLog(s),
        [...a, ...b].map((r) => r.id),
      ),
      undefined,
    );
    await c.close();
  });
});
