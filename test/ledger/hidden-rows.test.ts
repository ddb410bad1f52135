/**
 * Query results can hide rows while the hashes all verify. Played on SQLite
 * by whoever can write the file: a trigger dropped, an index replaced by a partial one, and
 * sqlite_master rewritten (PRAGMA writable_schema) so that its text claims a full index over a
 * b-tree that lacks one resource's rows. verify() names each object as schema_drift; the
 * verified query finds the hidden row that the indexed query misses.
 */
import assert from 'node:assert/strict';
import { copyFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import Database from 'better-sqlite3';
import { FaultKind, type VerifyReport } from '../../src/core/verify/report.ts';
import { openStore } from '../../src/store/open.ts';
import type { SqliteStore } from '../../src/store/sqlite/store.ts';
import { type Fixture, fullEvent, makeFixture, summary } from './support.ts';

let fx: Fixture;
let copies = 0;
const HIDDEN = 'p-7';

before(async () => {
  fx = await makeFixture('evident-hidden-');
  const ledger = await fx.open({ checkpointIntervalMs: 3_600_000 });
  await ledger.appendMany(Array.from({ length: 20 }, (_, i) => fullEvent(i)));
  await ledger.checkpoint();
  await ledger.close();
});
after(() => fx.cleanup());

/** A copy of the log, changed by `attack` with raw SQL (as anyone holding the file can). */
async function attacked(attack: (db: Database.Database) => void): Promise<string> {
  const path = join(fx.dir, `copy-${copies++}.db`);
  copyFileSync(fx.db, path);
  const db = new Database(path);
  try {
    attack(db);
  } finally {
    db.close();
  }
  return path;
}

async function verifyCopy(path: string): Promise<VerifyReport> {
  const copy = { ...fx, db: path };
  const ledger = await (await import('../../src/ledger/open.ts')).openLedger({
    db: copy.db,
    key: fx.keyPath,
  });
  try {
    return await ledger.verify({ verifiers: fx.verifiers });
  } finally {
    await ledger.close();
  }
}

const drifts = (r: VerifyReport) =>
  r.faults.filter((f) => f.kind === FaultKind.SCHEMA_DRIFT).map((f) => `${f.object} ${f.name} ${f.change}`);

/** The partial index keeps no row of HIDDEN; sqlite_master then claims it is the full one. */
function hideResource(db: Database.Database): void {
  const original = db
    .prepare("SELECT sql FROM sqlite_master WHERE name = 'entries_resource'")
    .pluck()
    .get() as string;
  db.exec('DROP INDEX entries_resource');
  db.exec(`${original} WHERE resource_id <> '${HIDDEN}'`);
  db.unsafeMode(true); // better-sqlite3 opens in SQLite's defensive mode; a writer of the file need not
  db.pragma('writable_schema = ON');
  db.prepare("UPDATE sqlite_master SET sql = ? WHERE name = 'entries_resource'").run(original);
  db.pragma('writable_schema = OFF');
}

describe('SQLite schema drift', () => {
  test('an untouched log has no drift: verify is ok', async () => {
    const r = await verifyCopy(await attacked(() => {}));
    assert.ok(r.ok, summary(r));
    assert.deepEqual(drifts(r), []);
  });

  test('a dropped trigger → schema_drift naming the trigger', async () => {
    const r = await verifyCopy(await attacked((db) => db.exec('DROP TRIGGER entries_no_update')));
    assert.equal(r.ok, false);
    assert.deepEqual(drifts(r), ['trigger entries_no_update missing']);
  });

  test('an index replaced by a partial one → schema_drift naming the index', async () => {
    const r = await verifyCopy(
      await attacked((db) => {
        db.exec('DROP INDEX entries_actor');
        db.exec(
          "CREATE INDEX entries_actor ON entries (log_id, actor_id, unixepoch(timestamp, 'subsec')) WHERE actor_id <> 'user-2'",
        );
      }),
    );
    assert.equal(r.ok, false);
    assert.deepEqual(drifts(r), ['index entries_actor changed']);
  });

  test('an extra view or trigger → schema_drift (extra)', async () => {
    const r = await verifyCopy(
      await attacked((db) => db.exec('CREATE VIEW mine AS SELECT idx FROM entries')),
    );
    assert.deepEqual(drifts(r), ['view mine extra']);
  });

  test('sqlite_master rewritten over a partial index: the query hides the row, verify names the index, the verified query finds it', async () => {
    const path = await attacked(hideResource);
    const store = (await openStore(path, { readonly: true })) as SqliteStore;
    try {
      const log = (await store.getLog('default'))!;
      const indexed = await store.query(log.id, { resource_type: 'patient_record', resource_id: HIDDEN });
      assert.equal(indexed.length, 0, 'the attack works: the indexed query misses the row');
    } finally {
      await store.close();
    }
    const r = await verifyCopy(path);
    assert.equal(r.ok, false, summary(r));
    assert.deepEqual(drifts(r), ['integrity entries changed']);
    assert.match(
      String(r.faults.find((f) => f.kind === FaultKind.SCHEMA_DRIFT)!['actual']),
      /entries_resource/,
    );

    const ledger = await (await import('../../src/ledger/open.ts')).openLedger({ db: path, readonly: true });
    try {
      const q = await ledger.verifiedQuery(
        { resource_type: 'patient_record', resource_id: HIDDEN },
        { verifiers: fx.verifiers },
      );
      assert.deepEqual(
        q.entries.map((e) => e.resource_id),
        [HIDDEN],
        'the verified query reads every verified entry: the row is found',
      );
      assert.equal(q.report.ok, false, 'and it says the store was tampered with');
    } finally {
      await ledger.close();
    }
  });

  test('the verified query answers like the indexed one on an intact log, with the same filters', async () => {
    const ledger = await fx.open();
    try {
      for (const f of [
        { actor_id: 'user-2' },
        { resource_type: 'patient_record', resource_id: 'p-3' },
        { result: ['failure', 'denied'], since: '2026-01-01T00:00:05Z', until: '2026-01-01T00:00:15.000Z' },
        { action: 'read', descending: true, limit: 3 },
        { actor_id: 'user-1', fromIndex: 6, limit: 2 },
      ]) {
        const plain = await ledger.query(f);
        const v = await ledger.verifiedQuery(f, { verifiers: fx.verifiers });
        assert.ok(v.report.ok, summary(v.report));
        assert.deepEqual(
          v.entries.map((e) => e.index),
          plain.map((e) => e.index),
          JSON.stringify(f),
        );
      }
    } finally {
      await ledger.close();
    }
  });
});
