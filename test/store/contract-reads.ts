/**
 * Store contract, reads and what is built on them: queries, inclusion and consistency proofs,
 * checkpoints (never signed over an inconsistent tree), erasure, and API keys.
 * Registered by storeContract (contract.ts) inside its suite.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fromBase64, toHex } from '../../src/core/bytes.ts';
import { ErrorCode } from '../../src/core/errors.ts';
import { validateEvent } from '../../src/core/event/validate.ts';
import { leafHash } from '../../src/core/hash.ts';
import { completedNodes, verifyConsistency, verifyInclusion } from '../../src/core/merkle/index.ts';
import { integrate } from '../../src/ledger/integrate.ts';
import { ERASURE_KEY, event, rejectsWith, summary } from '../ledger/support.ts';
import type { ContractFixture } from './contract.ts';

const b64 = (s: string) => fromBase64(s);

export function readTests(fx: ContractFixture): void {
  test('queries: filters, time ranges, cursors, and the three compliance queries', async () => {
    const l = await fx.newLog('queries');
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
    const l = await fx.newLog('proofs');
    const sizes = [1, 2, 3, 5, 8, 13, 21];
    const notes: string[] = [];
    for (let n = 0, k = 0; k < sizes.length; k++) {
      const evs = [];
      for (; n < sizes[k]!; n++) evs.push(event(n));
      await l.appendMany(evs);
      notes.push((await l.checkpoint()).note);
    }
    assert.deepEqual(
      (await fx.store.checkpoints(l.log.id)).map((c) => c.size),
      sizes,
    );
    assert.equal((await fx.store.latestCheckpoint(l.log.id))?.size, 21);
    assert.equal((await fx.store.checkpointAt(l.log.id, 8))?.note, notes[4]);
    assert.equal(await fx.store.checkpointAt(l.log.id, 9), undefined);
    const cps = notes.map((n) => fx.opened('proofs', n));
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
    const [leaf3] = await fx.store.nodes(l.log.id, [{ level: 0, index: 3 }]);
    assert.equal(toHex(leaf3!), (await l.entryAt(3))!.hash);
    assert.equal((await fx.store.nodes(l.log.id, [{ level: 4, index: 0 }]))[0]!.length, 32);
    await rejectsWith(fx.store.nodes(l.log.id, [{ level: 4, index: 1 }]), ErrorCode.STORE_FAILED);
    const r = await l.verify({ trusted: [notes.at(-1)!] });
    assert.ok(r.ok, summary(r));
    assert.equal(r.verified_size, 21);
  });

  test('nodeRange: the hashes of one tree level over an index range, as a tile holds them, in one statement', async () => {
    const l = await fx.newLog('node-range');
    await l.appendMany(Array.from({ length: 600 }, (_, i) => event(i)));
    const id = l.log.id;
    const hex = (hs: Uint8Array[]) => hs.map(toHex);
    const entries = await fx.store.entries(id, 0, 600, 600);
    // level 0: the entries' own leaf hashes
    assert.deepEqual(
      hex(await fx.store.nodeRange(id, 0, 256, 512)),
      entries.slice(256, 512).map((e) => e.hash),
    );
    // above: the stored nodes, equal to what nodes() reads one by one; within one tile and over
    // several (SQLite keeps the nodes by the C2SP tile they belong to)
    for (const [level, from, to] of [
      [1, 10, 20],
      [8, 0, 2],
      [3, 70, 75],
      [1, 100, 300],
      [2, 60, 140],
      [3, 20, 75],
    ] as const) {
      const ids = Array.from({ length: to - from }, (_, i) => ({ level, index: from + i }));
      assert.deepEqual(
        hex(await fx.store.nodeRange(id, level, from, to)),
        hex(await fx.store.nodes(id, ids)),
        `level ${level} [${from}, ${to})`,
      );
    }
    // cut at the tree's edge: 600 leaves make 2 complete nodes of level 8, 75 of level 3
    assert.equal((await fx.store.nodeRange(id, 8, 0, 256)).length, 2);
    assert.equal((await fx.store.nodeRange(id, 3, 70, 80)).length, 5);
    assert.equal((await fx.store.nodeRange(id, 0, 590, 846)).length, 10);
    assert.deepEqual(await fx.store.nodeRange(id, 0, 600, 856), []);
    assert.equal((await fx.store.nodeRange(id, 9, 0, 256)).length, 1);
    assert.deepEqual(await fx.store.nodeRange(id, 10, 0, 256), []);
    assert.deepEqual(await fx.store.nodeRange(id, 0, 5, 5), []);
    // many nodes in one call, levels mixed and out of order (more than one statement holds on
    // SQLite): each hash in its place, as a range of one reads it
    const mixed = Array.from({ length: 90 }, (_, i) => ({ level: (i * 7) % 6, index: (i * 13) % 9 }));
    const one = async (n: { level: number; index: number }) =>
      hex(await fx.store.nodeRange(id, n.level, n.index, n.index + 1))[0];
    assert.deepEqual(hex(await fx.store.nodes(id, mixed)), await Promise.all(mixed.map(one)));
    // and a node past the tree's edge among them is named, not skipped
    const missing = await rejectsWith(
      fx.store.nodes(id, [...mixed.slice(0, 50), { level: 3, index: 75 }, ...mixed.slice(50)]),
      ErrorCode.STORE_FAILED,
    );
    assert.deepEqual([missing.details['level'], missing.details['index']], [3, 75]);
    // one statement per call, whatever the width (not one per node)
    const counted = countStatements(fx.store);
    await fx.store.nodeRange(id, 0, 0, 256);
    await fx.store.nodeRange(id, 1, 0, 256);
    assert.equal(counted.count(), 2, 'one statement per range');
    counted.restore();
  });

  test('nodesCompleted: exactly the stored nodes whose last leaf lies in the window, any window', async () => {
    const l = await fx.newLog('completed');
    await l.appendMany(Array.from({ length: 600 }, (_, i) => event(i)));
    const id = l.log.id;
    const key = (level: number, index: number, hash: Uint8Array) => `${level}:${index}:${toHex(hash)}`;
    for (const [from, to] of [
      [0, 600],
      [0, 256],
      [256, 512],
      [100, 400],
      [250, 260],
      [255, 257],
      [511, 513],
      [599, 600],
      [5, 5],
    ] as const) {
      const ids = completedNodes(from, to).flatMap((r) =>
        Array.from({ length: r.last - r.first + 1 }, (_, i) => ({ level: r.level, index: r.first + i })),
      );
      const hashes = await fx.store.nodes(id, ids);
      const want = ids.map((n, i) => key(n.level, n.index, hashes[i]!)).sort();
      const got = (await fx.store.nodesCompleted(id, from, to))
        .map((n) => key(n.level, n.index, n.hash))
        .sort();
      assert.deepEqual(got, want, `[${from}, ${to})`);
      // a tree of n leaves has n - popcount(n) perfect subtrees above the leaves: 600 - 4
      if (from === 0 && to === 600) assert.equal(got.length, 596);
    }
  });

  test('a checkpoint is never signed for a tree inconsistent with the last one', async () => {
    const l = await fx.newLog('inconsistent');
    await l.appendMany(Array.from({ length: 8 }, (_, i) => event(i)));
    assert.equal((await l.checkpoint()).size, 8);
    // 8 more entries whose stored subtree [8, 16) (level 3, index 1) is wrong
    const evs = Array.from({ length: 8 }, (_, i) => validateEvent(event(8 + i)));
    await fx.store.write(l.log.id, async (tx) => {
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
    assert.equal((await fx.store.latestCheckpoint(l.log.id))?.size, 8, 'nothing was signed');
  });

  test('erasure: values and salts go, the entries say so, and every proof still holds', async () => {
    const l = await fx.newLog('erasure');
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
    const r = await l.erase({
      erasureKey: ERASURE_KEY,
      actor_id: 'alice',
      reason: 'GDPR art. 17 request #42',
    });
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
      (await fx.store.erasures(l.log.id, 0, 100)).map((x) => [x.index, x.field, x.erasureIndex]),
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
    const after = fx.opened('erasure', (await l.checkpoint()).note);
    const old = fx.opened('erasure', before.note);
    for (const cp of [old, after]) {
      for (const i of [0, 3, 4]) {
        const p = await l.proveInclusion(i, cp.size);
        verifyInclusion(leafHash(fromBase64(p.leaf)), i, cp.size, p.hashes.map(b64), cp.root);
      }
    }
    const v = await l.verify({ verifiers: [fx.verifier('erasure')], trusted: [before.note] });
    assert.ok(v.ok, summary(v));
    assert.equal(v.verified_size, 13);
  });

  test('API keys: created, listed, revoked once, never rewritten', async () => {
    // Raw rows, without the audit events that evident's own key paths write (key-events.ts):
    // they name a log that does not exist, so no log's verification reports them.
    const rec = {
      id: 'k1',
      secretHash: 'ab'.repeat(32),
      logs: ['keys-contract'],
      scopes: ['ingest' as const],
      createdAt: '2026-01-01T00:00:00.000Z',
    };
    await fx.store.createApiKey(rec);
    await fx.store.createApiKey({
      ...rec,
      id: 'k2',
      logs: ['keys-contract', 'elsewhere'],
      scopes: ['read', 'verify'],
      description: 'auditor',
    });
    assert.deepEqual(await fx.store.getApiKey('k1'), rec);
    assert.deepEqual((await fx.store.getApiKey('k2'))?.scopes, ['read', 'verify']);
    assert.equal(await fx.store.getApiKey('nope'), undefined);
    assert.deepEqual(
      (await fx.store.listApiKeys()).map((k) => k.id),
      ['k1', 'k2'],
    );
    assert.equal(await fx.store.revokeApiKey('k1', '2026-01-02T00:00:00.000Z'), true);
    assert.equal(await fx.store.revokeApiKey('k1', '2026-01-03T00:00:00.000Z'), true, 'already revoked');
    assert.equal(
      (await fx.store.getApiKey('k1'))!.revokedAt,
      '2026-01-02T00:00:00.000Z',
      'the first one stands',
    );
    assert.equal(await fx.store.revokeApiKey('nope', '2026-01-02T00:00:00.000Z'), false);
    await assert.rejects(fx.store.createApiKey(rec), 'an id is never reused');
  });
}

/**
 * Counts the statements a store runs from now on: SQLite's reads go through one statement cache
 * (`rstmt`), PostgreSQL's through the pool's `query`; each is wrapped.
 */
function countStatements(store: object): { count(): number; restore(): void } {
  let n = 0;
  const s = store as Record<string, unknown> & { db: Record<string, unknown> };
  const [target, name] = s['kind'] === 'sqlite' ? [s, 'rstmt'] : [s.db, 'query'];
  const original = target[name] as (...a: unknown[]) => unknown;
  target[name] = function (this: unknown, ...a: unknown[]) {
    n++;
    return original.apply(this, a);
  };
  return {
    count: () => n,
    restore: () => {
      target[name] = original;
    },
  };
}
