/**
 * Pipelined commits on SQLite (WriteOptions.pipeline): the next write may begin once a commit
 * is written, but `write` resolves only after the WAL's fsync; a transaction without the option
 * (one that signs a checkpoint) commits synchronously; the ledger pipelines a batch only when
 * another waits behind it (a lone append commits inline); a failed fsync fails that write and
 * every write after it (fail closed), and the ledger's appends reject with STORE_FAILED.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { ErrorCode } from '../../src/core/errors.ts';
import { openSqliteStore, type SqliteStore } from '../../src/store/sqlite/store.ts';
import { event, makeFixture, rejectsWith } from '../ledger/support.ts';

const dir = mkdtempSync(join(tmpdir(), 'evident-pipeline-'));
after(() => rmSync(dir, { recursive: true, force: true }));

async function store(name: string): Promise<{ store: SqliteStore; logId: number }> {
  const st = await openSqliteStore(join(dir, name));
  const log = await st.createLog({ name: 'default', origin: 'x.test/default', vkey: 'v', erasable: [] });
  return { store: st, logId: log.id };
}

const synchronous = (st: SqliteStore) => st.database.pragma('synchronous', { simple: true });

describe('pipelined SQLite commits', () => {
  test('committed() comes before write resolves; the next write runs meanwhile; the safety level is restored', async () => {
    const { store: st, logId } = await store('order.db');
    const order: string[] = [];
    let levelInside: unknown;
    const first = st
      .write(
        logId,
        async () => {
          levelInside = synchronous(st);
        },
        { pipeline: { committed: () => order.push('committed 1') } },
      )
      .then(() => order.push('durable 1'));
    const second = st.write(logId, async () => {
      order.push('second runs');
    });
    await Promise.all([first, second]);
    assert.equal(levelInside, 1, 'NORMAL inside a pipelined transaction');
    assert.equal(synchronous(st), 2, 'FULL again after it');
    assert.equal(order[0], 'committed 1');
    assert.ok(order.includes('durable 1') && order.includes('second runs'));
    await st.close();
  });

  test('a failed fsync of the WAL fails that write and every later one with STORE_FAILED', async () => {
    const { store: st, logId } = await store('fail.db');
    // A descriptor that is not open: fdatasync fails with EBADF.
    (st as unknown as { walFd: number }).walFd = 1_000_000;
    await rejectsWith(
      st.write(logId, async () => undefined, { pipeline: { committed: () => undefined } }),
      ErrorCode.STORE_FAILED,
    );
    await rejectsWith(
      st.write(logId, async () => undefined),
      ErrorCode.STORE_FAILED,
    );
    (st as unknown as { walFd: number | undefined }).walFd = undefined;
    await st.close();
  });

  test('through the ledger: a batch with nothing behind it commits inline, batches that others wait behind are pipelined', async () => {
    const fx = await makeFixture('evident-pipeline-inline-');
    try {
      const l = await fx.open({ checkpointIntervalMs: 3_600_000 });
      const st = l.store as SqliteStore;
      const write = st.write.bind(st);
      const appendAt = st.appendAt.bind(st);
      const pipelined: boolean[] = [];
      st.write = ((logId, fn, options) => {
        pipelined.push(options?.pipeline !== undefined);
        return write(logId, fn, options);
      }) as SqliteStore['write'];
      st.appendAt = ((logId, expected, append, options) => {
        pipelined.push(options?.pipeline !== undefined);
        return appendAt(logId, expected, append, options);
      }) as SqliteStore['appendAt'];
      // One caller: each append is all there is to do, and commits with synchronous=FULL.
      for (let i = 0; i < 20; i++) await l.append(event(i));
      assert.equal(pipelined.length, 20);
      assert.ok(
        pipelined.every((p) => !p),
        'a lone append is committed inline',
      );
      assert.equal(synchronous(st), 2, 'FULL');
      assert.equal(st.appendsInThread, 0, 'no lone append went to the append thread');
      // Many callers: the batches that others wait behind overlap their commits.
      pipelined.length = 0;
      await Promise.all(Array.from({ length: 200 }, (_, i) => l.append(event(100 + i))));
      assert.ok(
        pipelined.some((p) => p),
        `some batch is pipelined: ${pipelined.join(',')}`,
      );
      assert.ok(st.appendsInThread > 0, 'the append thread wrote them');
      assert.ok((await l.verify()).ok);
      await l.close();
    } finally {
      fx.cleanup();
    }
  });

  test('through the ledger: appends pipeline, the log verifies, and a failed fsync refuses appends', async () => {
    const fx = await makeFixture('evident-pipeline-ledger-');
    try {
      const l = await fx.open({ checkpointIntervalMs: 3_600_000 });
      // The general path's own pipelining (Store.write), without the sealed-batch append.
      (l.store as { appendAt?: unknown }).appendAt = undefined;
      const receipts = await Promise.all(Array.from({ length: 300 }, (_, i) => l.append(event(i))));
      assert.deepEqual(
        receipts.map((r) => r.index).sort((a, b) => a - b),
        Array.from({ length: 300 }, (_, i) => i),
      );
      const report = await l.verify();
      assert.ok(report.ok);
      (l.store as unknown as { walFd: number }).walFd = 1_000_000;
      // Two at once: the first is pipelined (the second waits behind it), its fsync fails, and
      // so does every write after it, the second and a lone one alike.
      const both = [l.append(event(1000)), l.append(event(1001))];
      await rejectsWith(both[0]!, ErrorCode.STORE_FAILED);
      await rejectsWith(both[1]!, ErrorCode.STORE_FAILED);
      await rejectsWith(l.append(event(1002)), ErrorCode.STORE_FAILED);
      (l.store as unknown as { walFd: number | undefined }).walFd = undefined;
      await l.close().catch(() => undefined);
    } finally {
      fx.cleanup();
    }
  });
});
