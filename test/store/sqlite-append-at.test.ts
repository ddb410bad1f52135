/**
 * The sealed-batch append on SQLite (Store.appendAt), written on the store's own connection or,
 * pipelined, by the append thread (src/store/sqlite/appender.ts): it writes only on the head
 * the batch was sealed on and only new ids, else nothing; the ledger then takes the general
 * path, so a stored id, a moved head or rows changed under the head are handled as before.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import BetterSqlite3 from 'better-sqlite3';
import { integrate } from '../../src/ledger/integrate.ts';
import { loadKeyRing } from '../../src/ledger/keyfile.ts';
import { Ledger } from '../../src/ledger/ledger.ts';
import { validateBatch } from '../../src/ledger/validate-batch.ts';
import { openSqliteStore, type SqliteStore } from '../../src/store/sqlite/store.ts';
import type { LogHead, PreparedAppend, WriteOptions } from '../../src/store/types.ts';
import { event, makeFixture, rejectsWith, summary } from '../ledger/support.ts';
import { carefully, deleteEntry, insertEntry, LOG_ID, readEntry } from '../ledger/tamper-support.ts';

/** A batch of `events` sealed on `head`, as the ledger seals it. */
function prepare(head: LogHead, events: Record<string, unknown>[]) {
  const units = [validateBatch(events, () => new Date())];
  const r = integrate(head, units, new Map(), { erasable: [], receivedAt: new Date().toISOString() });
  return { ids: units[0]!.map((e) => e.id), entries: r.entries, nodes: r.nodes, head: r.head };
}

const count = (st: SqliteStore) =>
  st.database.prepare('SELECT count(*) FROM entries').pluck().get() as number;

/** Both ways a batch is written: on the store's connection, and handed to the append thread. */
const WAYS: { name: string; options: () => WriteOptions }[] = [
  { name: 'on the connection', options: () => ({}) },
  { name: 'by the append thread', options: () => ({ pipeline: { committed: () => {} } }) },
];

/** Hands `batches` to the append thread at once, each expecting the head the one before leaves. */
function handOver(st: SqliteStore, first: LogHead, batches: PreparedAppend[]): Promise<boolean[]> {
  return Promise.all(
    batches.map((b, i) => st.appendAt(LOG_ID, i === 0 ? first : batches[i - 1]!.head, b, WAYS[1]!.options())),
  );
}

async function withStore(fn: (st: SqliteStore) => Promise<void>): Promise<void> {
  const fx = await makeFixture('evident-sqlite-append-at-');
  const st = await openSqliteStore(fx.db);
  try {
    await fn(st);
  } finally {
    await st.close();
    fx.cleanup();
  }
}

describe('SQLite appendAt', () => {
  for (const way of WAYS) {
    test(`${way.name}: writes on the expected head; refuses a moved head and a stored id, writing nothing`, () =>
      withStore(async (st) => {
        const head0 = await st.head(LOG_ID);
        const a = prepare(head0, [event(0), event(1)]);
        assert.equal(await st.appendAt(LOG_ID, head0, a, way.options()), true);
        const head2 = await st.head(LOG_ID);
        assert.deepEqual(head2, a.head);
        assert.equal(await st.appendAt(LOG_ID, head0, prepare(head0, [event(2)]), way.options()), false);
        // the first two rows are new, the third repeats a stored id: refused mid-insert
        const dup = prepare(head2, [event(3), event(4), { ...event(5), id: a.ids[0] }]);
        assert.equal(await st.appendAt(LOG_ID, head2, dup, way.options()), false);
        assert.equal(count(st), 2);
        assert.deepEqual(await st.head(LOG_ID), head2);
        const clean = prepare(head2, [event(3), event(4), event(5)]);
        assert.equal(await st.appendAt(LOG_ID, head2, clean, way.options()), true);
        assert.equal(count(st), 5);
        assert.equal(st.appendsInThread, way.name === 'by the append thread' ? 2 : 0);
      }));

    test(`${way.name}: the end of the log must be exactly the head (a row past it, a missing or a changed last entry)`, () =>
      withStore(async (st) => {
        const head0 = await st.head(LOG_ID);
        assert.equal(
          await st.appendAt(LOG_ID, head0, prepare(head0, [event(0), event(1)]), way.options()),
          true,
        );
        const head2 = await st.head(LOG_ID);
        const next = prepare(head2, [event(2)]);
        const db = st.database;
        const last = readEntry(db, 1);
        const cases: { name: string; tamper: () => void; undo: () => void }[] = [
          {
            name: 'a row past the head',
            tamper: () => insertEntry(db, { ...last, index: 6, id: `${last.id}x` }),
            undo: () => deleteEntry(db, 6),
          },
          {
            name: 'the last entry removed',
            tamper: () => deleteEntry(db, 1),
            undo: () => insertEntry(db, last),
          },
          {
            name: 'the last entry rehashed',
            tamper: () => db.prepare('UPDATE entries SET hash = ? WHERE idx = 1').run('ab'.repeat(32)),
            undo: () => db.prepare('UPDATE entries SET hash = ? WHERE idx = 1').run(last.hash),
          },
        ];
        for (const c of cases) {
          carefully(db, c.tamper);
          const before = count(st);
          assert.equal(await st.appendAt(LOG_ID, head2, next, way.options()), false, c.name);
          assert.equal(count(st), before, `${c.name}: nothing written`);
          assert.deepEqual(await st.head(LOG_ID), head2, `${c.name}: the head kept`);
          carefully(db, c.undo);
        }
        // restored, the same call writes: the refusals above came from the tampering
        assert.equal(await st.appendAt(LOG_ID, head2, next, way.options()), true);
        assert.equal(count(st), 3);
      }));
  }

  test('batches handed over in a row are written in that order; one refused takes those sealed on it along', () =>
    withStore(async (st) => {
      const head0 = await st.head(LOG_ID);
      const a = prepare(head0, [event(0)]);
      assert.equal(await st.appendAt(LOG_ID, head0, a, WAYS[1]!.options()), true);
      // b repeats a stored id; c and d are sealed on the heads b and c would leave
      const b = prepare(a.head, [event(1), { ...event(2), id: a.ids[0] }]);
      const c = prepare(b.head, [event(3)]);
      const d = prepare(c.head, [event(4)]);
      const refused = await handOver(st, a.head, [b, c, d]);
      assert.deepEqual(refused, [false, false, false]);
      assert.equal(count(st), 1);
      // in order, all written: each on the head the one before left
      const e = prepare(a.head, [event(5), event(6)]);
      const f = prepare(e.head, [event(7)]);
      const g = prepare(f.head, [event(8), event(9), event(10)]);
      const written = await handOver(st, a.head, [e, f, g]);
      assert.deepEqual(written, [true, true, true]);
      assert.deepEqual(await st.head(LOG_ID), g.head);
      assert.equal(count(st), 7);
    }));

  test('a thread that ends fails the batches it had not taken, writing none of them; the next batch starts another', () =>
    withStore(async (st) => {
      const pipelined = WAYS[1]!.options;
      const head0 = await st.head(LOG_ID);
      const a = prepare(head0, [event(0)]);
      assert.equal(await st.appendAt(LOG_ID, head0, a, pipelined()), true);
      // Another connection holds the write lock: the thread waits in BEGIN on b, so it can only
      // end after c and d were handed to it, and it ends before taking them.
      const other = new BetterSqlite3(st.database.name);
      other.exec('BEGIN IMMEDIATE');
      const b = prepare(a.head, [event(1)]);
      const c = prepare(b.head, [event(2)]);
      const d = prepare(c.head, [event(3)]);
      const wb = st.appendAt(LOG_ID, a.head, b, pipelined());
      const thread = (st as unknown as { appender: { worker: { postMessage(m: unknown): void } } }).appender;
      thread.worker.postMessage('close');
      const lost = [st.appendAt(LOG_ID, b.head, c, pipelined()), st.appendAt(LOG_ID, c.head, d, pipelined())];
      other.exec('ROLLBACK');
      other.close();
      assert.equal(await wb, true, 'the batch it had taken is written');
      for (const w of lost) await rejectsWith(w, 'STORE_FAILED');
      assert.deepEqual(await st.head(LOG_ID), b.head);
      assert.equal(count(st), 2);
      assert.equal(st.appendsInThread, 2);
      // the next batch starts another thread, which writes it
      assert.equal(await st.appendAt(LOG_ID, b.head, c, pipelined()), true);
      assert.equal(st.appendsInThread, 3);
      assert.equal(count(st), 3);
    }));
});

/** A ledger on its own store, closed whatever the test does. */
async function withLedger(fn: (l: Ledger, st: SqliteStore) => Promise<void>) {
  const fx = await makeFixture('evident-append-thread-');
  const st = await openSqliteStore(fx.db);
  const l = await Ledger.open({
    store: st,
    signer: await loadKeyRing(fx.keyPath),
    checkpointIntervalMs: 3_600_000,
  });
  try {
    await fn(l, st);
  } finally {
    await l.close().catch(() => undefined);
    fx.cleanup();
  }
}

describe('the append thread under the ledger', () => {
  test('concurrent appends are written by the thread; the log verifies', () =>
    withLedger(async (l, st) => {
      const receipts = await Promise.all(Array.from({ length: 2000 }, (_, i) => l.append(event(i))));
      assert.deepEqual(
        receipts.map((r) => r.index).sort((a, b) => a - b),
        Array.from({ length: 2000 }, (_, i) => i),
      );
      assert.ok(st.appendsInThread > 0, 'some batch went through the thread');
      for (const r of receipts.slice(0, 50)) assert.equal((await l.entryAt(r.index))?.hash, r.hash);
      const report = await l.verify();
      assert.ok(report.ok && report.entries === 2000, summary(report));
    }));
});
