/**
 * The store contract (src/store/types.ts) as one suite, run against every store (STYLE.md,
 * habit 6): contract.test.ts runs it on SQLite and PostgreSQL. It drives the real Ledger on
 * the store, and the raw Store and WriteTx where the ledger cannot reach (rollback, a corrupt
 * tree node). A harness gives fresh stores on one database; a second store stands for a
 * second process (its own connections).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fromBase64, toHex } from '../../src/core/bytes.ts';
import { openCheckpoint } from '../../src/core/checkpoint.ts';
import { ErrorCode } from '../../src/core/errors.ts';
import { validateEvent } from '../../src/core/event/validate.ts';
import { leafHash } from '../../src/core/hash.ts';
import { verifyConsistency, verifyInclusion } from '../../src/core/merkle/index.ts';
import { verifierFromPublicKey } from '../../src/core/note-keys.ts';
import type { Receipt } from '../../src/ledger/integrate.ts';
import { integrate } from '../../src/ledger/integrate.ts';
import { createKeyFile, type KeyRing, loadKeyRing } from '../../src/ledger/keyfile.ts';
import { Ledger, type LedgerOptions } from '../../src/ledger/ledger.ts';
import { createLog } from '../../src/ledger/open.ts';
import type { Store } from '../../src/store/types.ts';
import { event, rejectsWith, summary } from '../ledger/support.ts';

export interface StoreHarness {
  /** A new store on the harness's database, with connections of its own (like another process). */
  open(): Promise<Store>;
  /** Removes the database (every store is closed first). */
  dispose(): Promise<void>;
}

const b64 = (s: string) => fromBase64(s);

/** Every receipt's index holds its event, the indexes are 0..n-1, and the log verifies. */
async function allLanded(ledger: Ledger, receipts: readonly Receipt[]): Promise<void> {
  const n = receipts.length;
  assert.deepEqual(
    receipts.map((r) => r.index).sort((a, b) => a - b),
    Array.from({ length: n }, (_, i) => i),
    'every index exactly once',
  );
  assert.equal(new Set(receipts.map((r) => r.id)).size, n, 'no id twice');
  assert.equal(await ledger.size(), n);
  const byIndex = new Map(receipts.map((r) => [r.index, r]));
  for (let from = 0; from < n; from += 500) {
    for (const e of await ledger.store.entries(ledger.log.id, from, from + 500, 500)) {
      const r = byIndex.get(e.index)!;
      assert.deepEqual([e.id, e.hash], [r.id, r.hash], `entry ${e.index}`);
    }
  }
  const report = await ledger.verify();
  assert.ok(report.ok, summary(report));
  assert.equal(report.entries, n);
}

export function storeContract(name: string, make: () => Promise<StoreHarness>): void {
  describe(`store contract: ${name}`, () => {
    let h: StoreHarness;
    let store: Store;
    let ring: KeyRing;
    let dir: string;
    const stores: Store[] = [];
    const ledgers: Ledger[] = [];

    before(async () => {
      h = await make();
      store = await h.open();
      stores.push(store);
      dir = mkdtempSync(join(tmpdir(), 'evident-contract-'));
      await createKeyFile(join(dir, 'signing.key'), 'contract.test/default');
      ring = await loadKeyRing(join(dir, 'signing.key'));
    });

    after(async () => {
      for (const l of ledgers) await l.close().catch(() => undefined);
      for (const s of stores) await s.close().catch(() => undefined);
      await h.dispose();
      rmSync(dir, { recursive: true, force: true });
    });

    const origin = (log: string) => `contract.test/${log}`;
    const verifier = (log: string) => {
      const s = ring.forOrigin(origin(log));
      return verifierFromPublicKey(s.name, s.publicKey);
    };
    /** Opens a signed note of `log` with its key: tree size and root hash. */
    const opened = (log: string, note: string) => {
      const cp = openCheckpoint(note, verifier(log), origin(log)).checkpoint;
      return { size: cp.size, root: cp.rootHash };
    };

    async function newLog(log: string, o: Partial<LedgerOptions> = {}, on: Store = store): Promise<Ledger> {
      if (!(await on.getLog(log))) await createLog(on, { name: log, origin: origin(log), signer: ring });
      const l = await Ledger.open({
        store: on,
        log,
        signer: ring,
        ownsStore: false,
        checkpointIntervalMs: 3_600_000,
        ...o,
      });
      ledgers.push(l);
      return l;
    }

    test('logs are created with their head at GENESIS, found by name, and listed', async () => {
      const info = await createLog(store, {
        name: 'logs',
        origin: origin('logs'),
        signer: ring,
        erasable: ['old_values'],
      });
      assert.equal(info.name, 'logs');
      assert.equal(info.origin, origin('logs'));
      assert.deepEqual(info.erasable, ['old_values']);
      assert.match(info.createdAt, /^\d{4}-\d{2}-\d{2}T/);
      assert.deepEqual(await store.getLog('logs'), info);
      assert.equal(await store.getLog('nope'), undefined);
      assert.ok((await store.listLogs()).some((l) => l.id === info.id && l.vkey === info.vkey));
      const head = await store.head(info.id);
      assert.deepEqual([head.size, head.lastHash, head.frontier.length], [0, 'GENESIS', 0]);
      await rejectsWith(
        createLog(store, { name: 'logs', origin: origin('logs2'), signer: ring }),
        ErrorCode.USAGE,
      );
    });

    test('appends resolve with receipts; indexes run 0..n-1, each entry linked to the one before', async () => {
      const l = await newLog('append');
      const first = await l.append(event(0));
      assert.deepEqual([first.index, first.duplicate], [0, undefined]);
      const more = await l.appendMany([event(1), event(2), event(3)]);
      assert.deepEqual(
        more.map((r) => r.index),
        [1, 2, 3],
      );
      let prev = 'GENESIS';
      for (const [i, r] of [first, ...more].entries()) {
        const e = (await l.entryAt(i))!;
        assert.deepEqual([e.id, e.hash, e.prev_hash, e.resource_id], [r.id, r.hash, prev, `p-${i}`]);
        assert.equal((await l.entry(r.id))?.index, i);
        prev = e.hash;
      }
      const head = await store.head(l.log.id);
      assert.deepEqual([head.size, head.lastHash], [4, prev]);
      assert.deepEqual(
        (await store.entries(l.log.id, 1, 3, 10)).map((e) => e.index),
        [1, 2],
      );
      assert.deepEqual(
        (await store.entries(l.log.id, 0, 100, 2)).map((e) => e.index),
        [0, 1],
      );
      assert.equal(await store.entryById(l.log.id, 'no-such-id'), undefined);
    });

    test('idempotency: a retry returns the original receipt, other content is a conflict', async () => {
      const l = await newLog('idem');
      const id = '01890a5d-ac96-774b-bcce-b302099a8057';
      const ts = '2026-01-02T03:04:05.000Z';
      await l.append(event(0));
      const first = await l.append(event(1, { id, timestamp: ts }));
      assert.deepEqual(await l.append(event(1, { id, timestamp: ts })), { ...first, duplicate: true });
      const e = await rejectsWith(
        l.append(event(1, { id, timestamp: ts, result: 'denied' })),
        ErrorCode.ID_CONFLICT,
      );
      assert.equal(e.details['index'], 1);
      await rejectsWith(
        l.appendMany([event(5), event(1, { id, timestamp: ts, action: 'export' })]),
        ErrorCode.ID_CONFLICT,
      );
      assert.equal(await l.size(), 2, 'nothing was written');
      // another store on the same database (another process) recognises the retry
      const other = await h.open();
      stores.push(other);
      const l2 = await newLog('idem', {}, other);
      assert.deepEqual(await l2.append(event(1, { id, timestamp: ts })), { ...first, duplicate: true });
      assert.equal(await l2.size(), 2);
    });

    test('appendMany is all or nothing', async () => {
      const l = await newLog('atomic');
      await l.append(event(0));
      const { actor_id: _a, ...noActor } = event(2);
      await rejectsWith(l.appendMany([event(1), noActor, event(3)]), ErrorCode.VALIDATION_FAILED);
      assert.equal(await l.size(), 1);
      assert.equal((await l.appendMany([event(1), event(2)])).at(-1)!.index, 2);
    });

    test('a batch larger than one statement (2 500 events in one appendMany) lands whole, in order', async () => {
      const l = await newLog('large');
      await l.append(event(0));
      const rs = await l.appendMany(
        Array.from({ length: 2500 }, (_, i) => event(i + 1, { old_values: { i } })),
      );
      assert.deepEqual([rs[0]!.index, rs.at(-1)!.index], [1, 2500]);
      assert.deepEqual((await l.entryAt(2500))!.old_values, { i: 2499 });
      const r = await l.verify();
      assert.ok(r.ok, summary(r));
    });

    test('a write transaction that fails leaves nothing behind', async () => {
      const l = await newLog('rollback');
      await l.append(event(0));
      const ev = validateEvent(event(1));
      await assert.rejects(
        store.write(l.log.id, async (tx) => {
          const r = integrate(await tx.head(), [[ev]], new Map(), {
            erasable: l.log.erasable,
            receivedAt: new Date().toISOString(),
          });
          await tx.insertEntries(r.entries, r.nodes, r.head);
          assert.equal((await tx.head()).size, 2, 'the transaction sees its own head');
          throw new Error('the caller gave up');
        }),
      );
      assert.equal((await store.head(l.log.id)).size, 1);
      assert.equal(await store.entryById(l.log.id, ev.id), undefined);
      assert.equal((await l.append(event(2))).index, 1, 'the next append takes the free index');
    });

    test("queries: filters, time ranges, cursors, and the brief's three queries", async () => {
      const l = await newLog('queries');
      const at = (minute: number) => new Date(Date.UTC(2026, 2, 1, 12, minute)).toISOString();
      const ev = (i: number, o: Record<string, unknown>) => event(i, { resource_id: 'p-1', ...o });
      await l.appendMany([
        ev(0, { actor_id: 'alice', action: 'read', result: 'success', timestamp: at(0) }),
        ev(1, { actor_id: 'alice', action: 'update', result: 'success', timestamp: at(5) }),
        ev(2, {
          actor_id: 'alice',
          action: 'export',
          resource_id: 'p-2',
          result: 'denied',
          timestamp: at(10),
        }),
        ...[20, 21, 22, 23].map((m, i) =>
          ev(3 + i, {
            actor_id: 'bob',
            action: 'login',
            resource_type: 'session',
            resource_id: 'login',
            result: 'failure',
            timestamp: at(m),
          }),
        ),
      ]);
      // out of timestamp order: the order of the log is the order of arrival
      await l.appendMany([
        ev(7, { actor_id: 'bob', action: 'read', result: 'success', timestamp: at(25) }),
        ev(8, { actor_id: 'carol', action: 'read', resource_id: 'p-3', result: 'failure', timestamp: at(1) }),
        ev(9, { actor_id: 'carol', action: 'read', resource_id: 'p-3', result: 'denied', timestamp: at(2) }),
        ev(10, {
          actor_id: 'Alice',
          action: 'read',
          result: 'success',
          timestamp: '2026-03-01T12:04:59.999999999Z',
        }),
      ]);
      const actions = (es: { action: string }[]) => es.map((e) => e.action);
      // 1. one actor's actions over a time range (exact match: Alice is not alice)
      assert.deepEqual(actions(await l.query({ actor_id: 'alice', since: at(0), until: at(10) })), [
        'read',
        'update',
      ]);
      assert.deepEqual(actions(await l.query({ actor_id: 'alice', since: at(5) })), ['update', 'export']);
      assert.deepEqual(actions(await l.query({ actor_id: 'Alice', until: at(5) })), ['read']);
      assert.deepEqual(await l.query({ actor_id: 'Alice', since: at(5) }), []);
      // 2. all access to one resource
      assert.deepEqual(
        (await l.query({ resource_type: 'patient_record', resource_id: 'p-1' })).map((e) => e.actor_id),
        ['alice', 'alice', 'bob', 'Alice'],
      );
      // 3. failures and denials per actor since a time, above a threshold
      assert.deepEqual(await l.failuresByActor(at(15), 3), [
        { actor_id: 'bob', failures: 4, last_timestamp: at(23) },
      ]);
      assert.deepEqual(await l.failuresByActor(at(0), 0), [
        { actor_id: 'bob', failures: 4, last_timestamp: at(23) },
        { actor_id: 'carol', failures: 2, last_timestamp: at(2) },
        { actor_id: 'alice', failures: 1, last_timestamp: at(10) },
      ]);
      assert.deepEqual(await l.failuresByActor(at(30), 0), []);
      // the other filters, result lists, limits, cursors, newest first
      assert.equal((await l.query({ result: ['failure', 'denied'] })).length, 7);
      assert.deepEqual(
        (await l.query({ result: 'denied' })).map((e) => e.index),
        [2, 9],
      );
      assert.deepEqual(
        (await l.query({ action: 'login', actor_type: 'user', ip_address: '10.0.4.28' })).map((e) => e.index),
        [4],
      );
      const page1 = await l.query({ limit: 4 });
      const page2 = await l.query({ limit: 4, fromIndex: page1.at(-1)!.index + 1 });
      assert.deepEqual(
        [...page1, ...page2].map((e) => e.index),
        [0, 1, 2, 3, 4, 5, 6, 7],
      );
      assert.deepEqual(
        (await l.query({ descending: true, limit: 2 })).map((e) => e.index),
        [10, 9],
      );
      assert.deepEqual(
        (await l.query({ descending: true, fromIndex: 5, limit: 2 })).map((e) => e.index),
        [5, 4],
      );
      assert.deepEqual(await l.query({ actor_id: 'nobody' }), []);
    });

    test('inclusion and consistency proofs verify against the signed checkpoint roots', async () => {
      const l = await newLog('proofs');
      const sizes = [1, 2, 3, 5, 8, 13, 21];
      const notes: string[] = [];
      for (let n = 0, k = 0; k < sizes.length; k++) {
        const evs = [];
        for (; n < sizes[k]!; n++) evs.push(event(n));
        await l.appendMany(evs);
        notes.push((await l.checkpoint()).note);
      }
      assert.deepEqual(
        (await store.checkpoints(l.log.id)).map((c) => c.size),
        sizes,
      );
      assert.equal((await store.latestCheckpoint(l.log.id))?.size, 21);
      assert.equal((await store.checkpointAt(l.log.id, 8))?.note, notes[4]);
      assert.equal(await store.checkpointAt(l.log.id, 9), undefined);
      const cps = notes.map((n) => opened('proofs', n));
      for (const cp of cps) {
        for (let i = 0; i < cp.size; i++) {
          const p = await l.proveInclusion(i, cp.size);
          const leaf = leafHash(fromBase64(p.leaf));
          assert.equal(toHex(leaf), (await l.entryAt(i))!.hash);
          verifyInclusion(leaf, i, cp.size, p.hashes.map(b64), cp.root);
        }
        for (const to of cps) {
          if (cp.size > to.size) continue;
          verifyConsistency(
            cp.size,
            to.size,
            (await l.proveConsistency(cp.size, to.size)).map(b64),
            cp.root,
            to.root,
          );
        }
      }
      // nodes: level 0 is the entry hash; a node that does not exist is an error, not a guess
      const [leaf3] = await store.nodes(l.log.id, [{ level: 0, index: 3 }]);
      assert.equal(toHex(leaf3!), (await l.entryAt(3))!.hash);
      assert.equal((await store.nodes(l.log.id, [{ level: 4, index: 0 }]))[0]!.length, 32);
      await rejectsWith(store.nodes(l.log.id, [{ level: 4, index: 1 }]), ErrorCode.STORE_FAILED);
      const r = await l.verify({ trusted: [notes.at(-1)!] });
      assert.ok(r.ok, summary(r));
      assert.equal(r.verified_size, 21);
    });

    test('a checkpoint is never signed for a tree inconsistent with the last one', async () => {
      const l = await newLog('inconsistent');
      await l.appendMany(Array.from({ length: 8 }, (_, i) => event(i)));
      assert.equal((await l.checkpoint()).size, 8);
      // 8 more entries whose stored subtree [8, 16) (level 3, index 1) is wrong
      const evs = Array.from({ length: 8 }, (_, i) => validateEvent(event(8 + i)));
      await store.write(l.log.id, async (tx) => {
        const r = integrate(await tx.head(), [evs], new Map(), {
          erasable: l.log.erasable,
          receivedAt: new Date().toISOString(),
        });
        const nodes = r.nodes.map((n) =>
          n.level === 3 && n.index === 1 ? { ...n, hash: new Uint8Array(32) } : n,
        );
        await tx.insertEntries(r.entries, nodes, r.head);
      });
      await rejectsWith(l.checkpoint(), ErrorCode.CHECKPOINT_INCONSISTENT);
      assert.equal((await store.latestCheckpoint(l.log.id))?.size, 8, 'nothing was signed');
    });

    test('erasure: values and salts go, the entries say so, and every proof still holds', async () => {
      const l = await newLog('erasure');
      await l.appendMany(
        Array.from({ length: 12 }, (_, i) =>
          event(i, {
            actor_id: i % 3 === 0 ? 'alice' : `other-${i}`,
            old_values: { email: `old-${i}@example.com` },
            ...(i === 3 ? {} : { new_values: { email: `new-${i}@example.com` } }),
          }),
        ),
      );
      const before = await l.checkpoint();
      const r = await l.erase({ actor_id: 'alice', reason: 'GDPR art. 17 request #42' });
      assert.deepEqual([r.entries, r.values, r.receipt.index], [4, 7, 12]);
      for (let i = 0; i < 12; i++) {
        const e = (await l.entryAt(i))!;
        if (i % 3 === 0) {
          assert.deepEqual([e.old_values, e.new_values, e.salts], [undefined, undefined, undefined]);
          assert.deepEqual(e.erased, i === 3 ? ['old_values'] : ['new_values', 'old_values']);
          assert.equal(e.erased_by, 12);
          assert.ok(e.commitments?.old_values, 'the commitment stays in the leaf');
        } else {
          assert.deepEqual(e.old_values, { email: `old-${i}@example.com` });
          assert.equal(e.erased, undefined);
        }
      }
      assert.deepEqual(
        (await store.erasures(l.log.id, 0, 100)).map((x) => [x.index, x.field, x.erasureIndex]),
        [
          [0, 'new_values', 12],
          [0, 'old_values', 12],
          [3, 'old_values', 12],
          [6, 'new_values', 12],
          [6, 'old_values', 12],
          [9, 'new_values', 12],
          [9, 'old_values', 12],
        ],
      );
      assert.equal((await l.entryAt(12))!.action, 'evident.erasure');
      const after = opened('erasure', (await l.checkpoint()).note);
      const old = opened('erasure', before.note);
      for (const cp of [old, after]) {
        for (const i of [0, 3, 4]) {
          const p = await l.proveInclusion(i, cp.size);
          verifyInclusion(leafHash(fromBase64(p.leaf)), i, cp.size, p.hashes.map(b64), cp.root);
        }
      }
      const v = await l.verify({ verifiers: [verifier('erasure')], trusted: [before.note] });
      assert.ok(v.ok, summary(v));
      assert.equal(v.verified_size, 13);
    });

    test('API keys: created, listed, revoked once, never rewritten', async () => {
      const rec = {
        id: 'k1',
        secretHash: 'ab'.repeat(32),
        logs: ['default'],
        scopes: ['ingest' as const],
        createdAt: '2026-01-01T00:00:00.000Z',
      };
      await store.createApiKey(rec);
      await store.createApiKey({
        ...rec,
        id: 'k2',
        logs: ['*'],
        scopes: ['read', 'verify'],
        description: 'auditor',
      });
      assert.deepEqual(await store.getApiKey('k1'), rec);
      assert.deepEqual((await store.getApiKey('k2'))?.scopes, ['read', 'verify']);
      assert.equal(await store.getApiKey('nope'), undefined);
      assert.deepEqual(
        (await store.listApiKeys()).map((k) => k.id),
        ['k1', 'k2'],
      );
      assert.equal(await store.revokeApiKey('k1', '2026-01-02T00:00:00.000Z'), true);
      assert.equal(await store.revokeApiKey('k1', '2026-01-03T00:00:00.000Z'), true, 'already revoked');
      assert.equal(
        (await store.getApiKey('k1'))!.revokedAt,
        '2026-01-02T00:00:00.000Z',
        'the first one stands',
      );
      assert.equal(await store.revokeApiKey('nope', '2026-01-02T00:00:00.000Z'), false);
      await assert.rejects(store.createApiKey(rec), 'an id is never reused');
    });

    test('1000 concurrent appends: indexes 0..999 once each, and the log verifies', async () => {
      const l = await newLog('concurrent');
      const receipts = await Promise.all(Array.from({ length: 1000 }, (_, i) => l.append(event(i))));
      for (const [i, r] of receipts.entries()) {
        if (i % 97 === 0) assert.equal((await l.entryAt(r.index))?.resource_id, `p-${i}`);
      }
      await allLanded(l, receipts);
    });

    test('two stores (two processes) appending to one log at once: no fork, no duplicate', async () => {
      const other = await h.open();
      stores.push(other);
      const a = await newLog('shared');
      const b = await newLog('shared', {}, other);
      const send = (l: Ledger, writer: string) =>
        Promise.all(Array.from({ length: 300 }, (_, i) => l.append(event(i, { metadata: { writer, i } }))));
      const [ra, rb] = await Promise.all([send(a, 'a'), send(b, 'b')]);
      await allLanded(a, [...ra, ...rb]);
      for (const [writer, rs] of [
        ['a', ra],
        ['b', rb],
      ] as const) {
        for (const r of rs.filter((_, i) => i % 25 === 0)) {
          assert.equal(((await a.entryAt(r.index))!.metadata as { writer: string }).writer, writer);
        }
      }
    });

    test('different logs append in parallel, each its own chain', async () => {
      const logs = await Promise.all(['par-1', 'par-2', 'par-3', 'par-4'].map((n) => newLog(n)));
      const receipts = await Promise.all(
        logs.map((l) => Promise.all(Array.from({ length: 200 }, (_, i) => l.append(event(i))))),
      );
      for (const [k, l] of logs.entries()) await allLanded(l, receipts[k]!);
    });
  });
}
