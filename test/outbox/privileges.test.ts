/**
 * The least privileges docs/outbox.md lists are enough: the application's role needs INSERT on
 * the outbox and nothing more; the relay's role SELECT, UPDATE (for FOR UPDATE) and DELETE on it
 * and INSERT on the rejected table. Neither may create anything: the install only looks.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import pg from 'pg';
import { installOutbox } from '../../src/outbox/install.ts';
import { recordInTransaction } from '../../src/outbox/record.ts';
import { startOutboxRelay } from '../../src/outbox/relay.ts';
import { admin, randomName, urlAs, withPostgres } from '../store/pg-support.ts';
import { type AppDb, appDb, type LedgerSide, ledgerSide, patientEvent } from './support.ts';

await withPostgres('outbox privileges', suite);

function suite(): void {
  let app: AppDb;
  let side: LedgerSide;
  const appRole = randomName('evident_obapp_');
  const relayRole = randomName('evident_obrelay_');

  before(async () => {
    app = await appDb();
    side = await ledgerSide('sqlite');
    const s = `"${app.schema}"`;
    await admin(async (c) => {
      for (const r of [appRole, relayRole]) {
        await c.query(`CREATE ROLE ${r} LOGIN`);
        await c.query(`GRANT USAGE ON SCHEMA ${s} TO ${r}`);
      }
      await c.query(`GRANT INSERT ON ${s}.evident_outbox TO ${appRole}`);
      await c.query(`GRANT SELECT, UPDATE, DELETE ON ${s}.evident_outbox TO ${relayRole}`);
      await c.query(`GRANT INSERT ON ${s}.evident_outbox_rejected TO ${relayRole}`);
    });
  });
  after(async () => {
    await side.close();
    await app.close();
    await admin(async (c) => {
      for (const r of [appRole, relayRole]) await c.query(`DROP ROLE IF EXISTS ${r}`);
    });
  });

  test('an application role with INSERT only records; a relay role with its four grants relays', async () => {
    const client = new pg.Client({ connectionString: urlAs(appRole) });
    await client.connect();
    let id: string;
    try {
      await installOutbox(client, { schema: app.schema }); // present: only looks
      await client.query('BEGIN');
      id = (await recordInTransaction(client, patientEvent(1), { log: 'default', schema: app.schema })).id;
      await client.query(
        `INSERT INTO "${app.schema}".evident_outbox (log, event) VALUES ('default', 'junk')`,
      );
      await client.query('COMMIT');
    } finally {
      await client.end();
    }
    const relay = await startOutboxRelay({
      connectionString: `${urlAs(relayRole)}?schema=${app.schema}`,
      ledgerFor: side.ledgerFor,
    });
    try {
      await relay.drained();
      assert.deepEqual(relay.stats, { moved: 1, duplicates: 0, rejected: 1, passes: relay.stats.passes });
    } finally {
      await relay.stop();
    }
    assert.deepEqual(
      (await side.entries('default')).map((e) => e['id']),
      [id],
    );
    assert.equal(await app.outboxCount(), 0);
    assert.equal((await app.rejected())[0]?.code, 'JSON_INVALID');
  });
}
