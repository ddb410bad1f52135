/**
 * appendCopied (src/ledger/copy.ts), the step copyLog and restoreFromArchive write entries
 * through: entries that continue the log are written with the tree recomputed (the target's head
 * equals the source's, frontier included); an entry out of order, with a hash that is not its
 * leaf's, or not linked to the one before is refused with TAMPER_DETECTED, its index and the
 * caller's rule, and nothing of that batch is written.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { toHex } from '../../src/core/bytes.ts';
import { ErrorCode } from '../../src/core/errors.ts';
import { type Entry, entryLeafHash, GENESIS } from '../../src/core/event/entry.ts';
import { CompactRange } from '../../src/core/merkle/index.ts';
import { appendCopied, type TreeEnd } from '../../src/ledger/copy.ts';
import { type FullStore, openStore } from '../../src/store/open.ts';
import type { Erasure, LogInfo } from '../../src/store/types.ts';
import { event, type Fixture, makeFixture, rejectsWith } from './support.ts';

const SOURCE = { name: 'the test source', rule: 'test_rule' };

/** The entry with these changes, its own hash that of its new leaf (so only the change is wrong). */
function altered(e: Entry, changes: Partial<Entry>): Entry {
  const a = { ...e, ...changes };
  return { ...a, hash: toHex(entryLeafHash(a)) };
}

describe('appendCopied: entries copied into another store', () => {
  let f: Fixture;
  let source: FullStore;
  let entries: Entry[];
  let log: LogInfo;

  before(async () => {
    f = await makeFixture('evident-append-copied-');
    const l = await f.open();
    await l.appendMany(Array.from({ length: 12 }, (_, i) => event(i)));
    await l.close();
    source = await openStore(f.db, { readonly: true });
    log = (await source.getLog('default'))!;
    entries = await source.entries(log.id, 0, 12, 12);
    assert.equal(entries.length, 12);
  });
  after(async () => {
    await source?.close();
    f?.cleanup();
  });

  /** A new target store holding an empty copy of the log. */
  const target = async (name: string) => {
    const t = await openStore(join(f.dir, `${name}.db`));
    const { id } = await t.createLog({
      name: log.name,
      origin: log.origin,
      vkey: log.vkey,
      erasable: log.erasable,
    });
    return { t, id };
  };
  const start: () => TreeEnd = () => ({ range: CompactRange.empty(), lastHash: GENESIS });

  it('entries in two batches: the target ends where the source does, frontier included', async () => {
    const { t, id } = await target('whole');
    try {
      const erased: Erasure[] = [];
      let end = await appendCopied(t, id, start(), entries.slice(0, 5), erased, SOURCE);
      assert.equal(end.range.size, 5);
      assert.equal(end.lastHash, entries[4]!.hash);
      end = await appendCopied(t, id, end, entries.slice(5), erased, SOURCE);
      const [a, b] = [await source.head(log.id), await t.head(id)];
      assert.equal(b.size, 12);
      assert.equal(b.lastHash, a.lastHash);
      assert.equal(toHex(b.frontier), toHex(a.frontier));
      assert.equal(toHex(end.range.encode()), toHex(a.frontier));
      assert.deepEqual(erased, [], 'no erasures on these entries');
    } finally {
      await t.close();
    }
  });

  const broken: [string, (e: Entry[]) => Entry[], number][] = [
    [
      'an entry at the wrong index (linked, its hash its leaf)',
      (e) => [e[5]!, altered(e[6]!, { index: 8 })],
      8,
    ],
    ['a hash that is not the leaf', (e) => [e[5]!, { ...e[6]!, hash: e[7]!.hash }, e[7]!], 6],
    [
      'a broken link (its own hash recomputed)',
      (e) => [e[5]!, e[6]!, altered(e[7]!, { prev_hash: e[5]!.hash })],
      7,
    ],
  ];
  for (const [what, batch, index] of broken) {
    it(`${what}: TAMPER_DETECTED naming the entry and the rule; nothing of the batch is written`, async () => {
      const { t, id } = await target(what.replaceAll(' ', '-'));
      try {
        const end = await appendCopied(t, id, start(), entries.slice(0, 5), [], SOURCE);
        const e = await rejectsWith(
          appendCopied(t, id, end, batch(entries), [], SOURCE),
          ErrorCode.TAMPER_DETECTED,
        );
        assert.equal(e.details['index'], index);
        assert.equal(e.details['rule'], SOURCE.rule);
        const head = await t.head(id);
        assert.equal(head.size, 5);
        assert.equal(head.lastHash, entries[4]!.hash);
      } finally {
        await t.close();
      }
    });
  }
});
