/**
 * The archive pass on a real SQLite file and a directory target in a temp dir: sealing,
 * manifests, checkpoints in the archive, pruning only once every target holds a segment, and
 * what still verifies after.
 */
import assert from 'node:assert/strict';
import { chmodSync, cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { pathToFileURL } from 'node:url';
import { openDirectoryTarget } from '../../src/archive/directory.ts';
import { bundleName, checkpointName, manifestName } from '../../src/archive/layout.ts';
import { parseManifest } from '../../src/archive/manifest.ts';
import { archivePass } from '../../src/archive/pass.ts';
import { pruneSegment } from '../../src/archive/prune.ts';
import { buildPolicy, setPolicy } from '../../src/archive/retention.ts';
import { fromBase64 } from '../../src/core/bytes.ts';
import { ErrorCode, isEvidentError } from '../../src/core/errors.ts';
import { entryLeafHash } from '../../src/core/event/entry.ts';
import { rootPlan, verifyConsistency, verifyInclusion } from '../../src/core/merkle/index.ts';
import type { Ledger } from '../../src/ledger/ledger.ts';
import type { SqliteStore } from '../../src/store/sqlite/store.ts';
import { event, type Fixture, makeFixture } from '../ledger/support.ts';

const SEG = 10;

async function seeded(f: Fixture, n: number, online = '1d') {
  const l = await f.open();
  await l.appendMany(Array.from({ length: n }, (_, i) => event(i)));
  await setPolicy(
    l.store,
    l.log,
    buildPolicy({ preset: 'custom', online, archive: '1y', segment: String(SEG) }),
    {
      now: () => new Date(),
      force: true,
      reason: 'test',
    },
  );
  return l;
}

describe('archive pass (SQLite, directory target)', () => {
  let f: Fixture;
  let dir: string;
  before(async () => {
    f = await makeFixture('evident-archive-');
    dir = mkdtempSync(join(tmpdir(), 'evident-target-'));
  });
  after(() => {
    f.cleanup();
    rmSync(dir, { recursive: true, force: true });
  });

  it('seals closed segments with manifests, writes checkpoints, and prunes nothing inside online retention', async () => {
    const l = await seeded(f, 25);
    const t = await openDirectoryTarget(pathToFileURL(join(dir, 'a')).href);
    const r = await archivePass({ ledger: l, targets: [t] });
    // 26 entries (25 + the retention event): segments 0..9 and 10..19 are closed
    assert.deepEqual(
      r.sealed.map((s) => [s.first, s.last]),
      [
        [0, 9],
        [10, 19],
      ],
    );
    assert.equal(r.pruned.length, 0);
    const m = parseManifest(readFileSync(join(dir, 'a', manifestName('default', 0, 9)), 'utf8'));
    assert.equal(m.first, 0);
    assert.equal(m.last, 9);
    assert.equal(m.bundle.name, bundleName('default', 0, 9));
    const st = await t.stat(m.bundle.name);
    assert.equal(st?.size, m.bundle.size);
    assert.ok(r.checkpoints_written >= 1);
    const cp = await l.latestCheckpoint();
    assert.equal(readFileSync(join(dir, 'a', checkpointName('default', cp!.size)), 'utf8'), cp!.note);
    // a second pass seals nothing new and writes nothing twice
    const again = await archivePass({ ledger: l, targets: [t] });
    assert.equal(again.sealed.length, 0);
    await l.close();
  });

  it('adopts a bundle left without its manifest (a pass stopped between the two puts); refuses one that does not verify', async () => {
    const l = await f.open();
    const d = join(dir, 'orphan');
    cpSync(join(dir, 'a'), d, { recursive: true });
    const bundle = join(d, bundleName('default', 10, 19));
    const before = readFileSync(bundle);
    rmSync(join(d, manifestName('default', 10, 19)), { force: true });
    const t = await openDirectoryTarget(pathToFileURL(d).href);
    const r = await archivePass({ ledger: l, targets: [t], prune: false });
    assert.deepEqual(
      r.sealed.map((x) => [x.first, x.last]),
      [[10, 19]],
    );
    assert.deepEqual(readFileSync(bundle), before);
    assert.equal(parseManifest(readFileSync(join(d, manifestName('default', 10, 19)), 'utf8')).last, 19);
    // a junk bundle where a segment would start: refused, never overwritten
    const junk = join(dir, 'junk');
    cpSync(join(dir, 'a'), junk, { recursive: true });
    rmSync(join(junk, manifestName('default', 10, 19)), { force: true });
    chmodSync(join(junk, bundleName('default', 10, 19)), 0o644);
    writeFileSync(join(junk, bundleName('default', 10, 19)), 'not a bundle\n');
    const tj = await openDirectoryTarget(pathToFileURL(junk).href);
    await assert.rejects(archivePass({ ledger: l, targets: [tj], prune: false }), (e) =>
      isEvidentError(e, ErrorCode.ARCHIVE_CONFLICT),
    );
    await l.close();
  });

  it('refuses to prune while a target lacks the segment or it fails read-back', async () => {
    const l = await f.open();
    const a = await openDirectoryTarget(pathToFileURL(join(dir, 'a')).href);
    const empty = await openDirectoryTarget(pathToFileURL(join(dir, 'empty')).href);
    const later = () => new Date(Date.now() + 3 * 86_400_000);
    const m = parseManifest(readFileSync(join(dir, 'a', manifestName('default', 0, 9)), 'utf8'));
    const policy = buildPolicy({ preset: 'custom', online: '1d', archive: '1y', segment: String(SEG) });
    // a target that lacks the segment: nothing is pruned
    await assert.rejects(pruneSegment(l, m, [a, empty], policy, later), (e) => {
      assert.ok(isEvidentError(e, ErrorCode.ARCHIVE_UNAVAILABLE));
      assert.equal((e as { details: Record<string, unknown> }).details['rule'], 'not_held');
      return true;
    });
    // a bundle that no longer reads back as sealed (a copy of the archive, one bundle edited)
    const bad = join(dir, 'bad');
    cpSync(join(dir, 'a'), bad, { recursive: true });
    const bundle = join(bad, bundleName('default', 0, 9));
    chmodSync(bundle, 0o644);
    writeFileSync(bundle, readFileSync(bundle, 'utf8').replace('"p-3"', '"p-Z"'));
    const t = await openDirectoryTarget(pathToFileURL(bad).href);
    await assert.rejects(archivePass({ ledger: l, targets: [t], now: later }), (e) =>
      isEvidentError(e, ErrorCode.ARCHIVE_UNAVAILABLE),
    );
    assert.deepEqual(await l.store.prunedRanges(l.log.id), []);
    await l.close();
  });

  it('prunes past online retention only when every target holds the segment, and proofs still verify', async () => {
    const l = await f.open();
    const a = await openDirectoryTarget(pathToFileURL(join(dir, 'a')).href);
    const b = await openDirectoryTarget(pathToFileURL(join(dir, 'b')).href);
    const later = () => new Date(Date.now() + 3 * 86_400_000);
    // b cannot be written (its directory is replaced by a file: root ignores modes): the pass
    // fails before pruning anything
    const bDir = join(dir, 'b');
    rmSync(bDir, { recursive: true });
    writeFileSync(bDir, 'not a directory');
    await assert.rejects(archivePass({ ledger: l, targets: [a, b], now: later }), (e) =>
      isEvidentError(e, ErrorCode.ARCHIVE_UNAVAILABLE),
    );
    assert.deepEqual(await l.store.prunedRanges(l.log.id), []);
    rmSync(bDir);
    mkdirSync(bDir);
    const r = await archivePass({ ledger: l, targets: [a, b], now: later });
    assert.ok(r.copied >= 2, 'b got the segments a held');
    assert.deepEqual(
      r.pruned.map((p) => [p.first, p.last]),
      [
        [0, 9],
        [10, 19],
      ],
    );
    assert.equal(r.pruned_through, 20);
    assert.equal((await l.store.entries(l.log.id, 0, 20, 100)).length, 0);
    // verify covers the kept part and reports the pruned range
    const report = await l.verify({ verifiers: f.verifiers });
    assert.equal(report.ok, true, JSON.stringify(report.faults));
    assert.deepEqual(
      report.pruned?.map((p) => [p.first, p.last]),
      [
        [0, 9],
        [10, 19],
      ],
    );
    assert.ok(report.pruned![0]!.objects!.some((o) => o.endsWith(bundleName('default', 0, 9))));
    // an inclusion proof of a later entry and a consistency proof from an old size still verify
    const cp = await l.checkpoint();
    const entry = (await l.entryAt(21))!;
    const inc = await l.proveInclusion(21, cp.size);
    verifyInclusion(
      entryLeafHash(entry),
      21,
      cp.size,
      inc.hashes.map((h) => fromBase64(h)),
      cp.root,
    );
    // from a checkpoint inside the pruned range (size 15 has an odd pruned leaf at its edge)
    const old = (await l.store.checkpoints(l.log.id)).find((c) => c.size <= 20);
    const from = old?.size ?? 15;
    const oldRoot = old?.root ?? (await rootAt(l, 15));
    const cons = await l.proveConsistency(from, cp.size);
    verifyConsistency(
      from,
      cp.size,
      cons.map((h) => fromBase64(h)),
      oldRoot,
      cp.root,
    );
    // any other DELETE is still refused by the triggers
    const db = (l.store as SqliteStore).database;
    assert.throws(() => db.prepare('DELETE FROM entries WHERE idx = 21').run(), /pruned range/);
    assert.throws(() => db.prepare('DELETE FROM pruned_ranges').run(), /append-only/);
    await l.close();
  });
});

/** The root of the tree of `size` from the store's nodes (pruned leaves included). */
async function rootAt(l: Ledger, size: number): Promise<Uint8Array> {
  const plan = rootPlan(size);
  return plan.assemble(await l.store.nodes(l.log.id, plan.nodes))[0]!;
}
