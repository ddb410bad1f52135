/**
 * archive verify on a directory target alone (no database): an intact archive, then each kind
 * of damage (edited, deleted, renamed, added objects) named with its kind; restore into a new
 * store whose verify passes with the archived root; a rolled-back primary store caught from the
 * archive's checkpoints.
 */
import assert from 'node:assert/strict';
import {
  chmodSync,
  copyFileSync,
  cpSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { pathToFileURL } from 'node:url';
import { openDirectoryTarget } from '../../src/archive/directory.ts';
import { bundleName, checkpointName, manifestName } from '../../src/archive/layout.ts';
import { archivePass } from '../../src/archive/pass.ts';
import { restoreFromArchive } from '../../src/archive/restore.ts';
import { buildPolicy, setPolicy } from '../../src/archive/retention.ts';
import { verifyArchive } from '../../src/archive/verify.ts';
import { toBase64 } from '../../src/core/bytes.ts';
import { ErrorCode, isEvidentError } from '../../src/core/errors.ts';
import { verifyStoredLog } from '../../src/ledger/verify.ts';
import { openStore } from '../../src/store/open.ts';
import { event, type Fixture, makeFixture } from '../ledger/support.ts';

describe('archive verify and restore (directory target, SQLite)', () => {
  let f: Fixture;
  let work: string;
  let good: string;
  before(async () => {
    f = await makeFixture('evident-archive-verify-');
    work = mkdtempSync(join(tmpdir(), 'evident-archive-copies-'));
    good = join(work, 'good');
    const l = await f.open();
    await l.appendMany(Array.from({ length: 24 }, (_, i) => event(i)));
    await setPolicy(
      l.store,
      l.log,
      buildPolicy({ preset: 'custom', online: '1y', archive: '1y', segment: '8' }),
      {
        now: () => new Date(),
        force: true,
        reason: 'test',
      },
    );
    await l.appendMany(Array.from({ length: 6 }, (_, i) => event(100 + i)));
    const t = await openDirectoryTarget(pathToFileURL(good).href);
    await archivePass({ ledger: l, targets: [t], sealOpen: true });
    await l.close();
  });
  after(() => {
    f.cleanup();
    rmSync(work, { recursive: true, force: true });
  });

  /** A writable copy of the good archive. */
  function copy(name: string): string {
    const d = join(work, name);
    cpSync(good, d, { recursive: true });
    const chmodAll = (p: string) => {
      for (const e of readdirSync(p, { withFileTypes: true })) {
        const q = join(p, e.name);
        if (e.isDirectory()) chmodAll(q);
        else chmodSync(q, 0o644);
      }
    };
    chmodAll(d);
    return d;
  }
  const check = async (d: string) =>
    verifyArchive(await openDirectoryTarget(pathToFileURL(d).href), { verifiers: f.verifiers });

  it('an intact archive verifies: every segment, contiguous, every checkpoint consistent', async () => {
    const r = await check(good);
    assert.equal(r.ok, true, JSON.stringify(r.faults));
    assert.equal(r.logs[0]!.segments, 4); // 0..7, 8..15, 16..23, 24..30 (sealed open)
    assert.equal(r.logs[0]!.entries, 31);
    assert.ok(r.logs[0]!.checkpoints_checked >= 1);
  });

  it('an edited bundle is altered', async () => {
    const d = copy('edited');
    const p = join(d, bundleName('default', 8, 15));
    writeFileSync(p, readFileSync(p, 'utf8').replace('"p-9"', '"p-X"'));
    const r = await check(d);
    assert.equal(r.ok, false);
    assert.deepEqual(
      r.faults.map((x) => [x.kind, x.object]),
      [['altered', 'default/segments/0000000000000008-0000000000000015.bundle']],
    );
  });

  it('a deleted manifest, and a deleted segment, are missing', async () => {
    const d = copy('deleted');
    unlinkSync(join(d, manifestName('default', 8, 15)));
    const r = await check(d);
    assert.ok(r.faults.some((x) => x.kind === 'missing' && x.object === manifestName('default', 8, 15)));
    unlinkSync(join(d, bundleName('default', 8, 15)));
    const r2 = await check(d);
    assert.ok(
      r2.faults.some((x) => x.kind === 'missing' && x.object.includes('0000000000000008-0000000000000015')),
    );
    assert.equal(r2.ok, false);
  });

  it('two bundles swapped by renaming are out of order', async () => {
    const d = copy('renamed');
    const a = join(d, bundleName('default', 0, 7));
    const b = join(d, bundleName('default', 8, 15));
    renameSync(a, `${a}.x`);
    renameSync(b, a);
    renameSync(`${a}.x`, b);
    const r = await check(d);
    const kinds = r.faults.map((x) => x.kind);
    assert.deepEqual(kinds, ['out_of_order', 'out_of_order']);
  });

  it('an added object is extra, a forged checkpoint altered', async () => {
    const d = copy('added');
    writeFileSync(join(d, 'default', 'segments', 'notes.txt'), 'hello');
    const cp = readFileSync(join(d, checkpointName('default', 31)), 'utf8');
    writeFileSync(join(d, checkpointName('default', 40)), cp.replace('\n31\n', '\n40\n'));
    const r = await check(d);
    assert.ok(r.faults.some((x) => x.kind === 'extra' && x.object === 'default/segments/notes.txt'));
    assert.ok(r.faults.some((x) => x.kind === 'altered' && x.object === checkpointName('default', 40)));
  });

  it('restore rebuilds a store whose verify passes with the archived root; an altered archive is refused', async () => {
    const db = join(work, 'restored.db');
    const store = await openStore(db);
    const r = await restoreFromArchive(await openDirectoryTarget(pathToFileURL(good).href), store, {
      verifiers: f.verifiers,
      vkey: f.vkey,
    });
    assert.equal(r.entries, 31);
    const log = (await store.getLog('default'))!;
    const report = await verifyStoredLog(store, log, { verifiers: f.verifiers });
    assert.equal(report.ok, true, JSON.stringify(report.faults));
    const original = await openStore(f.db);
    const cp = (await original.checkpointAt((await original.getLog('default'))!.id, 31))!;
    assert.equal(report.root, toBase64(cp.root));
    assert.equal(r.root, toBase64(cp.root));
    await original.close();
    await store.close();

    const d = copy('restore-bad');
    const p = join(d, bundleName('default', 0, 7));
    writeFileSync(p, readFileSync(p, 'utf8').replace('"p-1"', '"p-Y"'));
    const s2 = await openStore(join(work, 'refused.db'));
    await assert.rejects(
      restoreFromArchive(await openDirectoryTarget(pathToFileURL(d).href), s2, {
        verifiers: f.verifiers,
        vkey: f.vkey,
      }),
      (e) => isEvidentError(e, ErrorCode.TAMPER_DETECTED),
    );
    assert.equal(await s2.getLog('default'), undefined);
    await s2.close();
  });

  it('a primary store rolled back to an older copy is caught from the archive alone', async () => {
    const old = join(work, 'old.db');
    copyFileSync(f.db, old);
    const l = await f.open();
    await l.appendMany(Array.from({ length: 5 }, (_, i) => event(200 + i)));
    const target = await openDirectoryTarget(pathToFileURL(good).href);
    await archivePass({ ledger: l, targets: [target] });
    await l.close();
    // the operator restores yesterday's copy of the database
    copyFileSync(old, f.db);
    rmSync(`${f.db}-wal`, { force: true });
    rmSync(`${f.db}-shm`, { force: true });
    const rolled = await f.open();
    await assert.rejects(archivePass({ ledger: rolled, targets: [target] }), (e) => {
      assert.ok(isEvidentError(e, ErrorCode.TAMPER_DETECTED));
      assert.equal((e as { details: Record<string, unknown> }).details['rule'], 'archive_checkpoint_missing');
      return true;
    });
    await rolled.close().catch(() => {});
  });
});
