/**
 * The signer trusts no stored checkpoint (src/ledger/sign.ts): before it returns the latest one
 * as covering the tree, or proves the tree consistent with it, it reads that checkpoint's root
 * from its note, checked by the log's key, and compares it with the root re-derived from the
 * checked head. Each attack below is made by whoever can write the file, with the triggers
 * dropped and put back; each is refused, and the refusal writes nothing.
 */
import assert from 'node:assert/strict';
import { copyFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { signCheckpoint } from '../../src/core/checkpoint.ts';
import { ErrorCode, isEvidentError } from '../../src/core/errors.ts';
import type { AuditEvent } from '../../src/core/event/schema.ts';
import { generateSigner } from '../../src/core/note-keys.ts';
import { openLedger } from '../../src/ledger/open.ts';
import { type Fixture, fullEvent, makeFixture, ORIGIN } from './support.ts';
import { carefully, eventOf, type Rebuilt, readEntries, rebuild, writeRebuilt } from './tamper-support.ts';

const ERASABLE = ['old_values', 'new_values'] as const;
const SIZE = 12;

/** Every entry changed by `change`, then the chain, tree and head recomputed (no key needed). */
function rewriteAll(db: Database.Database, change: (e: AuditEvent) => AuditEvent): Rebuilt {
  const entries = readEntries(db);
  const r = rebuild(
    entries.map((e) => change(eventOf(e))),
    entries.map((e) => e.received_at),
    ERASABLE,
  );
  writeRebuilt(db, r);
  return r;
}

/** The refusal expected: this code, with this `rule` in its details. */
const refused = (code: ErrorCode, rule: string) => (e: unknown) =>
  isEvidentError(e, code) && (e.details as Record<string, unknown>)['rule'] === rule;

describe('signing over a store whose checkpoints or tree were rewritten', () => {
  let fx: Fixture;
  let pristine: string;
  let copies = 0;

  before(async () => {
    fx = await makeFixture('evident-sign-stored-');
    const l = await fx.open({ checkpointIntervalMs: 3_600_000 });
    await l.appendMany(Array.from({ length: SIZE }, (_, i) => fullEvent(i)));
    assert.equal((await l.checkpoint()).size, SIZE);
    await l.close();
    pristine = join(fx.dir, 'pristine.db');
    copyFileSync(fx.db, pristine);
  });
  after(() => fx.cleanup());

  /** A fresh copy of the log, changed by `attack`, opened with the signing key. */
  const attacked = async (attack: (db: Database.Database) => void) => {
    const path = join(fx.dir, `attacked-${copies++}.db`);
    copyFileSync(pristine, path);
    const db = new Database(path);
    carefully(db, attack);
    db.close();
    return { path, open: () => openLedger({ db: path, key: fx.keyPath, checkpointIntervalMs: 3_600_000 }) };
  };
  const checkpointsOf = (path: string) => {
    const db = new Database(path, { readonly: true });
    try {
      return db.prepare('SELECT size, note FROM checkpoints ORDER BY size').all() as {
        size: number;
        note: string;
      }[];
    } finally {
      db.close();
    }
  };

  it('the control: the untouched copy signs its tree, and the checkpoint at its size is returned as is', async () => {
    const { path, open } = await attacked(() => {});
    const l = await open();
    try {
      const cp = await l.checkpoint();
      assert.equal(cp.size, SIZE);
      assert.equal(cp.note, checkpointsOf(path).at(-1)!.note);
      await l.append(fullEvent(100));
      assert.equal((await l.checkpoint()).size, SIZE + 1);
    } finally {
      await l.close();
    }
  });

  it('every entry rewritten and the chain, tree and head recomputed at the same size: no checkpoint is returned for it', async () => {
    const { path, open } = await attacked((db) => {
      rewriteAll(db, (e) => ({ ...e, actor_id: `${e.actor_id}-rewritten` }));
    });
    const before = checkpointsOf(path);
    const l = await open();
    try {
      await assert.rejects(
        () => l.checkpoint(),
        (e: unknown) =>
          refused(ErrorCode.CHECKPOINT_INCONSISTENT, 'root_differs')(e) &&
          (e as { details: Record<string, unknown> }).details['checkpoint_size'] === SIZE,
      );
    } finally {
      await l.close().catch(() => {});
    }
    assert.deepEqual(checkpointsOf(path), before, 'no checkpoint was written');
  });

  it("the latest checkpoint's root column rewritten to the rewritten tree's root: TAMPER_DETECTED, its note disagrees", async () => {
    let newRoot: Uint8Array | undefined;
    const { path, open } = await attacked((db) => {
      newRoot = rewriteAll(db, (e) => ({ ...e, reason: 'rewritten' })).roots.get(SIZE)!;
      db.prepare('UPDATE checkpoints SET root = ? WHERE size = ?').run(newRoot, SIZE);
    });
    assert.ok(newRoot);
    const l = await open();
    try {
      await assert.rejects(
        () => l.checkpoint(),
        refused(ErrorCode.TAMPER_DETECTED, 'checkpoint_columns_differ'),
      );
    } finally {
      await l.close().catch(() => {});
    }
    assert.equal(checkpointsOf(path).length, 1);
  });

  it("the latest checkpoint replaced by a note of the rewritten tree signed by another key: TAMPER_DETECTED, not this log's key", async () => {
    const { path, open } = await attacked((db) => {
      const root = rewriteAll(db, (e) => ({ ...e, reason: 'rewritten' })).roots.get(SIZE)!;
      const note = signCheckpoint(
        { origin: ORIGIN, size: SIZE, rootHash: root },
        generateSigner(ORIGIN).signer,
      );
      db.prepare('UPDATE checkpoints SET root = ?, note = ? WHERE size = ?').run(root, note, SIZE);
    });
    const l = await open();
    try {
      await assert.rejects(
        () => l.append(fullEvent(200)).then(() => l.checkpoint()),
        refused(ErrorCode.TAMPER_DETECTED, 'checkpoint_unsigned'),
      );
    } finally {
      await l.close().catch(() => {});
    }
    assert.equal(checkpointsOf(path).length, 1, 'no checkpoint of the forged tree was signed');
  });
});
