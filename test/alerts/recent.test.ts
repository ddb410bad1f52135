/**
 * The entries a serve process appends go straight to its alert runner (src/alerts/recent.ts):
 * the runner raises the same alerts without reading them back, still reads from the database
 * what another process appended, and the buffer stays bounded when nobody takes from it.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { parseAlertsConfig } from '../../src/alerts/config.ts';
import { RecentEntries } from '../../src/alerts/recent.ts';
import { AlertRunner } from '../../src/alerts/runner.ts';
import { ErrorCode, EvidentError } from '../../src/core/errors.ts';
import type { Entry } from '../../src/core/event/entry.ts';
import { createKeyFile } from '../../src/ledger/keyfile.ts';
import { Ledger } from '../../src/ledger/ledger.ts';
import { createLog, openLedger } from '../../src/ledger/open.ts';
import { openStore } from '../../src/store/open.ts';
import { storeError } from '../../src/store/sqlite/errors.ts';
import type { Store } from '../../src/store/types.ts';
import { eventually } from '../server/raw-connection.ts';

const dir = mkdtempSync(join(tmpdir(), 'evident-alert-recent-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const entry = (index: number) => ({ index }) as Entry;
const indexes = (es: Entry[] | undefined) => es?.map((e) => e.index);

/** A new SQLite file holding the log `default`, and its key file. */
async function logFile(name: string): Promise<{ db: string; key: string }> {
  const db = join(dir, `${name}.db`);
  const key = join(dir, `${name}.key`);
  const signer = await createKeyFile(key, 'alerts.test/default');
  const setup = await openStore(db);
  await createLog(setup, { name: 'default', origin: 'alerts.test/default', signer });
  await setup.close();
  return { db, key };
}

/** An open store holding the log `default`, and the log's signer. */
async function storeWithLog(name: string) {
  const signer = await createKeyFile(join(dir, `${name}.key`), 'alerts.test/default');
  const store = await openStore(join(dir, `${name}.db`));
  await createLog(store, { name: 'default', origin: 'alerts.test/default', signer });
  return { store, signer };
}

/** `store`, with each page of entries read from the database handed to `seen` first. */
function readsSeen<S extends Store>(store: S, seen: (page: Entry[]) => void): S {
  return new Proxy(store, {
    get(target, prop) {
      if (prop === 'entries') {
        return async (...args: Parameters<Store['entries']>) => {
          const page = await store.entries(...args);
          seen(page);
          return page;
        };
      }
      const v = Reflect.get(target, prop, target);
      return typeof v === 'function' ? v.bind(target) : v;
    },
  });
}

/** A failed login of `actor`. */
const failure = (actor: string, i: number) => ({
  actor_id: actor,
  actor_type: 'user',
  ip_address: '10.0.0.9',
  action: 'login',
  resource_type: 'session',
  resource_id: `s${i}`,
  result: 'failure',
});

describe('RecentEntries', () => {
  it('hands out consecutive entries from an index once, batches in any order', () => {
    const r = new RecentEntries(100);
    r.add(1, [entry(3), entry(4)]);
    r.add(1, [entry(0), entry(1), entry(2)]);
    r.add(2, [entry(0)]);
    assert.equal(r.size, 6);
    assert.deepEqual(indexes(r.take(1, 0, 10, 2)), [0, 1], 'at most the limit');
    assert.deepEqual(indexes(r.take(1, 2, 4, 10)), [2, 3], 'below the end asked');
    assert.equal(r.take(1, 0, 10, 10), undefined, 'taken once');
    assert.equal(r.take(1, 5, 10, 10), undefined, 'never held');
    assert.equal(r.take(3, 0, 10, 10), undefined, 'another log');
    assert.deepEqual(indexes(r.take(1, 4, 10, 10)), [4]);
    assert.deepEqual(indexes(r.take(2, 0, 10, 10)), [0]);
    assert.equal(r.size, 0);
  });

  it('stops at a gap, and drops the oldest batches past its bound', () => {
    const r = new RecentEntries(5);
    r.add(1, [entry(0), entry(1)]);
    r.add(1, [entry(3)]);
    assert.deepEqual(indexes(r.take(1, 0, 10, 10)), [0, 1], 'up to the gap');
    r.add(1, [entry(4), entry(5), entry(6)]);
    r.add(1, [entry(7), entry(8)]);
    assert.equal(r.size, 5, 'the batch holding 3 went first');
    assert.equal(r.take(1, 3, 10, 10), undefined);
    assert.deepEqual(indexes(r.take(1, 4, 10, 10)), [4, 5, 6, 7, 8]);
  });

  it('a batch committed but not yet durable is waited for (empty), not read back; a failed one is read', () => {
    const r = new RecentEntries(100);
    r.committing(1, 0, 3);
    r.committing(1, 3, 2);
    assert.deepEqual(r.take(1, 0, 10, 10), [], 'on its way: wait');
    assert.deepEqual(r.take(1, 4, 10, 10), [], 'inside the second batch too');
    assert.equal(r.take(1, 5, 10, 10), undefined, 'past every announced batch: read the store');
    assert.equal(r.take(2, 0, 10, 10), undefined, 'another log');
    r.add(1, [entry(0), entry(1), entry(2)]);
    assert.deepEqual(indexes(r.take(1, 0, 10, 10)), [0, 1, 2], 'durable: handed over');
    r.abandoned(1, 3);
    assert.equal(r.take(1, 3, 10, 10), undefined, 'its commit failed: read the store');
    assert.equal(r.take(1, 0, 10, 10), undefined, 'nothing left announced');
  });

  it('stays bounded when every batch is taken as it comes (one event a batch, for hours)', () => {
    const r = new RecentEntries(100);
    for (let i = 0; i < 10_000; i++) {
      r.add(1, [entry(i)]);
      assert.deepEqual(indexes(r.take(1, i, i + 1, 10)), [i]);
    }
    assert.equal(r.size, 0);
    assert.ok(r.batches <= 100, `${r.batches} batches remembered`);
    // and what comes next is still handed out whole
    r.add(1, [entry(10_000), entry(10_001)]);
    assert.deepEqual(indexes(r.take(1, 10_000, 10_010, 10)), [10_000, 10_001]);
  });
});

describe('alert runner fed by the ledger of its process', () => {
  it('raises from what this process appended without reading it back, and reads what another process appended', async () => {
    const { db, key } = await logFile('fed');
    const recent = new RecentEntries();
    const ours = await openLedger({ db, key, ...recent.listeners() });
    // Another process on the same database: its appends reach no buffer of ours.
    const theirs = await openLedger({ db, key });
    const store = await openStore(db);
    /** The actions of the entries the runner read from the database. */
    let read: string[] = [];
    const counted = readsSeen(store, (page) => read.push(...page.map((e) => e.action)));
    const runner = new AlertRunner({
      store: counted,
      config: parseAlertsConfig({ rules: { failed_logins: { threshold: 3 } }, sinks: { log: false } }),
      log: { info() {}, warn() {}, error() {} },
      recent,
    });
    /** How many evident.alert events the log holds. */
    const raised = async () => {
      const info = (await store.getLog('default'))!;
      return (await store.query(info.id, { action: 'evident.alert' })).length;
    };
    try {
      await runner.tick(); // the cursor starts at the (empty) log's end
      await ours.appendMany([0, 1, 2].map((i) => failure('mallory', i)));
      assert.equal(recent.size, 3, 'handed over once durable');
      await runner.tick();
      // Only the alert's own event is read back: the runner appends it through the store.
      assert.deepEqual(read, ['evident.alert'], 'the three failures not read back');
      assert.equal(recent.size, 0, 'taken');
      assert.equal(await raised(), 1, 'raised from memory');
      read = [];
      await theirs.appendMany([0, 1, 2].map((i) => failure('trudy', i)));
      await runner.tick();
      assert.deepEqual(read, ['login', 'login', 'login', 'evident.alert'], 'read from the database');
      assert.equal(await raised(), 2, 'raised from the database');
    } finally {
      await runner.stop();
      await ours.close();
      await theirs.close();
      await store.close();
    }
  });
});

describe('a runner beside pipelined commits', () => {
  it('waits for the batches this process has committed and not yet made durable, instead of reading them back', async () => {
    const { db, key } = await logFile('pipelined');
    const recent = new RecentEntries();
    const ours = await openLedger({ db, key, checkpointIntervalMs: 3_600_000, ...recent.listeners() });
    const store = await openStore(db);
    let readBack = 0;
    const counted = readsSeen(store, (page) => {
      readBack += page.filter((e) => e.action === 'read').length;
    });
    const runner = new AlertRunner({
      store: counted,
      config: parseAlertsConfig({ pollMs: 20, sinks: { log: false } }),
      log: { info() {}, warn() {}, error() {} },
      recent,
    });
    const total = 8_000;
    try {
      await runner.tick(); // the cursor at the empty log's end
      runner.start();
      // 16 callers, batches of 50: commits pipelined, the runner polling every 20 ms. Without
      // the announcements its cursor would stand on a batch still in its fsync at most passes,
      // and it would read (nearly) every entry back from the database.
      let next = 0;
      await Promise.all(
        Array.from({ length: 16 }, async () => {
          while (next < total) {
            const from = next;
            next += 50;
            await ours.appendMany(
              Array.from({ length: 50 }, (_, i) => ({
                ...failure('alice', from + i),
                action: 'read',
                result: 'success',
              })),
            );
          }
        }),
      );
      await runner.tick();
      // What the runner read from the database: the alert events it appended itself (another
      // writer, whose entries no buffer holds) and the first page read from each of them.
      assert.ok(readBack < total / 20, `${readBack} of ${total} entries read back from the database`);
      const info = (await store.getLog('default'))!;
      const alerts = await store.query(info.id, { action: 'evident.alert' });
      assert.ok(alerts.length > 0, 'the reads were evaluated: bulk reads raised an alert');
    } finally {
      await runner.stop();
      await ours.close();
      await store.close();
    }
  });
});

describe('a runner whose buffer fills before its next poll', () => {
  it('takes the entries as the buffer half fills, so that none is dropped and read back', async () => {
    const { db, key } = await logFile('filling');
    const recent = new RecentEntries(10);
    const ours = await openLedger({ db, key, ...recent.listeners() });
    const store = await openStore(db);
    let readBack = 0;
    const counted = readsSeen(store, (page) => {
      readBack += page.filter((e) => e.action === 'login').length;
    });
    // An hour between polls: only a filling buffer can make it evaluate in this test.
    const runner = new AlertRunner({
      store: counted,
      config: parseAlertsConfig({
        pollMs: 3_600_000,
        rules: { failed_logins: { threshold: 20 } },
        sinks: { log: false },
      }),
      log: { info() {}, warn() {}, error() {} },
      recent,
    });
    try {
      runner.start();
      await runner.tick(); // the first pass: the cursor at the empty log's end
      // 24 failures in batches of 4 through a buffer of 10: without an early pass, 14 would be
      // dropped and read back at the next poll, an hour away
      for (let b = 0; b < 6; b++) {
        await ours.appendMany([0, 1, 2, 3].map((i) => failure('mallory', 4 * b + i)));
        await eventually(() => recent.size < 5, 2000);
      }
      assert.ok(await eventually(() => recent.size === 0, 3000), `${recent.size} still held`);
      await runner.tick();
      assert.equal(readBack, 0, 'no failure read back from the database');
      const info = (await store.getLog('default'))!;
      assert.equal((await store.query(info.id, { action: 'evident.alert' })).length, 1, 'raised at 20');
    } finally {
      await runner.stop();
      await ours.close();
      await store.close();
    }
  });
});

describe('Ledger onAppended', () => {
  const event = (i: number) => ({
    actor_id: 'a',
    actor_type: 'user',
    ip_address: '10.0.0.1',
    action: 'read',
    resource_type: 'doc',
    resource_id: `d${i}`,
    result: 'success',
  });

  it('hands over each durable batch once, never a batch whose commit failed, and a throwing listener fails no append', async () => {
    const { store, signer } = await storeWithLog('hook');
    const away = new Error('disk away');
    let failNext = false;
    const flaky = new Proxy(store, {
      get(target, prop) {
        const v = Reflect.get(target, prop, target);
        // the ledger appends through either (appendAt once it knows the head)
        if (prop === 'write' || prop === 'appendAt') {
          return async (...args: unknown[]) => {
            if (!failNext) return (v as (...a: unknown[]) => unknown).apply(target, args);
            failNext = false;
            throw away;
          };
        }
        return typeof v === 'function' ? v.bind(target) : v;
      },
    });
    const handed: number[][] = [];
    let throwing = false;
    const ledger = await Ledger.open({
      store: flaky,
      signer,
      ownsStore: false,
      onAppended: (_id, es) => {
        handed.push(es.map((e) => e.index));
        if (throwing) throw new Error('listener broken');
      },
    });
    try {
      await ledger.appendMany([0, 1, 2].map(event));
      failNext = true;
      await assert.rejects(ledger.appendMany([3, 4].map(event)), (e) => e === away);
      throwing = true;
      const receipts = await ledger.appendMany([5, 6].map(event));
      assert.deepEqual(
        receipts.map((r) => r.index),
        [3, 4],
        'the append stands whatever the listener does',
      );
      assert.deepEqual(handed, [
        [0, 1, 2],
        [3, 4],
      ]);
      const stored = await store.entries(ledger.log.id, 0, 10, 10);
      assert.deepEqual(
        stored.map((e) => e.index),
        [0, 1, 2, 3, 4],
      );
    } finally {
      await ledger.close();
      await store.close();
    }
  });

  it('announces each batch before its commit, then hands it over, or withdraws it when the commit fails', async () => {
    const { store, signer } = await storeWithLog('announce');
    // As SQLite reports an I/O error at COMMIT; the store turns it into STORE_FAILED.
    const away = Object.assign(new Error('disk I/O error'), { code: 'SQLITE_IOERR' });
    let failNext = false;
    // The batch's rows are written (and announced), then the transaction fails: it rolls back.
    const failing = new Proxy(store, {
      get(target, prop) {
        const v = Reflect.get(target, prop, target);
        // A sealed batch handed over whole (appendAt): refused by the failing COMMIT.
        if (prop === 'appendAt') {
          return async (...args: unknown[]) => {
            if (!failNext) return (v as (...a: unknown[]) => unknown).apply(target, args);
            failNext = false;
            throw storeError(away);
          };
        }
        if (prop === 'write') {
          return (logId: number, fn: (tx: unknown) => Promise<unknown>, options: unknown) =>
            target.write(
              logId,
              async (tx) => {
                const r = await fn(tx);
                if (failNext) {
                  failNext = false;
                  throw away;
                }
                return r;
              },
              options as never,
            );
        }
        return typeof v === 'function' ? v.bind(target) : v;
      },
    });
    const told: string[] = [];
    const ledger = await Ledger.open({
      store: failing,
      signer,
      ownsStore: false,
      onCommitting: (_id, first, count) => told.push(`committing ${first}+${count}`),
      onAppended: (_id, es) => told.push(`appended ${es.map((e) => e.index).join(',')}`),
      onAbandoned: (_id, first) => told.push(`abandoned ${first}`),
    });
    try {
      await ledger.appendMany([0, 1, 2].map(event));
      failNext = true;
      await assert.rejects(
        ledger.appendMany([3, 4].map(event)),
        (e) =>
          e instanceof EvidentError &&
          e.code === ErrorCode.STORE_FAILED &&
          e.details['cause'] === 'SQLITE_IOERR',
      );
      await ledger.appendMany([5, 6].map(event));
      assert.deepEqual(told, [
        'committing 0+3',
        'appended 0,1,2',
        'committing 3+2',
        'abandoned 3',
        'committing 3+2',
        'appended 3,4',
      ]);
    } finally {
      await ledger.close();
      await store.close();
    }
  });
});
