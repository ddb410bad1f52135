/**
 * The PostgreSQL store when things go wrong: the sequencing lock held by another writer, a
 * connection lost mid-transaction, a server that does not answer, a durability setting turned
 * off, processes that start (and migrate) at once, a schema newer than the code. Transient
 * failures are STORE_BUSY (503 and Retry-After upstream); no pool client is ever leaked.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { ErrorCode } from '../../src/core/errors.ts';
import { generateSigner } from '../../src/core/note-keys.ts';
import { Ledger } from '../../src/ledger/ledger.ts';
import { createLog } from '../../src/ledger/open.ts';
import { MIGRATIONS } from '../../src/store/postgres/migrations.ts';
import { Statements } from '../../src/store/postgres/sql.ts';
import { openPostgresStore, type PostgresStore } from '../../src/store/postgres/store.ts';
import { event, rejectsWith } from '../ledger/support.ts';
import { admin, dropSchema, PG_URL, randomName, withPostgres } from './pg-support.ts';

await withPostgres('PostgreSQL store failures', suite);

/** Clients checked out of a store's pool (node-postgres Pool counters). */
function checkedOut(store: PostgresStore): number {
  const p = store.pool as unknown as { totalCount: number; idleCount: number };
  return p.totalCount - p.idleCount;
}

function suite(): void {
  const schema = randomName('evident_pgfail_');
  const s = `"${schema}"`;
  const stores: PostgresStore[] = [];
  const open = async (o: Parameters<typeof openPostgresStore>[1] = {}) => {
    const st = await openPostgresStore(PG_URL, { schema, ...o });
    stores.push(st);
    return st;
  };
  /** A ledger on a new log of `store`, with its own key. */
  const ledger = async (store: PostgresStore, name: string) => {
    const { signer } = generateSigner(`fail.test/${name}`);
    await createLog(store, { name, origin: signer.name, signer });
    return Ledger.open({ store, log: name, signer, ownsStore: false });
  };

  after(async () => {
    for (const st of stores) await st.close().catch(() => undefined);
    await dropSchema(schema);
  });

  describe('sequencing lock', () => {
    test("a writer waits for the log's head lock; past lock_timeout it gets STORE_BUSY; other logs go on", async () => {
      const store = await open({ lockTimeoutMs: 300 });
      const a = await ledger(store, 'locked');
      const b = await ledger(store, 'free');
      await a.append(event(0));
      await admin(async (c) => {
        await c.query('BEGIN');
        await c.query(`SELECT 1 FROM ${s}.logs WHERE log_id = $1 FOR UPDATE`, [a.log.id]);
        const busy = await rejectsWith(a.append(event(1)), ErrorCode.STORE_BUSY);
        assert.equal(busy.details['sqlstate'], '55P03');
        assert.ok((busy.details['retry_after_ms'] as number) > 0);
        assert.equal((await b.append(event(0))).index, 0, 'another log is not blocked');
        await c.query('ROLLBACK');
      });
      assert.equal((await a.append(event(2))).index, 1, 'the lock released, the log goes on where it was');
      assert.equal(checkedOut(store), 0);
    });

    test('write() on a log that does not exist → NOT_FOUND', async () => {
      const store = await open();
      await rejectsWith(
        store.write(999_999, async () => undefined),
        ErrorCode.NOT_FOUND,
      );
      assert.equal(checkedOut(store), 0);
    });
  });

  describe('lost connections', () => {
    test('a connection killed mid-transaction → STORE_BUSY, nothing written, the next write reconnects', async () => {
      const store = await open({ poolSize: 1 });
      const l = await ledger(store, 'killed');
      await l.append(event(0));
      const { rows } = await store.pool.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
      const pid = rows[0]!.pid;
      const lost = await rejectsWith(
        store.write(l.log.id, async (tx) => {
          await admin((c) => c.query('SELECT pg_terminate_backend($1)', [pid]));
          return tx.lastCheckpoint();
        }),
        ErrorCode.STORE_BUSY,
      );
      assert.ok(lost.details['retry_after_ms']);
      assert.equal(checkedOut(store), 0, 'the broken client was not leaked');
      assert.equal((await l.append(event(1))).index, 1);
      assert.equal(await l.size(), 2);
    });

    test('a server that does not answer → STORE_BUSY at open', async () => {
      const url = new URL(PG_URL);
      url.port = '1';
      await rejectsWith(
        openPostgresStore(url.toString(), { schema, connectTimeoutMs: 2000 }),
        ErrorCode.STORE_BUSY,
      );
    });
  });

  describe('durability', () => {
    test('a write transaction raises synchronous_commit=off to on, and keeps stronger settings', async () => {
      await admin(async (c) => {
        for (const [session, inTx] of [
          ['off', 'on'],
          ['local', 'local'],
          ['on', 'on'],
          ['remote_apply', 'remote_apply'],
        ]) {
          await c.query(`SET synchronous_commit = ${session}`);
          await c.query(new Statements(schema).beginAndLock(0, 1000));
          assert.equal((await c.query('SHOW synchronous_commit')).rows[0].synchronous_commit, inTx, session);
          assert.equal((await c.query('SHOW lock_timeout')).rows[0].lock_timeout, '1s');
          await c.query('ROLLBACK');
        }
      });
    });
  });

  describe('migrations', () => {
    const fresh = randomName('evident_pgmig_');
    after(() => dropSchema(fresh));

    test('processes starting at once migrate once', async () => {
      const opened = await Promise.all(
        Array.from({ length: 5 }, () => openPostgresStore(PG_URL, { schema: fresh, poolSize: 2 })),
      );
      for (const st of opened) await st.close();
      const { rows } = await admin((c) => c.query(`SELECT key, value FROM "${fresh}".meta`));
      assert.deepEqual(rows, [{ key: 'schema_version', value: String(MIGRATIONS.length) }]);
    });

    test('a schema newer than this evident → STORE_FAILED; none yet with migrate: false or read-only → STORE_NOT_INITIALIZED', async () => {
      const other = randomName('evident_pgmig_');
      try {
        await rejectsWith(
          openPostgresStore(PG_URL, { schema: other, migrate: false }),
          ErrorCode.STORE_NOT_INITIALIZED,
        );
        await rejectsWith(
          openPostgresStore(PG_URL, { schema: other, readonly: true }),
          ErrorCode.STORE_NOT_INITIALIZED,
        );
      } finally {
        await dropSchema(other);
      }
      await admin((c) => c.query(`UPDATE "${fresh}".meta SET value = '99'`));
      await rejectsWith(openPostgresStore(PG_URL, { schema: fresh }), ErrorCode.STORE_FAILED);
    });

    test('a bad schema name → USAGE', async () => {
      await rejectsWith(openPostgresStore(PG_URL, { schema: 'Robert"; DROP' }), ErrorCode.USAGE);
    });
  });

  describe('a read-only store', () => {
    let ro: PostgresStore;
    before(async () => {
      await open(); // migrated
      ro = await open({ readonly: true });
    });

    test('reads, and refuses every write', async () => {
      assert.deepEqual(await ro.listApiKeys(), []);
      await rejectsWith(
        ro.write(1, async () => undefined),
        ErrorCode.STORE_FAILED,
      );
      await rejectsWith(
        ro.createLog({ name: 'x', origin: 'x/x', vkey: 'x', erasable: [] }),
        ErrorCode.STORE_FAILED,
      );
    });
  });
}
