/**
 * The scheduled archive pass in the server: it runs when the server is ready, a failing target
 * shows in /readyz (200, with why) and in /metrics, nothing is pruned meanwhile, and the next
 * pass after the target is back resumes.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { pathToFileURL } from 'node:url';
import { addTarget } from '../../src/archive/config.ts';
import { buildPolicy, setPolicy } from '../../src/archive/retention.ts';
import { loadKeyRing } from '../../src/ledger/keyfile.ts';
import { buildServer } from '../../src/server/app.ts';
import { openStore } from '../../src/store/open.ts';
import { event, makeFixture } from '../ledger/support.ts';
import { waitFor } from './wait.ts';

describe('scheduled archive pass (evident serve)', () => {
  const dirs: string[] = [];
  after(() => {
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  it('a failing target shows in /readyz and /metrics, prunes nothing, and the pass resumes', async () => {
    const f = await makeFixture('evident-archive-serve-');
    dirs.push(f.dir);
    const target = mkdtempSync(join(tmpdir(), 'evident-serve-target-'));
    dirs.push(target);
    const l = await f.open();
    await l.appendMany(Array.from({ length: 9 }, (_, i) => event(i)));
    await setPolicy(
      l.store,
      l.log,
      buildPolicy({ preset: 'custom', online: '0d', archive: '1y', segment: '4' }),
      {
        now: () => new Date(),
        force: true,
        reason: 'test',
      },
    );
    await addTarget(l.store, l.log, pathToFileURL(target).href, { now: () => new Date() });
    await l.close();
    // the target is away: its directory is a file
    rmSync(target, { recursive: true });
    writeFileSync(target, 'not a directory');

    const store = await openStore(f.db);
    const app = await buildServer({
      store,
      keyRing: await loadKeyRing(f.keyPath),
      originHost: 'test.example',
      archiveIntervalMs: 3_600_000,
    });
    try {
      await app.ready();
      await waitFor(async () => (await app.inject({ url: '/readyz' })).json().archive !== undefined);
      const ready = await app.inject({ url: '/readyz' });
      assert.equal(ready.statusCode, 200);
      const why = ready.json().archive[0];
      assert.equal(why.log, 'default');
      assert.equal(why.code, 'ARCHIVE_UNAVAILABLE');
      const metrics = (await app.inject({ url: '/metrics' })).body;
      assert.match(metrics, /evident_archive_passes_total\{outcome="ARCHIVE_UNAVAILABLE"\} 1/);
      const log = (await store.getLog('default'))!;
      assert.deepEqual(await store.prunedRanges(log.id), []);

      // back: the next pass (run now, as the retry would) seals and prunes
      rmSync(target);
      mkdirSync(target);
      await app.runArchivePass();
      const ok = await app.inject({ url: '/readyz' });
      assert.equal(ok.json().archive, undefined);
      assert.ok((await store.prunedRanges(log.id)).length >= 2);
      assert.match(
        (await app.inject({ url: '/metrics' })).body,
        /evident_archive_passes_total\{outcome="ok"\} 1/,
      );
    } finally {
      await app.close();
    }
  });
});
