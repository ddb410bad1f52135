/**
 * Forged erasures (SQLite): only the ledger writes `evident.*` actions, an erasure event names
 * every value it erases and is signed by an erasure key the database's writer does not hold,
 * verification reports every erased value no authorised erasure names, and the database
 * refuses an erasure record its event does not name. The same attacks on PostgreSQL, as the
 * service role, are in test/store/postgres-erasure.test.ts.
 */
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import Database from 'better-sqlite3';
import { ErrorCode, type ValidationError } from '../../src/core/errors.ts';
import { signErasure } from '../../src/core/event/erasure.ts';
import { generateSigner, verifierFromPublicKey } from '../../src/core/note-keys.ts';
import { FaultKind, type VerifyReport } from '../../src/core/verify/report.ts';
import { MAX_VALUES_PER_EVENT } from '../../src/ledger/erase.ts';
import type { Ledger } from '../../src/ledger/ledger.ts';
import { MIGRATIONS as SQLITE_MIGRATIONS } from '../../src/store/sqlite/migrations.ts';
import { forgeErasure } from './forge-support.ts';
import {
  ERASURE_KEY,
  ERASURE_VERIFIERS,
  type Fixture,
  fullEvent,
  makeFixture,
  ORIGIN,
  rejectsWith,
  summary,
} from './support.ts';
import { carefully } from './tamper-support.ts';

const fixtures: Fixture[] = [];
after(() => {
  for (const f of fixtures) f.cleanup();
});

/** A log of 30 full events, signed at 30; user-3's entries are 3, 8, ..., 28. */
async function seeded(): Promise<{ fx: Fixture; l: Ledger }> {
  const fx = await makeFixture('evident-erasure-');
  fixtures.push(fx);
  const l = await fx.open({ checkpointIntervalMs: 3_600_000 });
  await l.appendMany(Array.from({ length: 30 }, (_, i) => fullEvent(i)));
  await l.checkpoint();
  return { fx, l };
}

/** Verifies with the published checkpoint key and a checkpoint taken now (the attack is signed over). */
async function verifyAfter(fx: Fixture, l: Ledger, erasureKeys = ERASURE_VERIFIERS): Promise<VerifyReport> {
  const trusted = (await l.checkpoint()).note;
  return l.verify({
    verifiers: fx.verifiers,
    trusted: [trusted],
    ...(erasureKeys.length > 0 ? { erasureVerifiers: erasureKeys } : {}),
  });
}

const kinds = (r: VerifyReport) => r.faults.map((f) => [f.kind, f.index, f['field'] ?? null]);

describe('the evident.* actions belong to the ledger', () => {
  test('the public append refuses them: VALIDATION_FAILED on action, rule reserved', async () => {
    const { l } = await seeded();
    for (const action of ['evident.erasure', 'EVIDENT.Erasure', 'evident.anything']) {
      const e = (await rejectsWith(
        l.append({ ...fullEvent(99), action, metadata: { subject: { actor_id: 'user-3' } } }),
        ErrorCode.VALIDATION_FAILED,
      )) as ValidationError;
      assert.deepEqual(
        e.issues.map((i) => [i.field, i.rule]),
        [['action', 'reserved']],
      );
    }
    const batch = (await rejectsWith(
      l.appendMany([fullEvent(1), { ...fullEvent(2), action: 'evident.erasure' }]),
      ErrorCode.VALIDATION_FAILED,
    )) as ValidationError;
    assert.deepEqual(
      batch.issues.map((i) => [i.item, i.field, i.rule]),
      [[1, 'action', 'reserved']],
    );
    // an action that only contains the word is the client's own
    assert.equal((await l.append({ ...fullEvent(3), action: 'my.evident.erasure' })).index, 30);
    await l.close();
  });
});

describe('forged erasures are detected', () => {
  test("the issue's attack: an erasure event with no targets, then values deleted, is refused by the database", async () => {
    const { fx, l } = await seeded();
    // deleting values in the same transaction as the event: refused, and nothing lands
    const e = await rejectsWith(
      forgeErasure(l, {
        erase: [{ index: 3, field: 'old_values' }],
        authority: { targets: {}, key: 'x+00000000', signature: '' },
      }),
      ErrorCode.STORE_FAILED,
    );
    assert.equal(e.details['cause'], 'SQLITE_CONSTRAINT_TRIGGER');
    assert.equal(await l.size(), 30);
    // the event alone goes in (a database writer can append) ...
    const at = await forgeErasure(l, {
      erase: [],
      authority: { targets: {}, key: 'x+00000000', signature: '' },
    });
    await l.close();
    // ... but as plain SQL, with the triggers in place, no value it does not name can go
    const db = new Database(fx.db);
    try {
      assert.throws(
        () =>
          db
            .prepare("INSERT INTO erasures (log_id, idx, field, erasure_idx) VALUES (1, 3, 'old_values', ?)")
            .run(at),
        (err: unknown) => (err as { code?: string }).code === 'SQLITE_CONSTRAINT_TRIGGER',
      );
      assert.throws(
        () => db.prepare("DELETE FROM entry_secrets WHERE idx = 3 AND field = 'old_values'").run(),
        (err: unknown) => (err as { code?: string }).code === 'SQLITE_CONSTRAINT_TRIGGER',
      );
    } finally {
      db.close();
    }
  });

  test('an unsigned erasure naming its targets → erasure_unauthorised, and value_missing for each value', async () => {
    const { fx, l } = await seeded();
    const at = await forgeErasure(l, {
      erase: [
        { index: 3, field: 'old_values' },
        { index: 8, field: 'new_values' },
      ],
    });
    assert.equal(at, 30);
    const r = await verifyAfter(fx, l);
    assert.equal(r.ok, false, summary(r));
    assert.deepEqual(kinds(r), [
      [FaultKind.VALUE_MISSING, 3, 'old_values'],
      [FaultKind.VALUE_MISSING, 8, 'new_values'],
      [FaultKind.ERASURE_UNAUTHORISED, 30, null],
    ]);
    assert.deepEqual(r.erasures, { events: 1, authorised: 0, unauthenticated: 0 });
    // without the erasure key: intact as far as the checkpoints go, and the erasure unauthenticated
    const blind = await verifyAfter(fx, l, []);
    assert.equal(blind.ok, true, summary(blind));
    assert.deepEqual(blind.erasures, { events: 1, authorised: 0, unauthenticated: 1 });
    assert.ok(blind.warnings.some((w) => /not authenticated/.test(w)));
    await l.close();
  });

  test('an erasure signed by another key, or a genuine signature over other targets → unauthorised', async () => {
    const { fx, l } = await seeded();
    const other = generateSigner('erasure.test.example').signer;
    const claim = {
      origin: ORIGIN,
      targets: { old_values: [3] },
      subject: { actor_id: 'user-3' },
      reason: 'GDPR art. 17',
      by: { id: 'evident', type: 'system' },
    };
    await forgeErasure(l, {
      erase: [{ index: 3, field: 'old_values' }],
      authority: signErasure(other, claim),
    });
    // the erasure key's genuine signature of one target, replayed over two
    const genuine = signErasure(ERASURE_KEY, { ...claim, targets: { old_values: [8] } });
    await forgeErasure(l, {
      erase: [
        { index: 8, field: 'old_values' },
        { index: 13, field: 'old_values' },
      ],
      authority: { ...genuine, targets: { old_values: [8, 13] } },
    });
    const r = await verifyAfter(fx, l);
    assert.deepEqual(kinds(r), [
      [FaultKind.VALUE_MISSING, 3, 'old_values'],
      [FaultKind.VALUE_MISSING, 8, 'old_values'],
      [FaultKind.VALUE_MISSING, 13, 'old_values'],
      [FaultKind.ERASURE_UNAUTHORISED, 30, null],
      [FaultKind.ERASURE_UNAUTHORISED, 31, null],
    ]);
    // the same statement, signed by the erasure key over what the event says, is authorised
    await forgeErasure(l, {
      erase: [{ index: 18, field: 'old_values' }],
      authority: signErasure(ERASURE_KEY, { ...claim, targets: { old_values: [18] } }),
    });
    const again = await verifyAfter(fx, l);
    assert.equal(again.erasures.authorised, 1);
    assert.equal(again.faults.length, 5, summary(again));
    await l.close();
  });

  test('an authorised erasure verifies, with the erasure key and without (then unauthenticated)', async () => {
    const { fx, l } = await seeded();
    const res = await l.erase({ erasureKey: ERASURE_KEY, actor_id: 'user-3', reason: 'GDPR art. 17' });
    assert.deepEqual([res.entries, res.values, res.receipts.length], [6, 12, 1]);
    const r = await verifyAfter(fx, l);
    assert.ok(r.ok, summary(r));
    assert.deepEqual(r.erasures, { events: 1, authorised: 1, unauthenticated: 0 });
    assert.deepEqual(r.warnings, []);
    const blind = await verifyAfter(fx, l, []);
    assert.ok(blind.ok, summary(blind));
    assert.deepEqual(blind.erasures, { events: 1, authorised: 0, unauthenticated: 1 });
    // a key of the right name but another public key does not verify it
    const impostor = generateSigner(ERASURE_KEY.name).signer;
    const wrong = await verifyAfter(fx, l, [verifierFromPublicKey(impostor.name, impostor.publicKey)]);
    assert.deepEqual(kinds(wrong).at(-1), [FaultKind.ERASURE_UNAUTHORISED, 30, null]);
    await l.close();
  });

  test('a value deleted outside the erasure path, pointing at an authorised erasure that does not name it → value_missing', async () => {
    const { fx, l } = await seeded();
    await l.erase({ erasureKey: ERASURE_KEY, actor_id: 'user-3', reason: 'GDPR art. 17' });
    await l.close();
    const db = new Database(fx.db);
    // with the triggers in place the database refuses it ...
    assert.throws(
      () =>
        db
          .prepare("INSERT INTO erasures (log_id, idx, field, erasure_idx) VALUES (1, 4, 'old_values', 30)")
          .run(),
      (e: unknown) => (e as { code?: string }).code === 'SQLITE_CONSTRAINT_TRIGGER',
    );
    // ... so whoever holds the file drops them first
    carefully(db, () =>
      db.exec(`INSERT INTO erasures (log_id, idx, field, erasure_idx) VALUES (1, 4, 'old_values', 30);
               DELETE FROM entry_secrets WHERE idx = 4 AND field = 'old_values';`),
    );
    db.close();
    const l2 = await fx.open({ checkpointIntervalMs: 3_600_000 });
    const r = await l2.verify({ verifiers: fx.verifiers, erasureVerifiers: ERASURE_VERIFIERS });
    assert.deepEqual(kinds(r), [[FaultKind.VALUE_MISSING, 4, 'old_values']]);
    await l2.close();
  });

  test('the erasure key must be a key of its own: the checkpoint key is refused (KEY_INVALID)', async () => {
    const { fx, l } = await seeded();
    await rejectsWith(
      l.erase({ erasureKey: fx.signer, actor_id: 'user-3', reason: 'GDPR art. 17' }),
      ErrorCode.KEY_INVALID,
    );
    await l.close();
  });

  test('an erasure of many values is split into events the event schema accepts, each signed', async () => {
    const fx = await makeFixture('evident-erasure-');
    fixtures.push(fx);
    const l = await fx.open({ checkpointIntervalMs: 3_600_000 });
    const n = 1600; // 3200 values: more than one erasure event
    for (let i = 0; i < n; i += 400) {
      await l.appendMany(Array.from({ length: 400 }, (_, k) => ({ ...fullEvent(i + k), actor_id: 'bulk' })));
    }
    const t0 = performance.now();
    const res = await l.erase({ erasureKey: ERASURE_KEY, actor_id: 'bulk', reason: 'GDPR art. 17' });
    const ms = performance.now() - t0;
    assert.deepEqual(
      [res.entries, res.values, res.receipts.length],
      [n, 2 * n, Math.ceil((2 * n) / MAX_VALUES_PER_EVENT)],
    );
    const r = await verifyAfter(fx, l);
    assert.ok(r.ok, summary(r));
    const events = Math.ceil((2 * n) / MAX_VALUES_PER_EVENT);
    assert.deepEqual(r.erasures, { events, authorised: events, unauthenticated: 0 });
    console.log(`# erasing ${2 * n} values (SQLite) took ${ms.toFixed(0)} ms`);
    await l.close();
  });
});

describe('values stored where no hash covers them', () => {
  test("a committed field's column written beside its side value (even the true value) → entry_modified", async () => {
    const { fx, l } = await seeded();
    await l.close();
    const db = new Database(fx.db);
    carefully(db, () => {
      const value = db
        .prepare("SELECT value FROM entry_secrets WHERE idx = 7 AND field = 'old_values'")
        .pluck()
        .get();
      db.prepare('UPDATE entries SET old_values = ? WHERE idx = 7').run(value);
      db.prepare(`UPDATE entries SET new_values = '{"name":"x"}' WHERE idx = 9`).run();
    });
    db.close();
    const l2 = await fx.open({ checkpointIntervalMs: 3_600_000 });
    const r = await l2.verify({ verifiers: fx.verifiers });
    assert.deepEqual(
      r.faults.map((f) => [f.kind, f.index, f['fields']]),
      [
        [FaultKind.ENTRY_MODIFIED, 7, ['old_values']],
        [FaultKind.ENTRY_MODIFIED, 9, ['new_values']],
      ],
    );
    await l2.close();
  });

  test('a salt without its value, and a side value of a field without a commitment → entry_modified', async () => {
    const { fx, l } = await seeded();
    await l.erase({ erasureKey: ERASURE_KEY, actor_id: 'user-3', reason: 'GDPR art. 17' });
    await l.close();
    const db = new Database(fx.db);
    // a salt put back beside an erased value; a side value for a field the leaf holds itself
    carefully(db, () =>
      db.exec(`INSERT INTO entry_secrets (log_id, idx, field, value, salt) VALUES (1, 3, 'old_values', 'null', '00');
               UPDATE entry_secrets SET value = 'null' WHERE idx = 3 AND field = 'old_values';
               INSERT INTO entry_secrets (log_id, idx, field, value, salt) VALUES (1, 5, 'reason', '"x"', '00');`),
    );
    db.close();
    const l2 = await fx.open({ checkpointIntervalMs: 3_600_000 });
    const r = await l2.verify({ verifiers: fx.verifiers, erasureVerifiers: ERASURE_VERIFIERS });
    assert.deepEqual(
      r.faults.map((f) => [f.kind, f.index]),
      [
        [FaultKind.ENTRY_MODIFIED, 3],
        [FaultKind.ENTRY_MODIFIED, 5],
      ],
      summary(r),
    );
    await l2.close();
  });
});

describe('an older database gains the erasure rule when it is opened', () => {
  test('schema 2 → 3: erasures_need_event is replaced by erasures_named_by_event', async () => {
    const fx = await makeFixture('evident-erasure-');
    fixtures.push(fx);
    const db = new Database(fx.db);
    // back to schema 2, as an earlier evident left it
    db.exec(`DROP TRIGGER erasures_named_by_event;
      CREATE TRIGGER erasures_need_event BEFORE INSERT ON erasures
        WHEN NOT EXISTS (SELECT 1 FROM entries
                         WHERE log_id = NEW.log_id AND idx = NEW.erasure_idx AND action = 'evident.erasure')
        BEGIN SELECT RAISE(ABORT, 'evident: an erasure must name its audit event'); END;
      DROP TABLE alert_deliveries; DROP TABLE alerts; -- migration 7
      DROP TABLE intents; -- migration 4
      DROP TABLE checkpoint_cosignatures; DROP TABLE witness_logs; DROP TABLE witness_checkpoints; -- migration 5
      -- migration 6 (pruning)
      DROP TABLE pruned_leaves;
      DROP TABLE pruned_ranges;
      DROP TRIGGER entries_prune_only;
      CREATE TRIGGER entries_no_delete BEFORE DELETE ON entries
        BEGIN SELECT RAISE(ABORT, 'evident: entries is append-only'); END;
      DROP TRIGGER entry_secrets_erase_only;
      CREATE TRIGGER entry_secrets_erase_only BEFORE DELETE ON entry_secrets
        WHEN NOT EXISTS (SELECT 1 FROM erasures e
                         WHERE e.log_id = OLD.log_id AND e.idx = OLD.idx AND e.field = OLD.field)
        BEGIN SELECT RAISE(ABORT, 'evident: a value is deleted only by a recorded erasure'); END;
      UPDATE meta SET value = '2' WHERE key = 'schema_version';`);
    db.close();
    const l = await fx.open({ checkpointIntervalMs: 3_600_000 });
    await l.close();
    const after = new Database(fx.db, { readonly: true });
    const triggers = after
      .prepare(
        "SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'erasures' ORDER BY name",
      )
      .pluck()
      .all();
    const version = after.prepare("SELECT value FROM meta WHERE key = 'schema_version'").pluck().get();
    after.close();
    assert.equal(version, String(SQLITE_MIGRATIONS.length));
    assert.deepEqual(triggers, ['erasures_named_by_event', 'erasures_no_delete', 'erasures_no_update']);
  });
});
