import assert from 'node:assert/strict';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import Database from 'better-sqlite3';
import { fromBase64, toHex } from '../../src/core/bytes.ts';
import { openCheckpoint } from '../../src/core/checkpoint.ts';
import { ErrorCode, type FieldIssue, ValidationError } from '../../src/core/errors.ts';
import { checkErasure, type ErasureAuthority } from '../../src/core/event/erasure.ts';
import { leafHash } from '../../src/core/hash.ts';
import { consistencyPlan, verifyConsistency, verifyInclusion } from '../../src/core/merkle/index.ts';
import { verifierFromKey } from '../../src/core/note-keys.ts';
import { ERASURE_ACTION } from '../../src/ledger/index.ts';
import type { Receipt } from '../../src/ledger/integrate.ts';
import type { Ledger } from '../../src/ledger/ledger.ts';
import { openLedger } from '../../src/ledger/open.ts';
import type { SqliteStore } from '../../src/store/sqlite/store.ts';
import {
  ERASURE_KEY,
  ERASURE_VERIFIERS,
  event,
  type Fixture,
  makeFixture,
  ORIGIN,
  rejectsWith,
  summary,
} from './support.ts';

const HEX64 = /^[0-9a-f]{64}$/;
const UUID_V7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

/** A ledger on a fresh log; closed and removed after the suite. */
function withLedger(options: Parameters<Fixture['open']>[0] = {}) {
  const ctx = {} as { fx: Fixture; ledger: Ledger };
  before(async () => {
    ctx.fx = await makeFixture();
    ctx.ledger = await ctx.fx.open(options);
  });
  after(async () => {
    await ctx.ledger.close().catch(() => ctx.ledger.store.close());
    ctx.fx.cleanup();
  });
  return ctx;
}

const b64 = (s: string) => fromBase64(s);

/** Opens a signed note with the published key: its tree size and root hash. */
function opened(note: string, vkey: string): { size: number; root: Uint8Array } {
  const cp = openCheckpoint(note, verifierFromKey(vkey), 'test.example/default').checkpoint;
  return { size: cp.size, root: cp.rootHash };
}

describe('append', () => {
  const ctx = withLedger();

  test('returns {id, index, hash} once committed, and the entry is there', async () => {
    const r = await ctx.ledger.append(event(0));
    assert.deepEqual(Object.keys(r).sort(), ['hash', 'id', 'index']);
    assert.equal(r.index, 0);
    assert.match(r.id, UUID_V7);
    assert.match(r.hash, HEX64);
    const e = await ctx.ledger.entryAt(0);
    assert.equal(e?.id, r.id);
    assert.equal(e?.hash, r.hash);
    assert.equal(e?.prev_hash, 'GENESIS');
    assert.equal((await ctx.ledger.entry(r.id))?.index, 0);
  });

  test('indexes are 0..n-1 in order, and each entry links to the one before', async () => {
    const rs: Receipt[] = [];
    for (let i = 1; i < 5; i++) rs.push(await ctx.ledger.append(event(i)));
    rs.push(...(await ctx.ledger.appendMany([event(5), event(6), event(7)])));
    assert.deepEqual(
      rs.map((r) => r.index),
      [1, 2, 3, 4, 5, 6, 7],
    );
    assert.equal(await ctx.ledger.size(), 8);
    let prev = (await ctx.ledger.entryAt(0))!.hash;
    for (const r of rs) {
      const e = (await ctx.ledger.entryAt(r.index))!;
      assert.equal(e.id, r.id);
      assert.equal(e.prev_hash, prev);
      prev = e.hash;
    }
  });

  test('an empty appendMany writes nothing', async () => {
    assert.deepEqual(await ctx.ledger.appendMany([]), []);
    assert.equal(await ctx.ledger.size(), 8);
  });

  test('appendMany is all or nothing: every invalid event is reported with its position', async () => {
    const before = await ctx.ledger.size();
    const { actor_id: _a, ...noActor } = event(11);
    const e = await rejectsWith(
      ctx.ledger.appendMany([event(10), noActor, event(12), event(13, { result: 'maybe' }), event(14)]),
      ErrorCode.VALIDATION_FAILED,
    );
    assert.ok(e instanceof ValidationError);
    const issues = e.details['issues'] as FieldIssue[];
    assert.deepEqual(
      issues.map((i) => [i.item, i.field, i.rule]),
      [
        [1, 'actor_id', 'required'],
        [3, 'result', 'enum'],
      ],
    );
    assert.equal(await ctx.ledger.size(), before, 'nothing was written');
  });

  test('what is stored and hashed is what was validated, even if the caller changes the object meanwhile', async () => {
    // Both appends are validated at once; the second waits for the first's commit, and the
    // caller changes its metadata and old_values objects (a reused context object) before it
    // is sealed. The entry holds the values as validated, and the log still verifies.
    const metadata: Record<string, unknown> = { route: '/a', n: 1 };
    const oldValues: Record<string, unknown> = { name: 'before' };
    const first = ctx.ledger.append(event(20));
    const second = ctx.ledger.append(event(21, { metadata, old_values: oldValues }));
    metadata['route'] = '/changed';
    metadata['added'] = 'x'.repeat(10);
    oldValues['name'] = 'changed';
    await first;
    const r = await second;
    const stored = (await ctx.ledger.entryAt(r.index))!;
    assert.deepEqual(stored.metadata, { route: '/a', n: 1 });
    assert.deepEqual(stored.old_values, { name: 'before' });
    assert.equal((await ctx.ledger.verify()).ok, true);
  });

  test('a single invalid append names the field and the rule, without an item', async () => {
    const e = await rejectsWith(
      ctx.ledger.append(event(0, { actor_type: 'robot' })),
      ErrorCode.VALIDATION_FAILED,
    );
    assert.deepEqual(
      (e.details['issues'] as FieldIssue[]).map((i) => [i.item, i.field, i.rule]),
      [[undefined, 'actor_type', 'enum']],
    );
  });
});

describe('idempotency', () => {
  const ctx = withLedger();
  const id = '01890a5d-ac96-774b-bcce-b302099a8057';
  const ts = '2026-01-02T03:04:05.000Z';

  test('the same id with the same content returns the original receipt, marked duplicate', async () => {
    await ctx.ledger.append(event(0));
    const first = await ctx.ledger.append(event(1, { id, timestamp: ts }));
    assert.equal(first.duplicate, undefined);
    const again = await ctx.ledger.append(event(1, { id, timestamp: ts }));
    assert.deepEqual(again, { ...first, duplicate: true });
    assert.equal(await ctx.ledger.size(), 2, 'the log did not grow');
  });

  test('the same content written with its keys in another order is the same content', async () => {
    const reordered = Object.fromEntries(Object.entries(event(1, { id, timestamp: ts })).reverse());
    const again = await ctx.ledger.append(reordered);
    assert.equal(again.duplicate, true);
    assert.equal(again.index, 1);
  });

  test('the same id with other content → ID_CONFLICT, and nothing is written', async () => {
    const e = await rejectsWith(
      ctx.ledger.append(event(1, { id, timestamp: ts, result: 'denied' })),
      ErrorCode.ID_CONFLICT,
    );
    assert.equal(e.details['id'], id);
    assert.equal(e.details['index'], 1);
    assert.equal(await ctx.ledger.size(), 2);
  });

  test('an id conflict refuses the whole appendMany', async () => {
    await rejectsWith(
      ctx.ledger.appendMany([event(5), event(1, { id, timestamp: ts, action: 'export' }), event(6)]),
      ErrorCode.ID_CONFLICT,
    );
    assert.equal(await ctx.ledger.size(), 2);
  });

  test('duplicates within one appendMany: one entry, the repeat gets its receipt as a duplicate', async () => {
    const twin = event(7, { id: '01890a5d-ac96-774b-bcce-b302099a8058', timestamp: ts });
    const rs = await ctx.ledger.appendMany([twin, event(8), twin]);
    assert.deepEqual(
      rs.map((r) => [r.index, r.duplicate]),
      [
        [2, undefined],
        [3, undefined],
        [2, true],
      ],
    );
    assert.equal(rs[2]!.hash, rs[0]!.hash);
    assert.equal(await ctx.ledger.size(), 4);
  });

  test('the same id twice in one appendMany with different content → ID_CONFLICT, nothing written', async () => {
    const twinId = '01890a5d-ac96-774b-bcce-b302099a8059';
    await rejectsWith(
      ctx.ledger.appendMany([
        event(9, { id: twinId, timestamp: ts }),
        event(10, { id: twinId, timestamp: ts }),
      ]),
      ErrorCode.ID_CONFLICT,
    );
    assert.equal(await ctx.ledger.size(), 4);
    assert.equal(await ctx.ledger.entry(twinId), undefined);
  });

  test('the same event appended concurrently (one commit batch) lands once', async () => {
    const ev = event(11, { id: '01890a5d-ac96-774b-bcce-b302099a805a', timestamp: ts });
    const rs = await Promise.all([ctx.ledger.append(ev), ctx.ledger.append(ev), ctx.ledger.append(ev)]);
    assert.deepEqual(new Set(rs.map((r) => r.index)), new Set([4]));
    assert.equal(rs.filter((r) => r.duplicate).length, 2);
    assert.equal(await ctx.ledger.size(), 5);
  });

  test('a retry is recognised after the ledger is reopened', async () => {
    await ctx.ledger.close();
    ctx.ledger = await ctx.fx.open();
    const again = await ctx.ledger.append(event(1, { id, timestamp: ts }));
    assert.deepEqual([again.index, again.duplicate], [1, true]);
    assert.equal(await ctx.ledger.size(), 5);
  });
});

describe('idempotency without a client timestamp', () => {
  // A client that supplies only an id (docs/design.md: a client-supplied id makes retries
  // idempotent) and lets the server stamp the time must be able to retry the very same request.
  let clock = Date.parse('2026-05-01T00:00:00.000Z');
  const ctx = withLedger({
    now: () => {
      clock += 1000;
      return new Date(clock);
    },
  });

  test('retrying the same request later returns the original receipt', async () => {
    const request = event(0, { id: '01890a5d-ac96-774b-bcce-b302099a8060' });
    const first = await ctx.ledger.append(request);
    const retry = await ctx.ledger.append(request);
    assert.deepEqual(retry, { ...first, duplicate: true });
    assert.equal(await ctx.ledger.size(), 1);
  });
});

describe('queries', () => {
  const ctx = withLedger();
  const at = (minute: number) => new Date(Date.UTC(2026, 2, 1, 12, minute)).toISOString();

  before(async () => {
    const evs = [
      // alice reads and updates patient p-1, then is denied an export
      event(0, {
        actor_id: 'alice',
        action: 'read',
        resource_id: 'p-1',
        result: 'success',
        timestamp: at(0),
      }),
      event(1, {
        actor_id: 'alice',
        action: 'update',
        resource_id: 'p-1',
        result: 'success',
        timestamp: at(5),
      }),
      event(2, {
        actor_id: 'alice',
        action: 'export',
        resource_id: 'p-2',
        result: 'denied',
        timestamp: at(10),
      }),
      // bob fails to log in four times, then succeeds and reads p-1
      ...[20, 21, 22, 23].map((m, i) =>
        event(3 + i, {
          actor_id: 'bob',
          action: 'login',
          resource_type: 'session',
          resource_id: 'login',
          result: 'failure',
          timestamp: at(m),
        }),
      ),
      event(7, {
        actor_id: 'bob',
        action: 'login',
        resource_type: 'session',
        resource_id: 'login',
        timestamp: at(24),
      }),
      event(8, { actor_id: 'bob', action: 'read', resource_id: 'p-1', result: 'success', timestamp: at(25) }),
      // carol: one old failure, outside the window
      event(9, {
        actor_id: 'carol',
        action: 'read',
        resource_id: 'p-3',
        result: 'failure',
        timestamp: at(1),
      }),
      event(10, {
        actor_id: 'carol',
        action: 'read',
        resource_id: 'p-3',
        result: 'denied',
        timestamp: at(2),
      }),
    ];
    // appended out of timestamp order: the order of the log is the order of arrival
    await ctx.ledger.appendMany(evs.slice(0, 6));
    await ctx.ledger.appendMany(evs.slice(6));
  });

  test("one actor's actions over a time range", async () => {
    const rs = await ctx.ledger.query({ actor_id: 'alice', since: at(0), until: at(10) });
    assert.deepEqual(
      rs.map((e) => e.action),
      ['read', 'update'],
    );
    const all = await ctx.ledger.query({ actor_id: 'alice' });
    assert.deepEqual(
      all.map((e) => e.index),
      [0, 1, 2],
    );
  });

  test('all access to one resource', async () => {
    const rs = await ctx.ledger.query({ resource_type: 'patient_record', resource_id: 'p-1' });
    assert.deepEqual(
      rs.map((e) => [e.actor_id, e.action]),
      [
        ['alice', 'read'],
        ['alice', 'update'],
        ['bob', 'read'],
      ],
    );
  });

  test('failures and denials per actor in a recent window', async () => {
    assert.deepEqual(await ctx.ledger.failuresByActor(at(15), 3), [
      { actor_id: 'bob', failures: 4, last_timestamp: at(23) },
    ]);
    assert.deepEqual(await ctx.ledger.failuresByActor(at(0), 0), [
      { actor_id: 'bob', failures: 4, last_timestamp: at(23) },
      { actor_id: 'carol', failures: 2, last_timestamp: at(2) },
      { actor_id: 'alice', failures: 1, last_timestamp: at(10) },
    ]);
    assert.deepEqual(await ctx.ledger.failuresByActor(at(30), 0), []);
  });

  test('result lists, limits, cursors and newest-first order', async () => {
    const bad = await ctx.ledger.query({ result: ['failure', 'denied'] });
    assert.equal(bad.length, 7);
    assert.ok(bad.every((e) => e.result !== 'success'));
    const page1 = await ctx.ledger.query({ limit: 4 });
    const page2 = await ctx.ledger.query({ limit: 4, fromIndex: page1.at(-1)!.index + 1 });
    assert.deepEqual(
      [...page1, ...page2].map((e) => e.index),
      [0, 1, 2, 3, 4, 5, 6, 7],
    );
    const newest = await ctx.ledger.query({ descending: true, limit: 2 });
    assert.deepEqual(
      newest.map((e) => e.index),
      [10, 9],
    );
    assert.deepEqual(await ctx.ledger.query({ actor_id: 'nobody' }), []);
  });
});

describe('proofs against signed checkpoints', () => {
  const ctx = withLedger({ checkpointIntervalMs: 3_600_000 });
  const sizes = [1, 2, 3, 5, 8, 13, 21, 34, 55];
  const notes: string[] = [];

  before(async () => {
    let n = 0;
    for (const size of sizes) {
      const evs = [];
      for (; n < size; n++) evs.push(event(n));
      await ctx.ledger.appendMany(evs);
      notes.push((await ctx.ledger.checkpoint()).note);
    }
  });

  test('every checkpoint is stored, signed by the published key, and the latest is the last one', async () => {
    for (const [i, size] of sizes.entries()) {
      const cp = opened(notes[i]!, ctx.fx.vkey);
      assert.equal(cp.size, size);
      assert.equal((await ctx.ledger.checkpointAt(size))?.note, notes[i]);
    }
    assert.equal((await ctx.ledger.latestCheckpoint())?.size, 55);
    // no new entries: checkpoint() returns the latest instead of signing again
    assert.equal((await ctx.ledger.checkpoint()).note, notes.at(-1));
  });

  test('every entry has an inclusion proof in every checkpoint that covers it', async () => {
    for (const note of notes) {
      const { size, root } = opened(note, ctx.fx.vkey);
      for (let i = 0; i < size; i++) {
        const p = await ctx.ledger.proveInclusion(i, size);
        assert.deepEqual([p.index, p.size], [i, size]);
        const leaf = leafHash(fromBase64(p.leaf));
        assert.equal(toHex(leaf), (await ctx.ledger.entryAt(i))!.hash, 'the leaf is the entry');
        verifyInclusion(leaf, i, size, p.hashes.map(b64), root);
      }
    }
  });

  test('without a size, inclusion is proved in the latest checkpoint', async () => {
    const p = await ctx.ledger.proveInclusion(7);
    assert.equal(p.size, 55);
    verifyInclusion(
      leafHash(fromBase64(p.leaf)),
      7,
      55,
      p.hashes.map(b64),
      opened(notes.at(-1)!, ctx.fx.vkey).root,
    );
  });

  test('every pair of checkpoints has a consistency proof', async () => {
    const cps = notes.map((n) => opened(n, ctx.fx.vkey));
    for (const a of cps) {
      for (const b of cps) {
        if (a.size > b.size) continue;
        const proof = (await ctx.ledger.proveConsistency(a.size, b.size)).map(b64);
        verifyConsistency(a.size, b.size, proof, a.root, b.root);
      }
    }
  });

  test('a proof does not verify against another root', async () => {
    const [a, b] = [opened(notes[3]!, ctx.fx.vkey), opened(notes[5]!, ctx.fx.vkey)];
    const p = await ctx.ledger.proveInclusion(2, b.size);
    assert.throws(
      () => verifyInclusion(leafHash(fromBase64(p.leaf)), 2, b.size, p.hashes.map(b64), a.root),
      (e: unknown) => (e as { code?: string }).code === ErrorCode.PROOF_ROOT_MISMATCH,
    );
  });

  test('proofs outside the log → PROOF_RANGE', async () => {
    await rejectsWith(ctx.ledger.proveInclusion(55, 55), ErrorCode.PROOF_RANGE);
    await rejectsWith(ctx.ledger.proveInclusion(0, 56), ErrorCode.PROOF_RANGE);
    await rejectsWith(ctx.ledger.proveInclusion(-1, 5), ErrorCode.PROOF_RANGE);
    await rejectsWith(ctx.ledger.proveConsistency(5, 56), ErrorCode.PROOF_RANGE);
    await rejectsWith(ctx.ledger.proveConsistency(8, 5), ErrorCode.PROOF_RANGE);
  });

  test('the log verifies against the published key', async () => {
    const r = await ctx.ledger.verify({ verifiers: ctx.fx.verifiers, trusted: [notes.at(-1)!] });
    assert.ok(r.ok, summary(r));
    assert.equal(r.verified_size, 55);
    assert.equal(r.entries, 55);
  });
});

describe('a checkpoint is never signed for an inconsistent tree', () => {
  const ctx = withLedger({ checkpointIntervalMs: 3_600_000 });

  test('tampered tree nodes → checkpoint() rejects with CHECKPOINT_INCONSISTENT, and signs nothing', async () => {
    await ctx.ledger.appendMany(Array.from({ length: 8 }, (_, i) => event(i)));
    const first = await ctx.ledger.checkpoint();
    assert.equal(first.size, 8);
    await ctx.ledger.appendMany(Array.from({ length: 8 }, (_, i) => event(8 + i)));
    // The consistency proof from 8 to 16 is one stored node: the subtree [8, 16) at level 3.
    const plan = consistencyPlan(8, 16);
    assert.deepEqual(plan.nodes, [{ level: 3, index: 1 }]);
    const raw = new Database(ctx.fx.db);
    raw.exec('DROP TRIGGER tree_nodes_no_update');
    const changed = raw
      .prepare('UPDATE tree_nodes SET hash = zeroblob(32) WHERE level = 3 AND idx = 1')
      .run().changes;
    raw.close();
    assert.equal(changed, 1);

    await rejectsWith(ctx.ledger.checkpoint(), ErrorCode.CHECKPOINT_INCONSISTENT);
    assert.equal((await ctx.ledger.latestCheckpoint())?.size, 8, 'no checkpoint of size 16 was stored');
    // Appends still work (a checkpoint is not due), and do not sign the inconsistent tree either.
    assert.equal((await ctx.ledger.append(event(16))).index, 16);
    assert.equal((await ctx.ledger.latestCheckpoint())?.size, 8);
  });

  test('close() refuses the last checkpoint too, and still releases the database', async () => {
    const db = (ctx.ledger.store as SqliteStore).database;
    await rejectsWith(ctx.ledger.close(), ErrorCode.CHECKPOINT_INCONSISTENT);
    const stillOpen = db.open;
    if (stillOpen) await ctx.ledger.store.close(); // do not leak it whatever happens below
    assert.equal(stillOpen, false, 'close() left the SQLite connections open after the checkpoint failed');
    const raw = new Database(ctx.fx.db, { readonly: true });
    const sizes = raw.prepare('SELECT size FROM checkpoints ORDER BY size').pluck().all();
    raw.close();
    assert.deepEqual(sizes, [8]);
  });
});

describe('erasure', () => {
  const ctx = withLedger({ checkpointIntervalMs: 3_600_000 });
  const subject = 'alice';
  let before: { note: string; size: number };

  test('erase({actor_id}) deletes the values and salts of that subject, and records it', async () => {
    const evs = Array.from({ length: 12 }, (_, i) =>
      event(i, {
        actor_id: i % 3 === 0 ? subject : `other-${i}`,
        old_values: { email: `old-${i}@example.com` },
        new_values: { email: `new-${i}@example.com` },
        metadata: { n: i },
      }),
    );
    // one of alice's entries has only new_values
    delete evs[3]!['old_values'];
    await ctx.ledger.appendMany(evs);
    const cp = await ctx.ledger.checkpoint();
    before = { note: cp.note, size: cp.size };

    const result = await ctx.ledger.erase({
      erasureKey: ERASURE_KEY,
      actor_id: subject,
      reason: 'GDPR art. 17 request #42',
    });
    assert.equal(result.entries, 4);
    assert.equal(result.values, 7);
    assert.equal(result.receipt.index, 12);

    for (let i = 0; i < 12; i++) {
      const e = (await ctx.ledger.entryAt(i))!;
      if (e.actor_id === subject) {
        assert.equal(e.old_values, undefined);
        assert.equal(e.new_values, undefined);
        assert.equal(e.salts, undefined);
        assert.deepEqual(e.erased, i === 3 ? ['new_values'] : ['new_values', 'old_values']);
        assert.ok(e.commitments?.new_values, 'the commitment stays in the leaf');
        assert.deepEqual(e.metadata, { n: i }, 'fields that are not erasable stay');
      } else {
        assert.deepEqual(e.old_values, { email: `old-${i}@example.com` });
        assert.deepEqual(e.new_values, { email: `new-${i}@example.com` });
        assert.equal(e.erased, undefined);
      }
    }
  });

  test('the values and salts are gone from the database file itself', async () => {
    const raw = new Database(ctx.fx.db, { readonly: true });
    const rows = raw.prepare('SELECT idx, field FROM entry_secrets ORDER BY idx, field').all() as {
      idx: number;
      field: string;
    }[];
    const erasures = raw.prepare('SELECT idx, field, erasure_idx FROM erasures ORDER BY idx, field').all();
    const text = raw
      .prepare(
        "SELECT count(*) AS n FROM entries WHERE old_values LIKE '%old-0@%' OR new_values LIKE '%new-0@%'",
      )
      .get() as { n: number };
    raw.close();
    assert.ok(rows.every((r) => r.idx % 3 !== 0));
    assert.equal(rows.length, 16);
    assert.equal(erasures.length, 7);
    assert.ok((erasures as { erasure_idx: number }[]).every((x) => x.erasure_idx === 12));
    assert.equal(text.n, 0, 'erasable values are not kept in the entries table either');
  });

  test('the erasure is itself the last entry, an evident.erasure event', async () => {
    const last = (await ctx.ledger.entryAt((await ctx.ledger.size()) - 1))!;
    assert.equal(last.index, 12);
    assert.equal(last.action, ERASURE_ACTION);
    assert.equal(last.resource_id, subject);
    assert.equal(last.reason, 'GDPR art. 17 request #42');
    const { erasure, ...rest } = last.metadata as { erasure: ErasureAuthority };
    assert.deepEqual(rest, {
      subject: { actor_id: subject },
      entries: 4,
      values: 7,
      fields: ['new_values', 'old_values'],
    });
    // it names every value it erased, and the erasure key signed that
    assert.deepEqual(erasure.targets, { new_values: [0, 3, 6, 9], old_values: [0, 6, 9] });
    assert.equal(erasure.key, `${ERASURE_KEY.name}+${toHex(ERASURE_KEY.keyId)}`);
    assert.equal(checkErasure(last, ORIGIN, ERASURE_VERIFIERS), 'authorised');
  });

  test('the log still verifies, and old and new proofs still hold for erased entries', async () => {
    const r = await ctx.ledger.verify({ verifiers: ctx.fx.verifiers, trusted: [before.note] });
    assert.ok(r.ok, summary(r));
    const after = opened((await ctx.ledger.checkpoint()).note, ctx.fx.vkey);
    assert.equal(after.size, 13);
    const old = opened(before.note, ctx.fx.vkey);
    for (const cp of [old, after]) {
      for (const i of [0, 3, 6, 9]) {
        const p = await ctx.ledger.proveInclusion(i, cp.size);
        verifyInclusion(leafHash(fromBase64(p.leaf)), i, cp.size, p.hashes.map(b64), cp.root);
      }
    }
    const proof = (await ctx.ledger.proveConsistency(old.size, after.size)).map(b64);
    verifyConsistency(old.size, after.size, proof, old.root, after.root);
    const r2 = await ctx.ledger.verify({ verifiers: ctx.fx.verifiers, trusted: [before.note] });
    assert.ok(r2.ok, summary(r2));
    assert.equal(r2.verified_size, 13);
  });

  test('erasing by resource, and refusals without a subject or a reason', async () => {
    const r = await ctx.ledger.erase({
      erasureKey: ERASURE_KEY,
      resource: { type: 'patient_record', id: 'p-1' },
      reason: 'request #43',
    });
    assert.equal(r.entries, 1);
    assert.equal((await ctx.ledger.entryAt(1))!.new_values, undefined);
    await rejectsWith(ctx.ledger.erase({ erasureKey: ERASURE_KEY, reason: 'no subject' }), ErrorCode.USAGE);
    await rejectsWith(
      ctx.ledger.erase({ erasureKey: ERASURE_KEY, actor_id: 'bob', reason: '' }),
      ErrorCode.USAGE,
    );
    const v = await ctx.ledger.verify({ verifiers: ctx.fx.verifiers });
    assert.ok(v.ok, summary(v));
  });
});

describe('erasure on disk', () => {
  test('erased values do not survive in the database file (free pages, WAL)', async () => {
    const fx = await makeFixture();
    try {
      const l = await fx.open();
      await l.appendMany(
        Array.from({ length: 40 }, (_, i) =>
          event(i, { actor_id: i % 2 ? 'bob' : 'alice', old_values: { email: `secret-${i}@example.com` } }),
        ),
      );
      await l.erase({ erasureKey: ERASURE_KEY, actor_id: 'alice', reason: 'GDPR art. 17' });
      const onDisk = () =>
        Buffer.concat(
          ['', '-wal']
            .map((suffix) => `${fx.db}${suffix}`)
            .filter((p) => existsSync(p))
            .map((p) => readFileSync(p)),
        );
      // at once, while the ledger is still open (the WAL is emptied after an erasure), and after close
      const whileOpen = onDisk();
      await l.close();
      for (const bytes of [whileOpen, onDisk()]) {
        assert.ok(bytes.includes('secret-1@example.com'), 'sanity: values that were not erased are there');
        for (let i = 0; i < 40; i += 2) {
          assert.equal(bytes.includes(`secret-${i}@example.com`), false, `secret-${i} is still in the file`);
        }
      }
    } finally {
      fx.cleanup();
    }
  });
});

describe('pushback', () => {
  const ctx = withLedger({ maxPending: 20, maxBatch: 10 });

  test('a flood of appends is refused with STORE_BUSY, never dropped; every accepted one is in the log', async () => {
    const settled = await Promise.allSettled(
      Array.from({ length: 400 }, (_, i) => ctx.ledger.append(event(i))),
    );
    const accepted = settled.filter((s) => s.status === 'fulfilled').map((s) => s.value);
    const refused = settled.filter((s) => s.status === 'rejected').map((s) => s.reason as { code?: string });
    assert.ok(refused.length > 0, 'some appends were pushed back');
    assert.ok(accepted.length >= 20, 'the queue was filled before refusing');
    assert.ok(refused.every((e) => e.code === ErrorCode.STORE_BUSY));
    assert.equal(accepted.length + refused.length, 400);
    assert.equal(await ctx.ledger.size(), accepted.length);
    assert.deepEqual(
      accepted.map((r) => r.index).sort((a, b) => a - b),
      accepted.map((_, i) => i),
    );
    for (const r of accepted) assert.equal((await ctx.ledger.entryAt(r.index))?.id, r.id);
  });

  test('a batch larger than the queue is refused whole', async () => {
    const size = await ctx.ledger.size();
    await rejectsWith(
      ctx.ledger.appendMany(Array.from({ length: 21 }, (_, i) => event(i))),
      ErrorCode.STORE_BUSY,
    );
    assert.equal(await ctx.ledger.size(), size);
  });

  test('once the queue drains, appends are accepted again', async () => {
    const r = await ctx.ledger.append(event(1000));
    assert.equal(r.index, (await ctx.ledger.size()) - 1);
    const v = await ctx.ledger.verify({ verifiers: ctx.fx.verifiers });
    assert.ok(v.ok, summary(v));
  });
});

describe('read-only and closed ledgers', () => {
  test('without a key the ledger reads and verifies but refuses to append', async () => {
    const fx = await makeFixture();
    try {
      const l = await fx.open();
      await l.append(event(0));
      await l.close();
      const ro = await openLedger({ db: fx.db });
      await rejectsWith(ro.append(event(1)), ErrorCode.KEY_INVALID);
      await rejectsWith(ro.checkpoint(), ErrorCode.KEY_INVALID);
      assert.equal(await ro.size(), 1);
      const r = await ro.verify({ verifiers: fx.verifiers });
      assert.ok(r.ok, summary(r));
      await ro.close();
      await rejectsWith(l.append(event(2)), ErrorCode.LEDGER_CLOSED);
    } finally {
      fx.cleanup();
    }
  });
});

describe('files', () => {
  test('a new database and its WAL are readable by their owner only (audit data is personal data)', async () => {
    const fx = await makeFixture();
    try {
      const l = await fx.open();
      await l.append(event(1));
      for (const suffix of ['', '-wal']) {
        const mode = statSync(`${fx.db}${suffix}`).mode & 0o777;
        assert.equal(mode, 0o600, `${fx.db}${suffix} has mode ${mode.toString(8)}`);
      }
      await l.close();
    } finally {
      fx.cleanup();
    }
  });
});
