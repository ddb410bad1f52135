/**
 * Verification reads rows as arrays of values (the SQLite driver's raw mode) and re-hashes
 * them with the field-by-field leaf writer: a value of another SQL type (a blob, an integer, a
 * real, NULL where the column allows it) in any column of one entry is still an edited entry.
 * tamper.test.ts edits each column's text; this file changes its type.
 */
import assert from 'node:assert/strict';
import { copyFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import Database from 'better-sqlite3';
import { FaultKind } from '../../src/core/verify/report.ts';
import { openLedger } from '../../src/ledger/open.ts';
import { ENTRY_COLUMNS } from '../../src/store/rows.ts';
import { ERASURE_KEY, type Fixture, fullEvent, makeFixture, summary } from './support.ts';
import { dropTriggers } from './tamper-support.ts';

const TARGET = 3;
const NOT_NULL = new Set(['id', 'timestamp', 'received_at', 'actor_id', 'actor_type', 'action']);
for (const c of ['resource_type', 'resource_id', 'result', 'prev_hash', 'hash']) NOT_NULL.add(c);

let fx: Fixture;
let cases = 0;

before(async () => {
  fx = await makeFixture('evident-tamper-types-');
  const ledger = await fx.open();
  await ledger.appendMany(Array.from({ length: 8 }, (_, i) => fullEvent(i)));
  await ledger.close();
});

after(() => fx.cleanup());

const variants: [string, unknown][] = [
  ['a blob', Buffer.from('7b7d', 'hex')],
  ['an integer', 7],
  ['a real', 1.5],
  ['NULL', null],
];

/** Committed fields live in entry_secrets; their entries columns stay NULL and are checked below. */
const SIDE = new Set(['old_values', 'new_values']);

for (const column of ENTRY_COLUMNS.filter((c) => c !== 'idx' && !SIDE.has(c))) {
  for (const [name, value] of variants) {
    if (value === null && NOT_NULL.has(column)) continue;
    test(`${column} set to ${name} → entry_modified at ${TARGET}`, async () => {
      const path = join(fx.dir, `case-${cases++}.db`);
      copyFileSync(fx.db, path);
      const db = new Database(path);
      db.transaction(() => {
        dropTriggers(db);
        const r = db.prepare(`UPDATE entries SET ${column} = ? WHERE idx = ?`).run(value, TARGET);
        assert.equal(r.changes, 1);
      })();
      db.close();
      const ledger = await openLedger({ db: path });
      try {
        const r = await ledger.verify({ verifiers: fx.verifiers });
        assert.equal(r.ok, false, summary(r));
        assert.equal(r.first_bad_index, TARGET, summary(r));
        assert.deepEqual(
          [r.faults[0]!.kind, r.faults[0]!.index],
          [FaultKind.ENTRY_MODIFIED, TARGET],
          summary(r),
        );
      } finally {
        await ledger.close();
      }
    });
  }
}

test('a value written into the column of an erased field → entry_modified naming it', async () => {
  const path = join(fx.dir, `case-${cases++}.db`);
  copyFileSync(fx.db, path);
  const l = await openLedger({ db: path, key: fx.keyPath });
  const subject = (await l.entryAt(TARGET))!.actor_id;
  await l.erase({ erasureKey: ERASURE_KEY, actor_id: subject, reason: 'GDPR art. 17' });
  assert.ok((await l.verify({ verifiers: fx.verifiers })).ok);
  await l.close();
  const db = new Database(path);
  db.transaction(() => {
    dropTriggers(db);
    db.prepare('UPDATE entries SET old_values = ? WHERE idx = ?').run('{"planted":true}', TARGET);
  })();
  db.close();
  const reader = await openLedger({ db: path });
  try {
    const r = await reader.verify({ verifiers: fx.verifiers });
    assert.equal(r.ok, false, summary(r));
    assert.deepEqual([r.faults[0]!.kind, r.faults[0]!.index], [FaultKind.ENTRY_MODIFIED, TARGET], summary(r));
    assert.deepEqual(r.faults[0]!['fields'], ['old_values'], summary(r));
  } finally {
    await reader.close();
  }
});
