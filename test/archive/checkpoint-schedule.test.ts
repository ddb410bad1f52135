/**
 * Checkpoints between archive passes (docs/retention.md): `evident serve` puts each log's latest
 * signed checkpoint to its targets on a short schedule, without any pass, and the same tick
 * catches a database rolled back to an older copy (TAMPER_DETECTED in /readyz and /metrics).
 */
import assert from 'node:assert/strict';
import { copyFileSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { pathToFileURL } from 'node:url';
import { addTarget } from '../../src/archive/config.ts';
import { checkpointName } from '../../src/archive/layout.ts';
import { loadKeyRing } from '../../src/ledger/keyfile.ts';
import { buildServer } from '../../src/server/app.ts';
import { openStore } from '../../src/store/open.ts';
import { event, makeFixture } from '../ledger/support.ts';
import { waitFor } from './wait.ts';

describe('archive checkpoints between passes (evident serve)', () => {
  const dirs: string[] = [];
  after(() => {
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  it('puts the latest checkpoint to the target without a pass, and catches a rollback', async () => {
    const f = await makeFixture('evident-archive-cp-');
    dirs.push(f.dir);
    const target = mkdtempSync(join(tmpdir(), 'evident-cp-target-'));
    dirs.push(target);
    let l = await f.open();
    await addTarget(l.store, l.log, pathToFileURL(target).href, { now: () => new Date() });
    await l.appendMany(Array.from({ length: 3 }, (_, i) => event(i)));
    await l.checkpoint();
    await l.close();
    const old = join(f.dir, 'old.db');
    copyFileSync(f.db, old);

    l = await f.open();
    await l.appendMany(Array.from({ length: 4 }, (_, i) => event(i + 3)));
    const latest = await l.checkpoint();
    const name = checkpointName('default', latest.size);
    const note = name.split('/').pop()!;
    await l.close();

    const cpDir = join(target, 'default', 'checkpoints');
    const serve = async () => {
      const store = await openStore(f.db);
      const app = await buildServer({
        store,
        keyRing: await loadKeyRing(f.keyPath),
        originHost: 'test.example',
        archiveIntervalMs: 0, // no archive pass at all
        archiveCheckpointIntervalMs: 50,
      });
      await app.ready();
      return app;
    };

    let app = await serve();
    try {
      await waitFor(async () => existsSync(join(target, name)));
      assert.equal(readFileSync(join(target, name), 'utf8'), latest.note);
      // only the latest checkpoint, and nothing a pass would write (no segment, no older checkpoint)
      assert.deepEqual(readdirSync(cpDir), [note]);
      assert.deepEqual(readdirSync(join(target, 'default')), ['checkpoints']);
      assert.equal((await app.inject({ url: '/readyz' })).json().archive, undefined);
    } finally {
      await app.close();
    }

    // the database rolled back to the copy of size 3
    for (const s of ['', '-wal', '-shm']) rmSync(f.db + s, { force: true });
    copyFileSync(old, f.db);
    app = await serve();
    try {
      await waitFor(async () => (await app.inject({ url: '/readyz' })).json().archive !== undefined);
      const why = (await app.inject({ url: '/readyz' })).json().archive[0];
      assert.equal(why.log, 'default');
      assert.equal(why.code, 'TAMPER_DETECTED');
      assert.match(
        (await app.inject({ url: '/metrics' })).body,
        /evident_archive_passes_total\{outcome="TAMPER_DETECTED"\} [1-9]/,
      );
      // the rolled-back store's checkpoint was not written over the archive's evidence
      assert.deepEqual(readdirSync(cpDir), [note]);
    } finally {
      await app.close();
    }
  });
});
