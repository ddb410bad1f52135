/**
 * The archive as a published floor (src/ledger/published.ts, source `archive`): a directory
 * target holds the checkpoint of size N; the database is replaced by an older copy; `evident
 * serve` (in process, real SQLite, real directory) then fences the log: appends and signatures
 * are refused with LOG_FENCED naming the archive, /readyz lists it, a metric counts it, and no
 * checkpoint contradicting N is ever stored. The same with a copy grown past N with other events.
 */
import assert from 'node:assert/strict';
import { copyFileSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { pathToFileURL } from 'node:url';
import { addTarget } from '../../src/archive/config.ts';
import { checkpointName } from '../../src/archive/layout.ts';
import { loadKeyRing } from '../../src/ledger/keyfile.ts';
import { createApiKey } from '../../src/server/api-keys.ts';
import { buildServer } from '../../src/server/app.ts';
import { openStore } from '../../src/store/open.ts';
import { event, type Fixture, makeFixture } from '../ledger/support.ts';
import { waitFor } from './wait.ts';

function restore(from: string, to: string): void {
  for (const s of ['', '-wal', '-shm']) rmSync(to + s, { force: true });
  copyFileSync(from, to);
}

describe('published floors: an archive target (evident serve)', () => {
  const dirs: string[] = [];
  after(() => {
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  let f: Fixture;
  let old: string;
  let newer: string;
  let n: number;
  /** The size of the older copy (its latest checkpoint too). */
  let m: number;
  let apiKey: string;

  const serve = async (checkpointIntervalMs = 50, archiveCheckpointIntervalMs = 50) => {
    const store = await openStore(f.db);
    const app = await buildServer({
      store,
      keyRing: await loadKeyRing(f.keyPath),
      originHost: 'test.example',
      archiveIntervalMs: 0,
      archiveCheckpointIntervalMs,
      checkpointIntervalMs,
    });
    await app.ready();
    return app;
  };
  const fencedOf = async (app: Awaited<ReturnType<typeof serve>>) =>
    (await app.inject({ url: '/readyz' })).json().fenced as Record<string, unknown>[] | undefined;

  it('a target holding checkpoint N fences a database restored to an older copy', async () => {
    f = await makeFixture('evident-archive-floor-');
    dirs.push(f.dir);
    const target = mkdtempSync(join(tmpdir(), 'evident-floor-target-'));
    dirs.push(target);
    let l = await f.open();
    await addTarget(l.store, l.log, pathToFileURL(target).href, { now: () => new Date() });
    await l.appendMany(Array.from({ length: 3 }, (_, i) => event(i)));
    await l.checkpoint();
    const store0 = l.store as Parameters<typeof createApiKey>[0];
    apiKey = (await createApiKey(store0, { logs: ['default'], scopes: ['ingest', 'verify'] })).key;
    await l.close();
    const s0 = await openStore(f.db, { readonly: true });
    m = (await s0.head((await s0.getLog('default'))!.id)).size;
    await s0.close();
    old = join(f.dir, 'old.db');
    copyFileSync(f.db, old);
    l = await f.open();
    await l.appendMany(Array.from({ length: 4 }, (_, i) => event(i + 3)));
    n = (await l.checkpoint()).size;
    await l.close();
    newer = join(f.dir, 'newer.db');
    copyFileSync(f.db, newer);

    let app = await serve();
    try {
      await waitFor(async () => existsSync(join(target, checkpointName('default', n))));
      assert.equal(await fencedOf(app), undefined);
    } finally {
      await app.close();
    }

    restore(old, f.db);
    app = await serve();
    try {
      await waitFor(async () => (await fencedOf(app)) !== undefined);
      const [fence] = (await fencedOf(app))!;
      assert.equal(fence!['log'], 'default');
      assert.equal(fence!['source'], 'archive');
      assert.equal(fence!['rule'], 'published_larger');
      assert.equal(fence!['published_size'], n);
      assert.equal(fence!['tree_size'], m);
      const r = await app.inject({
        method: 'POST',
        url: '/v1/logs/default/events',
        headers: { authorization: `Bearer ${apiKey}` },
        payload: [event(100, { resource_id: 'fork' })],
      });
      assert.equal(r.statusCode, 503);
      assert.equal(r.json().code, 'LOG_FENCED');
      const cp = await app.inject({
        url: '/v1/logs/default/checkpoint',
        headers: { authorization: `Bearer ${apiKey}` },
      });
      assert.equal(cp.statusCode, 200, 'the older checkpoint (a prefix of N) is still served');
      assert.match(
        (await app.inject({ url: '/metrics' })).body,
        /evident_logs_fenced_total\{[^}]*source="archive"[^}]*\} 1/,
      );
    } finally {
      await app.close();
    }
    const store = await openStore(f.db, { readonly: true });
    try {
      const log = (await store.getLog('default'))!;
      assert.equal((await store.head(log.id)).size, m, 'nothing was appended');
      assert.equal((await store.latestCheckpoint(log.id))?.size, m);
    } finally {
      await store.close();
    }
  });

  it('a copy grown past N with other events is refused too: no checkpoint at or beyond N is signed', async () => {
    restore(old, f.db);
    const grower = await f.open({ checkpointIntervalMs: Number.MAX_SAFE_INTEGER });
    await grower.appendMany(Array.from({ length: 6 }, (_, i) => event(i + 50, { resource_id: `fork-${i}` })));
    await grower.flush();
    await grower.store.close(); // not close(): that would sign
    // No archive tick within the test: the request below opens the log, and only the floor read
    // as it opens stands between the signer (every 50 ms, and inside appends) and the forked tree.
    const app = await serve(50, 3_600_000);
    try {
      const r = await app.inject({
        method: 'POST',
        url: '/v1/logs/default/events',
        headers: { authorization: `Bearer ${apiKey}` },
        payload: [event(101, { resource_id: 'fork-next' })],
      });
      assert.equal(r.statusCode, 503, r.body);
      assert.equal(r.json().code, 'LOG_FENCED');
      const [fence] = (await fencedOf(app))!;
      assert.equal(fence!['source'], 'archive');
      assert.equal(fence!['rule'], 'not_consistent');
      assert.equal(fence!['published_size'], n);
      assert.equal(fence!['tree_size'], m + 6);
      // The background signer skips a fenced log; give it several ticks.
      await new Promise((r) => setTimeout(r, 300));
    } finally {
      await app.close();
    }
    const store = await openStore(f.db, { readonly: true });
    try {
      const log = (await store.getLog('default'))!;
      assert.equal((await store.latestCheckpoint(log.id))?.size, m, 'no checkpoint of the forked tree');
    } finally {
      await store.close();
    }
  });

  it('signs again once the database that holds N is put back', async () => {
    restore(newer, f.db);
    const app = await serve();
    try {
      const r = await app.inject({
        method: 'POST',
        url: '/v1/logs/default/events',
        headers: { authorization: `Bearer ${apiKey}` },
        payload: [event(200)],
      });
      assert.equal(r.statusCode, 201, r.body);
      await waitFor(async () => {
        const cp = await app.inject({
          url: '/v1/logs/default/checkpoint',
          headers: { authorization: `Bearer ${apiKey}` },
        });
        return cp.statusCode === 200 && cp.body.split('\n')[1] === String(n + 1);
      });
      assert.equal(await fencedOf(app), undefined);
    } finally {
      await app.close();
    }
  });
});
