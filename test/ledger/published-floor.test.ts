/**
 * The signer never contradicts a checkpoint it published (src/ledger/published.ts): with a
 * signer state directory (src/ledger/signer-state.ts), a SQLite file replaced by an older copy
 * cannot make the signer sign another tree at a size it already let out. Real SQLite files,
 * copied as a restored backup would be.
 */
import assert from 'node:assert/strict';
import { copyFileSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fromHex } from '../../src/core/bytes.ts';
import { ErrorCode } from '../../src/core/errors.ts';
import { referenceRoot } from '../../src/core/merkle/index.ts';
import { checkFloor, type PublishedFloor } from '../../src/ledger/published.ts';
import { signInTx } from '../../src/ledger/sign.ts';
import { SignerState } from '../../src/ledger/signer-state.ts';
import { openStore } from '../../src/store/open.ts';
import { event, type Fixture, makeFixture, ORIGIN, rejectsWith } from './support.ts';

/** Copies a SQLite database with its WAL files (a file-level backup, or its restore). */
export function copyDb(from: string, to: string): void {
  for (const ext of ['', '-wal', '-shm']) {
    rmSync(to + ext, { force: true });
    if (existsSync(from + ext)) copyFileSync(from + ext, to + ext);
  }
}

/** Appends events `from` .. `to - 1` (`tag` makes them differ from others of the same index). */
async function appendRange(l: Awaited<ReturnType<Fixture['open']>>, from: number, to: number, tag = 'a') {
  for (let i = from; i < to; i++) await l.append(event(i, { metadata: { tag } }));
}

describe('published floors: the signer state (SQLite)', () => {
  let fx: Fixture;
  let state: string;
  let older: string;
  let newer: string;
  let publishedRoot: Uint8Array;

  before(async () => {
    fx = await makeFixture('evident-floor-');
    state = join(fx.dir, 'signer-state');
    older = join(fx.dir, 'older.db');
    newer = join(fx.dir, 'newer.db');
    const l = await fx.open({ signerState: state });
    await appendRange(l, 0, 5);
    assert.equal((await l.checkpoint()).size, 5);
    await l.close();
    copyDb(fx.db, older);
    const l2 = await fx.open({ signerState: state });
    await appendRange(l2, 5, 10);
    const cp = await l2.checkpoint();
    assert.equal(cp.size, 10);
    publishedRoot = cp.root;
    await l2.close();
    copyDb(fx.db, newer);
  });
  after(() => fx?.cleanup());

  it('records the checkpoint it signed, after the commit, as the signed note itself', () => {
    const dir = new SignerState(state, ORIGIN).dir;
    const files = readdirSync(dir).filter((n) => n.endsWith('.checkpoint'));
    // Only the largest is kept: smaller ones are removed once a larger one is durable.
    assert.deepEqual(files, [`${'10'.padStart(20, '0')}.checkpoint`]);
    assert.match(readFileSync(join(dir, files[0]!), 'utf8'), /^test\.example\/default\n10\n/);
  });

  it('fences a log restored to an older copy: appends, signatures and erasure are refused, naming the signer state', async () => {
    copyDb(older, fx.db);
    const l = await fx.open({ signerState: state });
    try {
      assert.equal(l.fenced?.source, 'journal');
      assert.equal(l.fenced?.rule, 'published_larger');
      for (const p of [l.append(event(5, { metadata: { tag: 'fork' } })), l.checkpoint()]) {
        const e = await rejectsWith(p, ErrorCode.LOG_FENCED);
        assert.equal(e.details['source'], 'journal');
        assert.equal(e.details['published_size'], 10);
        assert.equal(e.details['tree_size'], 5);
        assert.equal(e.details['log'], 'default');
      }
      await rejectsWith(l.ensureWritable(), ErrorCode.LOG_FENCED);
      assert.equal(await l.size(), 5, 'nothing was appended');
    } finally {
      await l.close();
    }
  });

  it('refuses to sign a different tree grown past the published size; the transaction writes nothing', async () => {
    copyDb(older, fx.db);
    // Grown from the older copy by a ledger that never signs (as another host without the state
    // would), with other events than the published tree holds at those indexes.
    const grower = await fx.open({ checkpointIntervalMs: Number.MAX_SAFE_INTEGER });
    await appendRange(grower, 5, 13, 'fork');
    await grower.flush();
    await grower.store.close(); // not close(): that would sign
    // The signer itself, in the transaction: CHECKPOINT_INCONSISTENT naming the source.
    const store = await openStore(fx.db);
    try {
      const log = (await store.getLog('default'))!;
      const floor = await new SignerState(state, ORIGIN).floor();
      assert.equal(floor?.size, 10);
      const e = await rejectsWith(
        store.write(log.id, (tx) =>
          signInTx(tx, {
            origin: ORIGIN,
            signer: fx.signer,
            now: () => new Date(),
            floors: async () => [floor!],
          }),
        ),
        ErrorCode.CHECKPOINT_INCONSISTENT,
      );
      assert.deepEqual(
        [e.details['source'], e.details['rule'], e.details['published_size'], e.details['tree_size']],
        ['journal', 'not_consistent', 10, 13],
      );
      assert.equal((await store.latestCheckpoint(log.id))?.size, 5, 'no checkpoint was stored');
    } finally {
      await store.close();
    }
    // Through the ledger: fenced at open, an append that would have signed writes nothing.
    const l = await fx.open({ signerState: state });
    try {
      assert.equal(l.fenced?.rule, 'not_consistent');
      const a = await rejectsWith(l.append(event(13, { metadata: { tag: 'fork' } })), ErrorCode.LOG_FENCED);
      assert.equal(a.details['source'], 'journal');
      assert.equal(a.details['published_size'], 10);
      assert.equal(a.details['tree_size'], 13);
      assert.equal(await l.size(), 13);
      assert.equal((await l.store.latestCheckpoint(l.log.id))?.size, 5);
      assert.equal(
        await l.store.checkpointAt(l.log.id, 10),
        undefined,
        'no checkpoint at 10 with another root',
      );
    } finally {
      await l.close();
    }
  });

  it('a ledger that was not fenced at open refuses at its next signature, rolls the batch back, and is fenced', async () => {
    copyDb(older, fx.db);
    const grower = await fx.open({ checkpointIntervalMs: Number.MAX_SAFE_INTEGER });
    await appendRange(grower, 5, 9, 'fork');
    await grower.flush();
    await grower.store.close();
    // Open without the state, so nothing fences at open; then the floor appears (another
    // process of this host published size 10 meanwhile): the next signing batch must refuse.
    const l = await fx.open({ signerState: join(fx.dir, 'empty-state') });
    try {
      const floor = await new SignerState(state, ORIGIN).floor();
      // Raised as an archive floor would be, but not yet evaluated: drive the signer itself.
      (l as unknown as { floors: Map<string, PublishedFloor> }).floors.set('journal x', floor!);
      const e = await rejectsWith(
        l.append(event(9, { metadata: { tag: 'fork' } })),
        ErrorCode.CHECKPOINT_INCONSISTENT,
      );
      assert.equal(e.details['source'], 'journal');
      // The batch would have made the tree 10 entries: the published size, with another root.
      assert.equal(e.details['rule'], 'published_root_differs');
      assert.equal(e.details['tree_size'], 10);
      assert.equal(await l.size(), 9, 'the batch that would have signed was rolled back');
      assert.equal(l.fenced?.source, 'journal');
      await rejectsWith(l.append(event(10)), ErrorCode.LOG_FENCED);
    } finally {
      await l.close();
    }
  });

  it('signs again once the database that holds the published checkpoint is put back', async () => {
    copyDb(newer, fx.db);
    const l = await fx.open({ signerState: state });
    try {
      assert.equal(l.fenced, undefined);
      await appendRange(l, 10, 12);
      const cp = await l.checkpoint();
      assert.equal(cp.size, 12);
      assert.deepEqual((await l.checkpointAt(10))?.root, publishedRoot);
      assert.equal((await new SignerState(state, ORIGIN).floor())?.size, 12);
    } finally {
      await l.close();
    }
  });

  it('CONTROL (no floor source): the same restored copy signs a fork at the published size', async () => {
    // Shows that the scenario above can fail: without a signer state, the rolled-back database
    // lets the signer sign size 10 again, with another root.
    copyDb(older, fx.db);
    const l = await fx.open();
    try {
      await appendRange(l, 5, 10, 'fork');
      const fork = await l.checkpoint();
      assert.equal(fork.size, 10);
      assert.notDeepEqual(fork.root, publishedRoot, 'a second tree of size 10 was signed: a fork');
    } finally {
      await l.close();
    }
    copyDb(newer, fx.db);
  });

  it('two recorders of one directory: the floor only grows, and the same size with another root is refused', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'evident-state-'));
    try {
      const a = new SignerState(dir, ORIGIN);
      const b = new SignerState(dir, ORIGIN);
      const l = await fx.open({ signerState: join(fx.dir, 'unused') });
      const cps = [(await l.checkpointAt(5))!, (await l.checkpointAt(10))!];
      await l.close();
      await b.record(cps[1]!);
      await a.record(cps[0]!); // a smaller one, after: the floor stays at 10
      assert.equal((await a.floor())?.size, 10);
      const forged = { ...cps[1]!, root: new Uint8Array(32).fill(7) };
      const e = await rejectsWith(
        new SignerState(dir, ORIGIN).record(forged),
        ErrorCode.CHECKPOINT_INCONSISTENT,
      );
      assert.equal(e.details['rule'], 'published_root_differs');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('published floors: checkFloor on random trees (property)', () => {
  let fx: Fixture;
  let leaves: Uint8Array[];
  const N = 37;

  before(async () => {
    fx = await makeFixture('evident-floor-prop-');
    const l = await fx.open({ checkpointIntervalMs: Number.MAX_SAFE_INTEGER });
    await appendRange(l, 0, N);
    await l.flush();
    const entries = await l.store.entries(l.log.id, 0, N, N);
    leaves = entries.map((e) => fromHex(e.hash));
    await l.close();
  });
  after(() => fx?.cleanup());

  it('a floor from the honest tree is accepted; any flipped byte of its root is refused', async () => {
    const store = await openStore(fx.db, { readonly: true });
    try {
      const log = (await store.getLog('default'))!;
      const nodes = (ids: Parameters<typeof store.nodes>[1]) => store.nodes(log.id, ids);
      let seed = 0x5eed;
      const rand = (k: number) => {
        seed = (seed * 1103515245 + 12345) & 0x7fffffff;
        return seed % k;
      };
      for (let round = 0; round < 60; round++) {
        const n = 1 + rand(N);
        const m = 1 + rand(n);
        const floor: PublishedFloor = {
          source: 'archive',
          size: m,
          root: referenceRoot(leaves.slice(0, m)),
          where: 'test',
        };
        const root = referenceRoot(leaves.slice(0, n));
        await checkFloor(floor, n, root, nodes);
        const flipped = floor.root.slice();
        const at = rand(32);
        flipped[at]! ^= 1 << rand(8);
        const e = await rejectsWith(
          checkFloor({ ...floor, root: flipped }, n, root, nodes),
          ErrorCode.CHECKPOINT_INCONSISTENT,
        );
        assert.equal(
          e.details['rule'],
          m === n ? 'published_root_differs' : 'not_consistent',
          `m=${m} n=${n}`,
        );
        assert.equal(e.details['source'], 'archive');
        // And a floor larger than the tree is refused whatever its root.
        if (m < n) {
          const big = await rejectsWith(
            checkFloor({ ...floor, size: n, root }, m, floor.root, nodes),
            ErrorCode.CHECKPOINT_INCONSISTENT,
          );
          assert.equal(big.details['rule'], 'published_larger');
        }
      }
    } finally {
      await store.close();
    }
  });
});
