/**
 * WAL checkpoints in a worker thread (src/store/sqlite/checkpointer.ts): under a load of
 * pipelined commits the worker copies the WAL back and restarts it (the WAL stays bounded while
 * the writer's own threshold is far off), the log verifies, and closing the store closes the
 * worker's connection too (the last connection removes the WAL). A worker that cannot
 * checkpoint hands the job back to the writer.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import {
  BACKSTOP_CHECKPOINT_PAGES,
  INLINE_CHECKPOINT_PAGES,
  RESTART_FRAMES,
  WalCheckpointer,
} from '../../src/store/sqlite/checkpointer.ts';
import { openSqliteStore, type SqliteStore } from '../../src/store/sqlite/store.ts';
import { event, makeFixture } from '../ledger/support.ts';
import { eventually } from '../server/raw-connection.ts';

const dir = mkdtempSync(join(tmpdir(), 'evident-checkpointer-'));
after(() => rmSync(dir, { recursive: true, force: true }));

describe('WAL checkpoints in a worker thread', () => {
  test('under load the worker checkpoints and restarts the WAL; close ends it and the WAL is removed', async () => {
    const fx = await makeFixture('evident-checkpointer-load-');
    const l = await fx.open({ checkpointIntervalMs: 3_600_000 });
    try {
      const st = l.store as SqliteStore;
      const autocheckpoint = () => st.database.pragma('wal_autocheckpoint', { simple: true });
      const background = () => st.walCheckpoints;
      assert.equal(background(), undefined, 'no worker before a pipelined commit');
      assert.equal(autocheckpoint(), INLINE_CHECKPOINT_PAGES);
      // Enough for the WAL to pass RESTART_FRAMES several times over (each event writes about
      // one page: its row, its index entries, its tree nodes).
      // Appends that never pause (64 callers, one event each): a PASSIVE checkpoint alone
      // would never find the WAL all copied when a write begins, and it would only grow.
      const total = 40_000;
      let next = 0;
      let largestWal = 0;
      await Promise.all(
        Array.from({ length: 64 }, async () => {
          while (next < total) {
            await l.append(event(next++));
            if (next % 64 === 0) largestWal = Math.max(largestWal, statSync(`${fx.db}-wal`).size);
          }
        }),
      );
      const stats = background();
      assert.ok(stats, 'the pipelined commits started the worker');
      assert.ok(stats.failed === undefined, `the worker failed: ${stats.failed}`);
      assert.ok(stats.runs > 1, `${stats.runs} background checkpoints`);
      assert.equal(
        autocheckpoint(),
        BACKSTOP_CHECKPOINT_PAGES,
        'the writer no longer checkpoints at 1000 pages',
      );
      // Bounded by the restarts: without them the WAL would hold every page written (well over
      // RESTART_FRAMES * 3 pages for this load), as the writer's own checkpoint is far off.
      const page = 4096;
      assert.ok(
        largestWal < RESTART_FRAMES * page * 3,
        `the WAL peaked at ${largestWal} bytes, restarted near ${RESTART_FRAMES * page}`,
      );
      assert.equal(await l.size(), next);
      assert.equal((await l.verify()).ok, true);
      await l.close();
      assert.equal(existsSync(`${fx.db}-wal`), false, 'the last connection closed removes the WAL');
    } finally {
      await l.close();
      fx.cleanup();
    }
  });

  test('a store opened by a relative path keeps checkpointing after the working directory changes', async () => {
    const home = process.cwd();
    process.chdir(dir);
    const st = await openSqliteStore('relative.db');
    process.chdir(tmpdir());
    try {
      const log = await st.createLog({ name: 'default', origin: 'x.test/default', vkey: 'v', erasable: [] });
      await st.write(log.id, async () => undefined, { pipeline: { committed: () => undefined } });
      assert.ok(await eventually(() => (st.walCheckpoints?.runs ?? 0) > 0), 'a background checkpoint ran');
      assert.equal(st.walCheckpoints?.failed, undefined);
    } finally {
      await st.close();
      process.chdir(home);
    }
  });

  test('a worker that cannot open the database fails once and gives checkpoints back to the writer', async () => {
    const set: number[] = [];
    const c = new WalCheckpointer(join(dir, 'missing.db'), (pages) => set.push(pages));
    c.nudge();
    assert.ok(await eventually(() => c.stats.failed !== undefined), 'the worker reports its failure');
    assert.match(c.stats.failed!, /unable to open|does not exist|no such file/i);
    assert.deepEqual(set, [BACKSTOP_CHECKPOINT_PAGES, INLINE_CHECKPOINT_PAGES]);
    assert.equal(c.stats.runs, 0);
    c.nudge(); // no new worker, no new attempt
    assert.deepEqual(set, [BACKSTOP_CHECKPOINT_PAGES, INLINE_CHECKPOINT_PAGES]);
    await c.close();
  });
});
