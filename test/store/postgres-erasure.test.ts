/**
 * Forged erasures on PostgreSQL, by the service role (the least-privileged role evident ships,
 * which holds DML on erasures and entry_secrets by design): the database refuses an erasure
 * record its erasure event does not name, and verification with the erasure key reports an
 * erasure event that key did not sign and every value it erased. Also: a committed field's
 * column written beside its side value (by the owner, triggers disabled) is entry_modified.
 * The same on SQLite: test/ledger/erasure-authority.test.ts.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ErrorCode, type ValidationError } from '../../src/core/errors.ts';
import { FaultKind, type VerifyReport } from '../../src/core/verify/report.ts';
import { Ledger } from '../../src/ledger/ledger.ts';
import { createLog } from '../../src/ledger/open.ts';
import { openStore } from '../../src/store/open.ts';
import { RuleViolation } from '../../src/store/postgres/errors.ts';
import { MIGRATIONS as PG_MIGRATIONS } from '../../src/store/postgres/migrations.ts';
import type { PostgresStore } from '../../src/store/postgres/store.ts';
import { forgeErasure } from '../ledger/forge-support.ts';
import { ERASURE_KEY, ERASURE_VERIFIERS, fullEvent, rejectsWith, summary } from '../ledger/support.ts';
import { admin, dropSchema, PG_URL, randomName, serviceRoleSchema, withPostgres } from './pg-support.ts';

await withPostgres('PostgreSQL erasures', suite);

function suite(): void {
  const f = serviceRoleSchema('evident_pgerase_');
  const { schema, role } = f;
  const s = `"${schema}"`;

  /** A log of 30 full events written and checkpointed by the service role; user-3's entries are 3, 8, ... */
  async function seeded(name: string): Promise<Ledger> {
    await createLog(f.svc, { name, origin: `pg.test/${name}`, signer: f.ring });
    const l = await Ledger.open({
      store: f.svc,
      log: name,
      signer: f.ring,
      ownsStore: false,
      checkpointIntervalMs: 3_600_000,
    });
    await l.appendMany(Array.from({ length: 30 }, (_, i) => fullEvent(i)));
    await l.checkpoint();
    return l;
  }

  async function verifyAfter(l: Ledger, erasure = true): Promise<VerifyReport> {
    const trusted = (await l.checkpoint()).note;
    return l.verify({ trusted: [trusted], ...(erasure ? { erasureVerifiers: ERASURE_VERIFIERS } : {}) });
  }

  const kinds = (r: VerifyReport) => r.faults.map((f) => [f.kind, f.index, f['field'] ?? null]);

  describe('forged erasures, as the service role', () => {
    test('the public append refuses the evident.* actions (VALIDATION_FAILED on action, rule reserved)', async () => {
      const l = await seeded('reserved');
      const e = (await rejectsWith(
        l.append({
          ...fullEvent(1),
          action: 'evident.erasure',
          metadata: { subject: { actor_id: 'user-3' } },
        }),
        ErrorCode.VALIDATION_FAILED,
      )) as ValidationError;
      assert.deepEqual(
        e.issues.map((i) => [i.field, i.rule]),
        [['action', 'reserved']],
      );
    });

    test('the database refuses an erasure record, and so a value deletion, that its erasure event does not name', async () => {
      const l = await seeded('named');
      // in one transaction with the event: refused (EV003), and nothing lands
      const e = await rejectsWith(
        forgeErasure(l, {
          erase: [{ index: 3, field: 'old_values' }],
          authority: { targets: { old_values: [8] }, key: 'x+00000000', signature: '' },
        }),
        ErrorCode.STORE_FAILED,
      );
      assert.equal(e.details['sqlstate'], RuleViolation.ERASURE_UNRECORDED);
      assert.equal(await l.size(), 30);
      // the event alone goes in; then plain SQL as the service role
      const at = await forgeErasure(l, {
        erase: [],
        authority: { targets: { old_values: [8] }, key: 'x+00000000', signature: '' },
      });
      await admin(async (c) => {
        await c.query(`SET ROLE "${role}"`);
        const id = l.log.id;
        for (const [sql, values] of [
          [`INSERT INTO ${s}.erasures VALUES ($1, 3, 'old_values', $2)`, [id, at]],
          [`INSERT INTO ${s}.erasures VALUES ($1, 8, 'new_values', $2)`, [id, at]],
          [`INSERT INTO ${s}.erasures VALUES ($1, 8, 'old_values', 7)`, [id]],
          [`DELETE FROM ${s}.entry_secrets WHERE log_id = $1 AND idx = 3`, [id]],
        ] as const) {
          await assert.rejects(c.query(sql, [...values]), (err: unknown) => {
            assert.equal((err as { code?: string }).code, RuleViolation.ERASURE_UNRECORDED, sql);
            return true;
          });
        }
      });
    });

    test('an unsigned erasure naming its targets → erasure_unauthorised and value_missing for each value; unauthenticated without the key', async () => {
      const l = await seeded('unsigned');
      const at = await forgeErasure(l, {
        erase: [
          { index: 3, field: 'old_values' },
          { index: 8, field: 'new_values' },
        ],
      });
      const r = await verifyAfter(l);
      assert.deepEqual(kinds(r), [
        [FaultKind.VALUE_MISSING, 3, 'old_values'],
        [FaultKind.VALUE_MISSING, 8, 'new_values'],
        [FaultKind.ERASURE_UNAUTHORISED, at, null],
      ]);
      const blind = await verifyAfter(l, false);
      assert.ok(blind.ok, summary(blind));
      assert.deepEqual(blind.erasures, { events: 1, authorised: 0, unauthenticated: 1 });
    });

    test('an erasure by the erasure key verifies', async () => {
      const l = await seeded('genuine');
      const res = await l.erase({ erasureKey: ERASURE_KEY, actor_id: 'user-3', reason: 'GDPR art. 17' });
      assert.deepEqual([res.entries, res.values], [6, 12]);
      const r = await verifyAfter(l);
      assert.ok(r.ok, summary(r));
      assert.deepEqual(r.erasures, { events: 1, authorised: 1, unauthenticated: 0 });
    });
  });

  describe('an older schema gains the erasure rule when the owner opens it', () => {
    test("schema 1 → 2: the erasure rule reads the event's targets", async () => {
      const old = randomName('evident_pgold_');
      try {
        await admin(async (c) => {
          await c.query(`CREATE SCHEMA "${old}"`);
          await c.query(`CREATE TABLE "${old}".meta (key text COLLATE "C" PRIMARY KEY, value text NOT NULL)`);
          await c.query(PG_MIGRATIONS[0]!(`"${old}"`));
          await c.query(`INSERT INTO "${old}".meta VALUES ('schema_version', '1')`);
        });
        const o = (await openStore(`${PG_URL}?schema=${old}`)) as PostgresStore;
        await createLog(o, { name: 'old', origin: 'pg.test/old', signer: f.ring });
        const l = await Ledger.open({
          store: o,
          log: 'old',
          signer: f.ring,
          ownsStore: true,
          checkpointIntervalMs: 3_600_000,
        });
        await l.appendMany(Array.from({ length: 5 }, (_, i) => fullEvent(i)));
        const e = await rejectsWith(
          forgeErasure(l, {
            erase: [{ index: 3, field: 'old_values' }],
            authority: { targets: {}, key: 'x+00000000', signature: '' },
          }),
          ErrorCode.STORE_FAILED,
        );
        assert.equal(e.details['sqlstate'], RuleViolation.ERASURE_UNRECORDED);
        await l.close();
        const v = await admin((c) => c.query(`SELECT value FROM "${old}".meta WHERE key = 'schema_version'`));
        assert.equal(v.rows[0].value, String(PG_MIGRATIONS.length));
      } finally {
        await dropSchema(old);
      }
    });
  });

  describe('values stored where no hash covers them', () => {
    test("a committed field's column written beside its side value → entry_modified", async () => {
      const l = await seeded('shadow');
      await admin(async (c) => {
        await c.query('BEGIN');
        await c.query(`ALTER TABLE ${s}.entries DISABLE TRIGGER ALL`);
        // the true value, copied into the column the leaf does not cover
        await c.query(
          `UPDATE ${s}.entries e SET old_values = x.value FROM ${s}.entry_secrets x
             WHERE e.log_id = $1 AND e.idx = 7 AND x.log_id = e.log_id AND x.idx = e.idx AND x.field = 'old_values'`,
          [l.log.id],
        );
        await c.query(`ALTER TABLE ${s}.entries ENABLE TRIGGER ALL`);
        await c.query('COMMIT');
      });
      const r = await l.verify();
      assert.deepEqual(
        r.faults.map((f) => [f.kind, f.index, f['fields']]),
        [[FaultKind.ENTRY_MODIFIED, 7, ['old_values']]],
      );
    });
  });
}
