/**
 * Attacks on what the ledger derives from the entries and keeps beside them: the log head
 * (size, last hash, frontier) and the stored tree nodes. Played on copies of one SQLite file of
 * 50 entries with signed checkpoints at 10, 20, 30, 40 and 50. Verification must name each
 * attack; appends must refuse a head that the entries and the stored tree do not back; proofs
 * must never leave the ledger when they fail against their checkpoint.
 */
import assert from 'node:assert/strict';
import { copyFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import Database from 'better-sqlite3';
import { fromBase64 } from '../../src/core/bytes.ts';
import { ErrorCode } from '../../src/core/errors.ts';
import { FaultKind, type VerifyReport } from '../../src/core/verify/report.ts';
import type { Ledger } from '../../src/ledger/ledger.ts';
import { openLedger } from '../../src/ledger/open.ts';
import { ERASURE_KEY, type Fixture, fullEvent, makeFixture, rejectsWith, summary } from './support.ts';
import { carefully } from './tamper-support.ts';
import { verifyEveryWay } from './verify-ways.ts';

type Db = Database.Database;

let fx: Fixture;
let cases = 0;

before(async () => {
  fx = await makeFixture('evident-tamper-tree-');
  const ledger = await fx.open({ checkpointIntervalMs: 3_600_000 });
  for (let chunk = 0; chunk < 5; chunk++) {
    await ledger.appendMany(Array.from({ length: 10 }, (_, i) => fullEvent(chunk * 10 + i)));
    await ledger.checkpoint();
  }
  await ledger.close();
});

after(() => fx.cleanup());

/** A fresh copy of the log with `mutate` applied (triggers dropped first, as a file writer can). */
function tampered(mutate: (db: Db) => void): string {
  const path = join(fx.dir, `case-${cases++}.db`);
  copyFileSync(fx.db, path);
  const db = new Database(path);
  db.transaction(() => carefully(db, mutate))();
  db.close();
  return path;
}

async function withLedger<T>(path: string, fn: (l: Ledger) => Promise<T>): Promise<T> {
  const l = await openLedger({ db: path, key: fx.keyPath, checkpointIntervalMs: 3_600_000 });
  try {
    return await fn(l);
  } finally {
    await l.close().catch(() => undefined);
  }
}

const verifyFile = (path: string): Promise<VerifyReport> =>
  withLedger(path, (l) => verifyEveryWay(l, { verifiers: fx.verifiers }));

const count = (path: string, sql: string): number => {
  const db = new Database(path, { readonly: true });
  try {
    return db.prepare(sql).pluck().get() as number;
  } finally {
    db.close();
  }
};

function hasFault(r: VerifyReport, kind: FaultKind): void {
  assert.equal(r.ok, false, summary(r));
  assert.ok(
    r.faults.some((f) => f.kind === kind),
    `expected ${kind}: ${summary(r)}`,
  );
}

describe('a poisoned log head', () => {
  const poisons: Record<string, (db: Db) => void> = {
    'a zeroed frontier': (db) => db.prepare('UPDATE logs SET frontier = zeroblob(length(frontier))').run(),
    'an emptied frontier': (db) => db.prepare("UPDATE logs SET frontier = X''").run(),
    'a changed last_hash': (db) => db.prepare(`UPDATE logs SET last_hash = '${'ab'.repeat(32)}'`).run(),
    // 50 = 0b110010 and 51 = 0b110011: one more frontier hash, here a copy of the last one
    'a size grown by one, frontier extended': (db) =>
      db.prepare('UPDATE logs SET size = 51, frontier = frontier || substr(frontier, -32)').run(),
    'a size shrunk by one, with the head the attacker computes for 49': (db) => {
      const leaf = db.prepare('SELECT hash FROM entries WHERE idx = 48').pluck().get() as string;
      // 49 = 0b110001: [0,32) [32,48) [48,49) (the last is entry 48's leaf hash)
      const n5 = db
        .prepare('SELECT hash FROM tree_nodes WHERE level = 5 AND idx = 0')
        .pluck()
        .get() as Buffer;
      const n4 = db
        .prepare('SELECT hash FROM tree_nodes WHERE level = 4 AND idx = 2')
        .pluck()
        .get() as Buffer;
      db.prepare('UPDATE logs SET size = 49, last_hash = ?, frontier = ?').run(
        leaf,
        Buffer.concat([n5, n4, Buffer.from(leaf, 'hex')]),
      );
    },
  };

  for (const [name, poison] of Object.entries(poisons)) {
    test(`${name}: verify reports head_mismatch; an append is refused (TAMPER_DETECTED) and writes nothing`, async () => {
      const path = tampered(poison);
      hasFault(await verifyFile(path), FaultKind.HEAD_MISMATCH);
      const nodesBefore = count(path, 'SELECT count(*) FROM tree_nodes');
      await withLedger(path, async (l) => {
        const e = await rejectsWith(l.append(fullEvent(99)), ErrorCode.TAMPER_DETECTED);
        assert.equal(e.details['rule'], 'head_mismatch');
        // no checkpoint is signed over a bad head, and no erasure event extends it
        await rejectsWith(l.checkpoint(), ErrorCode.TAMPER_DETECTED);
        await rejectsWith(
          l.erase({ erasureKey: ERASURE_KEY, actor_id: 'user-2', reason: 'request #7' }),
          ErrorCode.TAMPER_DETECTED,
        );
      });
      assert.equal(count(path, 'SELECT count(*) FROM entries'), 50);
      assert.equal(
        count(path, 'SELECT count(*) FROM tree_nodes'),
        nodesBefore,
        'no node computed from a bad head',
      );
    });
  }

  test('a changed last_hash blames the head, not the intact last entry', async () => {
    const r = await verifyFile(tampered(poisons['a changed last_hash']!));
    assert.equal(r.ok, false);
    assert.ok(!r.faults.some((f) => f.kind !== FaultKind.HEAD_MISMATCH), summary(r));
    assert.equal(r.first_bad_index, null);
  });

  test('the untouched copy verifies and appends', async () => {
    const path = tampered(() => undefined);
    assert.ok((await verifyFile(path)).ok);
    await withLedger(path, async (l) => {
      assert.equal((await l.append(fullEvent(99))).index, 50);
      await l.checkpoint();
    });
    const r = await verifyFile(path);
    assert.ok(r.ok, summary(r));
    assert.equal(r.verified_size, 51);
  });
});

describe('a corrupted tree node', () => {
  // [4, 6): off every consistency proof between the checkpoints (their sizes are multiples of
  // 10, whose proofs use [0,8), [8,10) and larger nodes), but on the audit path of entries 6 and 7.
  const corrupt = (db: Db) =>
    db.prepare('UPDATE tree_nodes SET hash = zeroblob(32) WHERE level = 1 AND idx = 2').run();

  test('verify reports tree_node_mismatch naming the node', async () => {
    const r = await verifyFile(tampered(corrupt));
    hasFault(r, FaultKind.TREE_NODE_MISMATCH);
    const f = r.faults.find((x) => x.kind === FaultKind.TREE_NODE_MISMATCH)!;
    assert.deepEqual([f['level'], f['node_index']], [1, 2]);
  });

  test('a missing node is reported too', async () => {
    const r = await verifyFile(
      tampered((db) => db.exec('DELETE FROM tree_nodes WHERE level = 2 AND idx = 3')),
    );
    hasFault(r, FaultKind.TREE_NODE_MISMATCH);
  });

  test('a node stored beyond the tree (it would break the next append) is reported', async () => {
    const r = await verifyFile(
      tampered((db) =>
        db
          .prepare(
            'INSERT INTO tree_nodes (log_id, tile_level, tile_index, level, idx, hash) VALUES (1, 0, 0, 1, 25, zeroblob(32))',
          )
          .run(),
      ),
    );
    hasFault(r, FaultKind.TREE_NODE_MISMATCH);
  });

  test('an inclusion proof over it is refused (TAMPER_DETECTED), never handed out', async () => {
    await withLedger(tampered(corrupt), async (l) => {
      const e = await rejectsWith(l.proveInclusion(6, 50), ErrorCode.TAMPER_DETECTED);
      assert.equal(e.details['rule'], 'proof_mismatch');
      // a proof that does not touch the node still leaves
      const ok = await l.proveInclusion(20, 50);
      assert.equal(ok.hashes.length, 6);
    });
  });

  test('a proof through a deleted node is refused (TAMPER_DETECTED), not a database error', async () => {
    // [4, 8) is on the audit path of entry 1, and on no consistency proof between the checkpoints
    const path = tampered((db) => db.exec('DELETE FROM tree_nodes WHERE level = 2 AND idx = 1'));
    await withLedger(path, async (l) => {
      const e = await rejectsWith(l.proveInclusion(1, 50), ErrorCode.TAMPER_DETECTED);
      assert.deepEqual([e.details['rule'], e.details['level']], ['proof_mismatch', 2]);
    });
  });

  test('a consistency proof over a corrupted node is refused (TAMPER_DETECTED)', async () => {
    // [8, 10) is on the proof from 10 to 50
    const path = tampered((db) =>
      db.exec('UPDATE tree_nodes SET hash = zeroblob(32) WHERE level = 1 AND idx = 4'),
    );
    await withLedger(path, async (l) => {
      const e = await rejectsWith(l.proveConsistency(10, 50), ErrorCode.TAMPER_DETECTED);
      assert.equal(e.details['rule'], 'proof_mismatch');
      assert.equal((await l.proveConsistency(20, 50)).length > 0, true);
    });
  });

  test('an edited entry makes its own proof fail too (the leaf is checked with the path)', async () => {
    const path = tampered((db) => db.exec("UPDATE entries SET actor_id = 'mallory' WHERE idx = 33"));
    await withLedger(path, async (l) => {
      await rejectsWith(l.proveInclusion(33, 50), ErrorCode.TAMPER_DETECTED);
    });
  });

  test('honest proofs verify against their checkpoints', async () => {
    await withLedger(
      tampered(() => undefined),
      async (l) => {
        for (const i of [0, 6, 7, 49]) await l.proveInclusion(i, 50);
        for (const [a, b] of [
          [0, 50],
          [10, 50],
          [50, 50],
          [7, 33],
        ] as const)
          await l.proveConsistency(a, b);
        const p = await l.proveInclusion(6, 50);
        assert.ok(p.hashes.every((h) => fromBase64(h).length === 32));
      },
    );
  });
});
