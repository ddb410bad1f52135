/**
 * A SQLite database of the release before migration 8 (tree nodes kept by the C2SP tile they
 * belong to) opens, migrates, verifies and gives the same checkpoints, proofs and tile hashes
 * as that release did (fixtures/sqlite-schema7), and the tile columns can only agree with the
 * node's level and index.
 */
import assert from 'node:assert/strict';
import { chmodSync, copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { gunzipSync } from 'node:zlib';
import Database from 'better-sqlite3';
import { fromBase64, fromHex, toHex } from '../../src/core/bytes.ts';
import { ErrorCode } from '../../src/core/errors.ts';
import { leafHash } from '../../src/core/hash.ts';
import { verifyConsistency, verifyInclusion } from '../../src/core/merkle/index.ts';
import { nodeTile } from '../../src/core/tlog/tile-path.ts';
import type { Ledger } from '../../src/ledger/ledger.ts';
import { openLedger } from '../../src/ledger/open.ts';
import { MIGRATIONS } from '../../src/store/sqlite/migrations.ts';
import { rejectsWith } from '../ledger/support.ts';

const FIXTURE = join(import.meta.dirname, 'fixtures', 'sqlite-schema7');

interface Expected {
  size: number;
  verify_ok: boolean;
  checkpoints: { size: number; root: string }[];
  inclusion: { index: number; size: number; leaf: string; hashes: string[] }[];
  consistency: { from: number; to: number; hashes: string[] }[];
  node_ranges: { level: number; from: number; to: number; hashes: string[] }[];
}

const expected = JSON.parse(readFileSync(join(FIXTURE, 'expected.json'), 'utf8')) as Expected;

let dir: string;
let db: string;
let key: string;

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'evident-upgrade-'));
  db = join(dir, 'log.sqlite');
  key = join(dir, 'log.keyfile');
  writeFileSync(db, gunzipSync(readFileSync(join(FIXTURE, 'log.sqlite.gz'))), { mode: 0o600 });
  copyFileSync(join(FIXTURE, 'log.keyfile'), key);
  chmodSync(key, 0o600);
});
after(() => rmSync(dir, { recursive: true, force: true }));

const columns = (path: string): string[] => {
  const d = new Database(path, { readonly: true });
  try {
    return d
      .prepare("SELECT name FROM pragma_table_info('tree_nodes') ORDER BY cid")
      .pluck()
      .all() as string[];
  } finally {
    d.close();
  }
};

const raw = <T>(path: string, fn: (d: Database.Database) => T): T => {
  const d = new Database(path);
  try {
    return fn(d);
  } finally {
    d.close();
  }
};

describe('read-only, a schema 7 database is refused, and left as it was', () => {
  test('openLedger({ readonly }) throws STORE_FAILED naming both versions; nothing migrates', async () => {
    const before = readFileSync(db);
    const e = await rejectsWith(openLedger({ db, key, readonly: true }), ErrorCode.STORE_FAILED);
    assert.match(e.message, /is at schema 7; this evident needs \d+: open it once for writing/);
    assert.deepEqual(e.details, { path: db, version: 7, needed: MIGRATIONS.length });
    assert.ok(readFileSync(db).equals(before), 'the file is unchanged');
    assert.deepEqual(columns(db), ['log_id', 'level', 'idx', 'hash']);
  });
});

describe('a schema 7 database (evident 0.1.0) upgraded to tree nodes by tile', () => {
  let ledger: Ledger;
  let nodesBefore: number;

  before(async () => {
    assert.deepEqual(columns(db), ['log_id', 'level', 'idx', 'hash'], 'the fixture is the old layout');
    nodesBefore = raw(db, (d) => d.prepare('SELECT count(*) FROM tree_nodes').pluck().get() as number);
    assert.equal(
      raw(db, (d) => d.prepare("SELECT value FROM meta WHERE key = 'schema_version'").pluck().get()),
      '7',
    );
    ledger = await openLedger({ db, key, checkpointIntervalMs: 3_600_000 });
  });
  after(() => ledger?.close());

  test('migrates: every node kept, under its tile', () => {
    assert.equal(
      raw(db, (d) => d.prepare("SELECT value FROM meta WHERE key = 'schema_version'").pluck().get()),
      String(MIGRATIONS.length),
    );
    assert.deepEqual(columns(db), ['log_id', 'tile_level', 'tile_index', 'level', 'idx', 'hash']);
    const rows = raw(
      db,
      (d) => d.prepare('SELECT tile_level, tile_index, level, idx FROM tree_nodes').raw().all() as number[][],
    );
    // a tree of n leaves has n - popcount(n) perfect subtrees above the leaves: 600 - 4
    assert.equal(nodesBefore, 596);
    assert.equal(rows.length, nodesBefore);
    for (const [tl, ti, level, idx] of rows) assert.deepEqual([tl, ti], nodeTile(level!, idx!));
  });

  test('verifies, with no schema drift', async () => {
    assert.equal(expected.verify_ok, true);
    const r = await ledger.verify();
    assert.equal(r.ok, true, JSON.stringify(r.faults.slice(0, 3)));
    assert.equal(r.entries, expected.size);
  });

  test('the same checkpoints, proofs and tile hashes as the release that wrote it', async () => {
    const cps = await ledger.store.checkpoints(ledger.log.id);
    assert.deepEqual(
      cps.map((c) => ({ size: c.size, root: toHex(c.root) })),
      expected.checkpoints,
    );
    for (const p of expected.inclusion) {
      assert.deepEqual(await ledger.proveInclusion(p.index, p.size), p, `inclusion ${p.index} in ${p.size}`);
    }
    for (const p of expected.consistency) {
      assert.deepEqual(
        await ledger.proveConsistency(p.from, p.to),
        p.hashes,
        `consistency ${p.from}→${p.to}`,
      );
    }
    for (const t of expected.node_ranges) {
      const got = await ledger.store.nodeRange(ledger.log.id, t.level, t.from, t.to);
      assert.deepEqual(got.map(toHex), t.hashes, `level ${t.level} [${t.from}, ${t.to})`);
    }
  });

  test('appends after the upgrade, and the old checkpoint is a prefix of the new tree', async () => {
    await ledger.append({
      actor_id: 'u-1',
      actor_type: 'user',
      action: 'read',
      resource_type: 'record',
      resource_id: 'r-1',
      result: 'success',
      ip_address: '10.0.0.1',
    });
    const cp = await ledger.checkpoint();
    assert.equal(cp.size, expected.size + 1);
    const old = expected.checkpoints.at(-1)!;
    const proof = (await ledger.proveConsistency(old.size, cp.size)).map((h) => fromBase64(h));
    verifyConsistency(old.size, cp.size, proof, fromHex(old.root), cp.root);
    const last = await ledger.proveInclusion(expected.size, cp.size);
    verifyInclusion(
      leafHash(fromBase64(last.leaf)),
      expected.size,
      cp.size,
      last.hashes.map((h) => fromBase64(h)),
      cp.root,
    );
    assert.equal((await ledger.verify()).ok, true);
  });

  test('a node row whose tile disagrees with its level and index is refused', () => {
    raw(db, (d) => {
      const ins = d.prepare(
        'INSERT INTO tree_nodes (log_id, tile_level, tile_index, level, idx, hash) VALUES (1, ?, ?, ?, ?, zeroblob(32))',
      );
      // level 9, index 5000: tile level 1, tile 5000 >> 7 = 39
      const refused = { code: 'SQLITE_CONSTRAINT_CHECK' };
      assert.throws(() => ins.run(0, 39, 9, 5000), refused);
      assert.throws(() => ins.run(1, 40, 9, 5000), refused);
      assert.throws(() => ins.run(0, 0, 0, 5000), refused, 'level 0 lives in entries');
      assert.deepEqual(nodeTile(9, 5000), [1, 39]);
      ins.run(1, 39, 9, 5000);
      assert.equal(
        d.prepare('SELECT count(*) FROM tree_nodes WHERE level = 9 AND idx = 5000').pluck().get(),
        1,
      );
    });
  });
});
