/**
 * The threat model of docs/design.md, played by an attacker who can write the SQLite file but does
 * not hold the signing key: each attack runs on a fresh copy of one log of 50 entries with
 * signed checkpoints at 10, 20, 30, 40 and 50, and the ledger's verify() must name it.
 */
import assert from 'node:assert/strict';
import { copyFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import Database from 'better-sqlite3';
import { toBase64, toHex } from '../../src/core/bytes.ts';
import { signCheckpoint } from '../../src/core/checkpoint.ts';
import { entryLeafHash, sealEvent } from '../../src/core/event/entry.ts';
import { generateSigner } from '../../src/core/note-keys.ts';
import { FaultKind, type VerifyReport } from '../../src/core/verify/report.ts';
import { openLedger } from '../../src/ledger/open.ts';
import { ENTRY_COLUMNS } from '../../src/store/rows.ts';
import { ERASURE_KEY, type Fixture, fullEvent, makeFixture, ORIGIN, summary } from './support.ts';
import {
  deleteEntry,
  dropTriggers,
  eventOf,
  headOf,
  insertEntry,
  insertRow,
  moveEntry,
  readEntries,
  readEntry,
  readRow,
  readSecrets,
  rebuild,
  setHead,
  writeRebuilt,
} from './tamper-support.ts';
import { verifyEveryWay } from './verify-ways.ts';

type Db = Database.Database;

const TARGET = 17;
const ERASABLE = ['old_values', 'new_values'] as const;

let fx: Fixture;
/** A copy of the file taken when the log had 30 entries. */
let oldCopy: string;
/** The latest signed checkpoint (size 50), as an auditor or witness keeps it outside the database. */
let trustedNote: string;
let cases = 0;

before(async () => {
  fx = await makeFixture('evident-tamper-');
  let ledger = await fx.open({ checkpointIntervalMs: 3_600_000 });
  for (let chunk = 0; chunk < 5; chunk++) {
    if (chunk === 3) {
      await ledger.close();
      oldCopy = join(fx.dir, 'old.db');
      copyFileSync(fx.db, oldCopy);
      ledger = await fx.open({ checkpointIntervalMs: 3_600_000 });
    }
    await ledger.appendMany(Array.from({ length: 10 }, (_, i) => fullEvent(chunk * 10 + i)));
    trustedNote = (await ledger.checkpoint()).note;
  }
  const sizes = (await ledger.store.checkpoints(ledger.log.id)).map((c) => c.size);
  assert.deepEqual(sizes, [10, 20, 30, 40, 50]);
  await ledger.close();
  assert.equal(existsSync(`${fx.db}-wal`), false, 'the file is self-contained after close');
});

after(() => fx.cleanup());

/** Verifies a file with the ledger, trusting only the published key (and any trusted notes). */
async function verifyFile(path: string, trusted?: string[]): Promise<VerifyReport> {
  const ledger = await openLedger({ db: path });
  try {
    return await verifyEveryWay(ledger, { verifiers: fx.verifiers, ...(trusted ? { trusted } : {}) });
  } finally {
    await ledger.close();
  }
}

/** Applies an attack to a fresh copy of the log (triggers dropped first), then verifies it. */
async function attack(mutate: (db: Db) => void, trusted?: string[]): Promise<VerifyReport> {
  const path = join(fx.dir, `case-${cases++}.db`);
  copyFileSync(fx.db, path);
  const db = new Database(path);
  db.transaction(() => {
    // A careful attacker puts the triggers back after the change, leaving the schema as the
    // migrations made it (schema drift itself: hidden-rows.test.ts).
    const triggers = db
      .prepare("SELECT sql FROM sqlite_master WHERE type = 'trigger'")
      .pluck()
      .all() as string[];
    dropTriggers(db);
    mutate(db);
    for (const sql of triggers) db.exec(sql);
  })();
  db.close();
  return verifyFile(path, trusted);
}

/** The report says tampering, with the expected first fault at the expected first bad index. */
function detected(r: VerifyReport, kind: FaultKind, index: number | null): void {
  assert.equal(r.ok, false, summary(r));
  assert.equal(r.first_bad_index, index, `first_bad_index: ${summary(r)}`);
  const first = r.faults[0]!;
  assert.deepEqual([first.kind, first.index], [kind, index], `first fault: ${summary(r)}`);
}

test('the untouched log verifies, with and without the trusted checkpoint', async () => {
  for (const trusted of [undefined, [trustedNote]]) {
    const r = await verifyFile(fx.db, trusted);
    assert.ok(r.ok, summary(r));
    assert.equal(r.entries, 50);
    assert.equal(r.verified_size, 50);
  }
});

test('every entry carries every optional field', () => {
  const db = new Database(fx.db, { readonly: true });
  const row = readRow(db, TARGET);
  const secrets = readSecrets(db, TARGET);
  db.close();
  for (const c of ENTRY_COLUMNS) {
    if (c === 'old_values' || c === 'new_values') assert.equal(row[c], null, `${c} is kept in entry_secrets`);
    else assert.notEqual(row[c], null, c);
  }
  assert.deepEqual(
    secrets.map((s) => s.field),
    ['new_values', 'old_values'],
  );
});

describe('editing one field of entry 17', () => {
  const edits: Record<string, (v: string) => string> = {
    id: (v) => `${v.slice(0, -1)}${v.endsWith('0') ? '1' : '0'}`,
    timestamp: () => '2020-01-01T00:00:00.000Z',
    actor_id: () => 'mallory',
    actor_type: () => 'admin',
    action: () => 'delete',
    resource_type: () => 'billing_record',
    resource_id: () => 'p-999',
    result: (v) => (v === 'success' ? 'failure' : 'success'),
    ip_address: () => '203.0.113.9',
    user_agent: () => 'forged/1.0',
    session_id: () => 'sess-forged',
    reason: () => 'routine check',
    changed_fields: () => '["email"]',
    metadata: () => '{"request":0,"tags":["a","b"]}',
    received_at: () => '2020-01-01T00:00:00.000Z',
    prev_hash: () => '0'.repeat(64),
    hash: () => 'f'.repeat(64),
    // one hex digit of the old_values commitment
    commitments: (v) =>
      v.replace(/"old_values":"(.)/, (_m, c: string) => `"old_values":"${c === '0' ? '1' : '0'}`),
  };

  for (const [column, edit] of Object.entries(edits)) {
    test(`${column} → entry_modified at 17`, async () => {
      const r = await attack((db) => {
        const before = readRow(db, TARGET)[column as keyof ReturnType<typeof readRow>] as string;
        const after = edit(before);
        assert.notEqual(after, before);
        db.prepare(`UPDATE entries SET ${column} = ? WHERE idx = ?`).run(after, TARGET);
      });
      detected(r, FaultKind.ENTRY_MODIFIED, TARGET);
    });
  }

  for (const field of ERASABLE) {
    test(`${field} (a value in entry_secrets) → entry_modified at 17 naming ${field}`, async () => {
      const r = await attack((db) => {
        db.prepare('UPDATE entry_secrets SET value = ? WHERE idx = ? AND field = ?').run(
          '{"dob":"1970-01-01","name":"forged"}',
          TARGET,
          field,
        );
      });
      detected(r, FaultKind.ENTRY_MODIFIED, TARGET);
      assert.ok((r.faults[0]!['fields'] as string[]).includes(field), summary(r));
    });
  }

  test('a salt (entry_secrets.salt) → entry_modified at 17', async () => {
    const r = await attack((db) => {
      db.prepare("UPDATE entry_secrets SET salt = ? WHERE idx = ? AND field = 'new_values'").run(
        '00'.repeat(32),
        TARGET,
      );
    });
    detected(r, FaultKind.ENTRY_MODIFIED, TARGET);
  });
});

describe('deleting, inserting and reordering entries', () => {
  test('delete entry 17 → entry_missing at 17', async () => {
    const r = await attack((db) => deleteEntry(db, TARGET));
    detected(r, FaultKind.ENTRY_MISSING, TARGET);
  });

  test('delete entry 17 and renumber the later ones down → entry_missing at 17', async () => {
    const r = await attack((db) => {
      deleteEntry(db, TARGET);
      for (let i = TARGET + 1; i < 50; i++) moveEntry(db, i, i - 1);
      setHead(db, headOf(db, 49));
    });
    detected(r, FaultKind.ENTRY_MISSING, TARGET);
  });

  test('insert a forged entry at 17, renumbering the later ones up → entry_inserted at 17', async () => {
    const r = await attack((db) => {
      const prev = readEntry(db, TARGET - 1);
      for (let i = 49; i >= TARGET; i--) moveEntry(db, i, i + 1);
      // a well-formed entry that chains onto entry 16 and hashes correctly at its place
      const forged = sealEvent(
        { ...eventOf(prev), id: '01890a5d-ac96-774b-bcce-b302099a8057', actor_id: 'mallory' },
        { index: TARGET, received_at: prev.received_at, prev_hash: prev.hash, erasable: ERASABLE },
      ).entry;
      insertEntry(db, forged);
      setHead(db, headOf(db, 51));
    });
    detected(r, FaultKind.ENTRY_INSERTED, TARGET);
  });

  test('swap the contents of entries 17 and 18 → entries_reordered at 17', async () => {
    const r = await attack((db) => {
      const [a, b] = [readRow(db, TARGET), readRow(db, TARGET + 1)];
      const [sa, sb] = [readSecrets(db, TARGET), readSecrets(db, TARGET + 1)];
      deleteEntry(db, TARGET);
      deleteEntry(db, TARGET + 1);
      insertRow(db, { ...b, idx: TARGET }, sb);
      insertRow(db, { ...a, idx: TARGET + 1 }, sa);
    });
    detected(r, FaultKind.ENTRIES_REORDERED, TARGET);
  });
});

describe('truncation and rollback', () => {
  const truncate = (db: Db, dropCheckpoints: boolean) => {
    db.exec('DELETE FROM entries WHERE idx >= 40; DELETE FROM entry_secrets WHERE idx >= 40');
    if (dropCheckpoints) db.exec('DELETE FROM checkpoints WHERE size > 40');
    setHead(db, headOf(db, 40));
  };

  test('cut the tail (entries, checkpoints, head) → log_truncated at 40, given a checkpoint kept outside', async () => {
    const r = await attack((db) => truncate(db, true), [trustedNote]);
    detected(r, FaultKind.LOG_TRUNCATED, 40);
  });

  test('cut the tail and the tree nodes above it too → log_truncated at 40, given a checkpoint kept outside', async () => {
    const r = await attack(
      (db) => {
        truncate(db, true);
        // every stored subtree that reaches past entry 39
        db.exec('DELETE FROM tree_nodes WHERE (idx + 1) * (1 << level) > 40');
      },
      [trustedNote],
    );
    detected(r, FaultKind.LOG_TRUNCATED, 40);
  });

  test('without the outside checkpoint, the cut is seen while a stored checkpoint covers it', async () => {
    const r = await attack((db) => truncate(db, false));
    detected(r, FaultKind.LOG_TRUNCATED, 40);
  });

  test('a clean cut with nothing kept outside passes, but the report says it cannot rule one out', async () => {
    // docs/design.md: truncation is caught by a signed checkpoint held outside the database.
    const cleanCut = (db: Db) => {
      truncate(db, true);
      db.exec('DELETE FROM tree_nodes WHERE (idx + 1) * (1 << level) > 40');
    };
    const r = await attack(cleanCut);
    assert.equal(r.ok, true, summary(r));
    assert.equal(r.entries, 40);
    assert.ok(r.warnings.length > 0);
    const withOutside = await attack(cleanCut, [trustedNote]);
    assert.equal(withOutside.ok, false);
  });

  test('a cut that leaves the tree nodes above the tail → tree_node_mismatch (they lie beyond the tree)', async () => {
    const r = await attack((db) => truncate(db, true));
    assert.equal(r.ok, false, summary(r));
    assert.ok(
      r.faults.every((f) => f.kind === FaultKind.TREE_NODE_MISMATCH),
      summary(r),
    );
  });

  test('an entry count below the recorded head is a truncation even with no checkpoint beyond', async () => {
    const r = await attack((db) => {
      db.exec('DELETE FROM entries WHERE idx >= 40; DELETE FROM entry_secrets WHERE idx >= 40');
      db.exec('DELETE FROM checkpoints WHERE size > 40');
    });
    detected(r, FaultKind.LOG_TRUNCATED, 40);
  });

  test('restore an older copy of the file → log_truncated at 30, given the latest checkpoint', async () => {
    const old = new Database(oldCopy, { readonly: true });
    assert.equal(old.prepare('SELECT size FROM logs').pluck().get(), 30);
    old.close();
    const r = await verifyFile(oldCopy, [trustedNote]);
    detected(r, FaultKind.LOG_TRUNCATED, 30);
  });
});

describe('rewriting history without the signing key', () => {
  const rewrite = (db: Db) => {
    const entries = readEntries(db);
    // every entry changed, then hashes, chain, tree and head recomputed by the library itself
    const events = entries.map((e) => ({ ...eventOf(e), actor_id: `${e.actor_id}-rewritten` }));
    const r = rebuild(
      events,
      entries.map((e) => e.received_at),
      ERASABLE,
    );
    writeRebuilt(db, r);
    return r;
  };

  test('recomputed hashes and tree, stored checkpoints left → checkpoint_root_mismatch', async () => {
    const r = await attack((db) => {
      rewrite(db);
    });
    detected(r, FaultKind.CHECKPOINT_ROOT_MISMATCH, 0);
    assert.ok(
      !r.faults.some((f) => f.kind === FaultKind.ENTRY_MODIFIED || f.kind === FaultKind.CHAIN_BROKEN),
    );
  });

  test('and checkpoints re-signed with the attacker’s own key → checkpoint_signature_invalid', async () => {
    const mallory = generateSigner(ORIGIN).signer;
    const r = await attack((db) => {
      const rebuilt = rewrite(db);
      db.exec('DELETE FROM checkpoints');
      const ins = db.prepare(
        'INSERT INTO checkpoints (log_id, size, root, note, created_at) VALUES (1, ?, ?, ?, ?)',
      );
      for (const size of [10, 20, 30, 40, 50]) {
        const root = rebuilt.roots.get(size)!;
        ins.run(
          size,
          root,
          signCheckpoint({ origin: ORIGIN, size, rootHash: root }, mallory),
          new Date().toISOString(),
        );
      }
      // the attacker also swaps the verifier key recorded in the database: it must not matter
      db.prepare('UPDATE logs SET vkey = ?').run(generateSigner(ORIGIN).verifierKey);
    });
    detected(r, FaultKind.CHECKPOINT_SIGNATURE_INVALID, null);
    assert.equal(r.faults.filter((f) => f.kind === FaultKind.CHECKPOINT_SIGNATURE_INVALID).length, 5);
  });

  test('edit one entry and recompute only its own hash → chain_broken at 17', async () => {
    const r = await attack((db) => {
      const e = { ...readEntry(db, TARGET), actor_id: 'mallory' };
      db.prepare('UPDATE entries SET actor_id = ?, hash = ? WHERE idx = ?').run(
        'mallory',
        toHex(entryLeafHash(e)),
        TARGET,
      );
    });
    detected(r, FaultKind.CHAIN_BROKEN, TARGET);
  });
});

describe('values and checkpoints', () => {
  test('delete a value without an erasure record → value_missing at 17', async () => {
    const r = await attack((db) => {
      db.prepare("DELETE FROM entry_secrets WHERE idx = ? AND field = 'old_values'").run(TARGET);
    });
    detected(r, FaultKind.VALUE_MISSING, TARGET);
    assert.equal(r.faults[0]!['field'], 'old_values');
  });

  test('delete a value behind a forged erasure record (naming no erasure event) → value_missing at 17', async () => {
    const r = await attack((db) => {
      // erasure_idx 17 is an ordinary entry, not an evident.erasure event
      db.prepare("INSERT INTO erasures (log_id, idx, field, erasure_idx) VALUES (1, ?, 'old_values', ?)").run(
        TARGET,
        TARGET,
      );
      db.prepare("DELETE FROM entry_secrets WHERE idx = ? AND field = 'old_values'").run(TARGET);
    });
    detected(r, FaultKind.VALUE_MISSING, TARGET);
  });

  test('time-window queries read the hashed timestamp itself: no derived column to edit apart', async () => {
    const db = new Database(fx.db, { readonly: true });
    try {
      const cols = (db.prepare('PRAGMA table_info(entries)').all() as { name: string }[]).map((c) => c.name);
      const hashed = new Set<string>([...ENTRY_COLUMNS, 'log_id']);
      assert.deepEqual(
        cols.filter((c) => !hashed.has(c)),
        [],
        'every column of entries is a field of the entry (verified) or its position',
      );
      const plan = db
        .prepare(
          "EXPLAIN QUERY PLAN SELECT * FROM entries WHERE log_id = 1 AND actor_id = 'a' AND unixepoch(timestamp, 'subsec') >= 0",
        )
        .all() as { detail: string }[];
      assert.match(plan.map((p) => p.detail).join('\n'), /entries_actor/);
    } finally {
      db.close();
    }
  });

  const editNote = (db: Db, size: number, edit: (note: string) => string) => {
    const note = db.prepare('SELECT note FROM checkpoints WHERE size = ?').pluck().get(size) as string;
    const changed = edit(note);
    assert.notEqual(changed, note);
    db.prepare('UPDATE checkpoints SET note = ? WHERE size = ?').run(changed, size);
  };

  test("a checkpoint note's signature edited → checkpoint_signature_invalid", async () => {
    const r = await attack((db) =>
      editNote(db, 30, (note) => {
        const at = note.lastIndexOf(' ') + 20; // inside the signature, past the key ID
        return note.slice(0, at) + (note[at] === 'A' ? 'B' : 'A') + note.slice(at + 1);
      }),
    );
    detected(r, FaultKind.CHECKPOINT_SIGNATURE_INVALID, null);
  });

  test("a checkpoint note's root hash edited → checkpoint_signature_invalid", async () => {
    const r = await attack((db) =>
      editNote(db, 30, (note) => {
        const lines = note.split('\n');
        lines[2] = toBase64(new Uint8Array(32).fill(7));
        return lines.join('\n');
      }),
    );
    detected(r, FaultKind.CHECKPOINT_SIGNATURE_INVALID, null);
  });
});

describe('the triggers refuse UPDATE and DELETE through the database', () => {
  let path: string;
  let db: Db;

  before(async () => {
    // a copy with an erasure in it, so that every table has rows to refuse changes to
    path = join(fx.dir, 'triggers.db');
    copyFileSync(fx.db, path);
    const ledger = await openLedger({ db: path, key: fx.keyPath });
    await ledger.erase({ erasureKey: ERASURE_KEY, actor_id: 'user-0', reason: 'GDPR request' });
    await ledger.close();
    db = new Database(path);
  });
  after(() => db.close());

  const refused = (sql: string, ...args: unknown[]) => {
    assert.throws(
      () => db.prepare(sql).run(...args),
      (e: unknown) => (e as { code?: string }).code === 'SQLITE_CONSTRAINT_TRIGGER',
      sql,
    );
  };

  test('entries', () => {
    refused("UPDATE entries SET actor_id = 'mallory' WHERE idx = 17");
    refused('UPDATE entries SET idx = idx + 100 WHERE idx = 49');
    refused('DELETE FROM entries WHERE idx = 17');
    refused('DELETE FROM entries');
  });

  test('entry_secrets: no update; delete only of a value with a recorded erasure', () => {
    refused("UPDATE entry_secrets SET value = '{}' WHERE idx = 17");
    refused("UPDATE entry_secrets SET salt = '00' WHERE idx = 17");
    refused('DELETE FROM entry_secrets WHERE idx = 17');
    refused('INSERT INTO erasures (log_id, idx, field, erasure_idx) VALUES (1, 17, ?, 17)', 'old_values');
  });

  test('erasures', () => {
    assert.ok((db.prepare('SELECT count(*) FROM erasures').pluck().get() as number) > 0);
    refused('UPDATE erasures SET erasure_idx = 0');
    refused('DELETE FROM erasures');
  });

  test('tree_nodes', () => {
    refused('UPDATE tree_nodes SET hash = zeroblob(32) WHERE level = 1 AND idx = 0');
    refused('DELETE FROM tree_nodes');
  });

  test('checkpoints', () => {
    refused("UPDATE checkpoints SET note = 'forged' WHERE size = 30");
    refused('DELETE FROM checkpoints WHERE size = 50');
  });

  test('logs: the head never shrinks, and name, origin, key and erasable fields never change', () => {
    refused('UPDATE logs SET size = size - 1');
    refused('UPDATE logs SET size = 0');
    refused("UPDATE logs SET name = 'other'");
    refused("UPDATE logs SET origin = 'evil.example/default'");
    refused("UPDATE logs SET vkey = 'x'");
    refused('UPDATE logs SET erasable = \'["metadata"]\'');
    refused('UPDATE logs SET log_id = 2');
    refused('DELETE FROM logs');
  });

  test('nothing was changed by the refused statements', async () => {
    db.close();
    const r = await verifyFile(path, [trustedNote]);
    db = new Database(path);
    assert.ok(r.ok, summary(r));
  });
});
