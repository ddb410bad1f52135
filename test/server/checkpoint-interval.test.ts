/**
 * The server's checkpoint interval governs every checkpoint signed while appending: the
 * background timer's and those each ledger signs inside its append commits. 0 signs only on
 * demand (a request with a key that needs one) and at close.
 */
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import type { ServerOptions } from '../../src/server/options.ts';
import { openStore } from '../../src/store/open.ts';
import type { StoredCheckpoint } from '../../src/store/types.ts';
import { event, type Fixture, setup } from './helpers.ts';

const URL = '/v1/logs/default/events';
/** Appends keep coming for this long: longer than the ledger's own default interval (1 s). */
const SPAN_MS = 2500;

async function checkpoints(f: Fixture): Promise<StoredCheckpoint[]> {
  const info = await f.store.getLog('default');
  return f.store.checkpoints(info!.id);
}

async function size(f: Fixture): Promise<number> {
  const info = await f.store.getLog('default');
  return (await f.store.head(info!.id)).size;
}

async function post(f: Fixture, n: number): Promise<void> {
  const r = await f.app.inject({
    method: 'POST',
    url: URL,
    headers: f.auth(f.keys.ingest),
    payload: Array.from({ length: n }, () => event()),
  });
  assert.equal(r.statusCode, 201, r.body);
}

/**
 * Posts a first batch, then a batch every 50 ms for SPAN_MS. Returns the checkpoints stored
 * after the first batch and after the last one, and the log's size at the end (the setup's
 * key creations are in the log too).
 */
async function appendFor(f: Fixture) {
  await post(f, 5);
  const afterFirst = await checkpoints(f);
  const start = Date.now();
  while (Date.now() - start < SPAN_MS) {
    await sleep(50);
    await post(f, 5);
  }
  return { afterFirst, afterLast: await checkpoints(f), size: await size(f) };
}

/** Closes the server (which signs a last checkpoint) and reads the checkpoints it left. */
async function closeAndRead(f: Fixture): Promise<StoredCheckpoint[]> {
  await f.app.close();
  const store = await openStore(join(f.dir, 'audit.db'));
  try {
    const info = await store.getLog('default');
    return await store.checkpoints(info!.id);
  } finally {
    await store.close();
    rmSync(f.dir, { recursive: true, force: true });
  }
}

async function withServer<T>(o: Partial<ServerOptions>, fn: (f: Fixture) => Promise<T>): Promise<T> {
  const f = await setup(o);
  try {
    return await fn(f);
  } catch (e) {
    await f.close().catch(() => {});
    throw e;
  }
}

describe('checkpointIntervalMs reaches the ledgers', () => {
  it('a long interval: appends over several seconds sign no checkpoint after the first; close signs the last', async () => {
    await withServer({ checkpointIntervalMs: 3_600_000 }, async (f) => {
      const { afterFirst, afterLast, size } = await appendFor(f);
      // A ledger's first commit signs (nothing was signed yet); none after it, for an hour.
      assert.equal(afterFirst.length, 1);
      assert.deepEqual(
        afterLast.map((c) => c.size),
        afterFirst.map((c) => c.size),
        'no checkpoint signed while appending',
      );
      const last = await closeAndRead(f);
      assert.equal(last.length, afterLast.length + 1);
      assert.equal(last.at(-1)!.size, size, 'the last checkpoint covers every entry');
    });
  });

  it('a short interval: checkpoints are signed while the appends go on', async () => {
    await withServer({ checkpointIntervalMs: 200 }, async (f) => {
      const { afterFirst, afterLast, size } = await appendFor(f);
      const between = afterLast.filter((c) => c.size > afterFirst.at(-1)!.size);
      assert.ok(between.length >= 2, `${between.length} checkpoints signed while appending`);
      const last = await closeAndRead(f);
      assert.equal(last.at(-1)!.size, size);
    });
  });

  it('0: no checkpoint while appending, one on demand for a key, and the last at close', async () => {
    await withServer({ checkpointIntervalMs: 0 }, async (f) => {
      const { afterLast, size } = await appendFor(f);
      assert.deepEqual(afterLast, [], 'nothing signed while appending');
      // An anonymous fetch never makes the server sign; a key's does.
      const cp = await f.app.inject({
        method: 'GET',
        url: '/v1/logs/default/checkpoint',
        headers: f.auth(f.keys.verify),
      });
      assert.equal(cp.statusCode, 200, cp.body);
      assert.deepEqual(
        (await checkpoints(f)).map((c) => c.size),
        [size],
      );
      await post(f, 3);
      const last = await closeAndRead(f);
      assert.deepEqual(
        last.map((c) => c.size),
        [size, size + 3],
      );
    });
  });

  it("a ledger's own interval, if given, wins for the checkpoints signed inside appends", async () => {
    await withServer({ checkpointIntervalMs: 0, ledger: { checkpointIntervalMs: 200 } }, async (f) => {
      const { afterLast } = await appendFor(f);
      assert.ok(afterLast.length >= 2, `${afterLast.length} checkpoints signed inside appends`);
      await closeAndRead(f);
    });
  });
});
