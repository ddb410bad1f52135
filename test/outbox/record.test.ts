/**
 * The application side of the outbox on a real PostgreSQL: the audit event commits or rolls
 * back with the business change, a bad event is refused before anything is written, and the
 * install is idempotent.
 */
import assert from 'node:assert/strict';
import { after, before, beforeEach, test } from 'node:test';
import { ErrorCode, ValidationError } from '../../src/core/errors.ts';
import { UUID_PATTERN } from '../../src/core/event/uuid.ts';
import { installOutbox } from '../../src/outbox/install.ts';
import { recordInTransaction } from '../../src/outbox/record.ts';
import { channelOf } from '../../src/outbox/sql.ts';
import { rejectsWith } from '../ledger/support.ts';
import { withPostgres } from '../store/pg-support.ts';
import { type AppDb, appDb, patientEvent, updatePatient } from './support.ts';

await withPostgres('outbox: application side', suite);

function suite(): void {
  let app: AppDb;
  const rows = async () =>
    (
      await app.pool.query(
        `SELECT seq::text AS seq, log, event FROM "${app.schema}".evident_outbox o ORDER BY o.seq`,
      )
    ).rows as { seq: string; log: string; event: string }[];
  const patient = async (i: number) =>
    (await app.pool.query(`SELECT name FROM "${app.schema}".patients WHERE id = $1`, [`p-${i}`])).rows[0];

  before(async () => {
    app = await appDb();
  });
  after(async () => {
    await app.close();
  });
  beforeEach(async () => {
    await app.pool.query(`DELETE FROM "${app.schema}".evident_outbox`);
  });

  test('installOutbox is idempotent, also run by several processes at once, and keeps queued rows', async () => {
    await updatePatient(app, 900);
    const before = await rows();
    await Promise.all([1, 2, 3].map(() => installOutbox(app.pool, { schema: app.schema })));
    assert.deepEqual(await rows(), before);
  });

  test('a rolled-back business transaction leaves no audit event', async () => {
    const id = await updatePatient(app, 1, { fail: true });
    assert.equal(id, undefined);
    assert.equal(await patient(1), undefined);
    assert.equal((await rows()).length, 0);
  });

  test('a committed one has its business row and its event, with id and timestamp fixed at record time', async () => {
    const t0 = Date.now();
    const id = await updatePatient(app, 2, { event: patientEvent(2, { ip_address: '::FFFF:10.0.0.1' }) });
    assert.match(id!, new RegExp(UUID_PATTERN));
    assert.equal(id![14], '7', 'a UUIDv7');
    assert.deepEqual(await patient(2), { name: 'Patient 2' });
    const [row] = await rows();
    assert.equal(row!.log, 'default');
    const ev = JSON.parse(row!.event);
    assert.equal(ev.id, id);
    assert.ok(Date.parse(ev.timestamp) >= t0 - 5 && Date.parse(ev.timestamp) <= Date.now() + 5);
    assert.equal(ev.ip_address, '::ffff:10.0.0.1', 'normalised as the log would');
    assert.deepEqual(ev.new_values, { name: 'Patient 2' });
    assert.equal(ev.resource_id, 'p-2');
  });

  test('a caller-supplied id and timestamp are kept as given', async () => {
    const client = await app.pool.connect();
    try {
      await client.query('BEGIN');
      const given = { id: '01890a5d-ac96-774b-bcce-b302099a8057', timestamp: '2026-01-02T03:04:05.123Z' };
      const r = await recordInTransaction(client, patientEvent(3, given), {
        log: 'billing',
        schema: app.schema,
      });
      assert.deepEqual(r, given);
      await client.query('COMMIT');
    } finally {
      client.release();
    }
    const [row] = await rows();
    assert.equal(row!.log, 'billing');
    assert.equal(JSON.parse(row!.event).timestamp, '2026-01-02T03:04:05.123Z');
  });

  test('a bad event throws VALIDATION_FAILED naming field and rule, before any write; the app rolls back', async () => {
    const client = await app.pool.connect();
    try {
      await client.query('BEGIN');
      await client.query(`INSERT INTO "${app.schema}".patients VALUES ('p-4', 'x', 'y')`);
      const e = await rejectsWith(
        recordInTransaction(client, patientEvent(4, { actor_type: 'robot', colour: 'blue' }), {
          log: 'default',
          schema: app.schema,
        }),
        ErrorCode.VALIDATION_FAILED,
      );
      assert.ok(e instanceof ValidationError);
      const issues = e.issues.map((x) => [x.field, x.rule]).sort();
      assert.deepEqual(issues, [
        ['actor_type', 'enum'],
        ['colour', 'unknown_field'],
      ]);
      // the transaction is still usable: nothing failed inside PostgreSQL
      assert.equal((await client.query('SELECT 1 AS one')).rows[0].one, 1);
      await client.query('ROLLBACK');
    } finally {
      client.release();
    }
    assert.equal(await patient(4), undefined);
    assert.equal((await rows()).length, 0);
  });

  test('a bad log name or schema name is a USAGE error, before any write', async () => {
    await rejectsWith(recordInTransaction(app.pool, patientEvent(5), { log: 'Bad Log' }), ErrorCode.USAGE);
    await rejectsWith(
      recordInTransaction(app.pool, patientEvent(5), { log: 'default', schema: 'x"; DROP' }),
      ErrorCode.USAGE,
    );
    await rejectsWith(installOutbox(app.pool, { schema: 'Robert"); --' }), ErrorCode.USAGE);
    assert.equal((await rows()).length, 0);
  });

  test('a schema name of the longest kind (63 characters) still notifies: the channel is cut to 63 bytes', async () => {
    const long = `${app.schema}_${'x'.repeat(63 - app.schema.length - 1)}`;
    assert.equal(long.length, 63);
    await installOutbox(app.pool, { schema: long });
    try {
      const listener = await app.pool.connect();
      try {
        const heard = new Promise<string>((resolve) =>
          listener.on('notification', (n) => resolve(n.channel)),
        );
        await listener.query(`LISTEN "${channelOf(long)}"`);
        await recordInTransaction(app.pool, patientEvent(6), { log: 'default', schema: long });
        assert.equal(await heard, channelOf(long));
        await listener.query('UNLISTEN *');
      } finally {
        listener.release();
      }
    } finally {
      await app.pool.query(`DROP SCHEMA "${long}" CASCADE`);
    }
  });

  test('20 concurrent transactions, a third rolled back: exactly the committed events are queued', async () => {
    const outcomes = await Promise.all(
      Array.from({ length: 20 }, (_, i) => updatePatient(app, 100 + i, { fail: i % 3 === 0 })),
    );
    const committed = outcomes.filter((x): x is string => x !== undefined);
    assert.equal(committed.length, 13);
    const queued = (await rows()).map((r) => JSON.parse(r.event).id as string);
    assert.deepEqual(queued.sort(), committed.sort());
    const patients = await app.pool.query(
      `SELECT count(*)::int AS n FROM "${app.schema}".patients WHERE id LIKE 'p-1__'`,
    );
    assert.equal(patients.rows[0].n, 13);
  });
}
