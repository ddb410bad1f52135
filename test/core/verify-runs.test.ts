/**
 * Runs of entries checked apart from the streaming verifier (src/core/verify/runs.ts): a clean
 * run carries what the verifier needs, anything else is refused (the verifier then reads the
 * entries one by one); a whole subtree appended to the tree sees the same nodes as its leaves.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { toHex } from '../../src/core/bytes.ts';
import { type Entry, GENESIS, sealEvent } from '../../src/core/event/entry.ts';
import type { AuditEvent } from '../../src/core/event/schema.ts';
import { leafHash } from '../../src/core/hash.ts';
import { CompactRange, type NodeHash } from '../../src/core/merkle/index.ts';
import { Lookahead } from '../../src/core/verify/lookahead.ts';
import { checkRun, isRun, type VerifiedRun } from '../../src/core/verify/runs.ts';

const event = (i: number): AuditEvent => ({
  id: `01900000-0000-7000-8000-${String(i).padStart(12, '0')}`,
  timestamp: '2026-01-01T00:00:00.000Z',
  actor_id: `u-${i}`,
  actor_type: 'user',
  action: 'read',
  resource_type: 'doc',
  resource_id: `d-${i}`,
  result: 'success',
  old_values: { n: i },
});

/** A log of n sealed entries (old_values erasable) and every tree node it stores (level >= 1). */
function log(n: number): { entries: Entry[]; nodes: NodeHash[] } {
  const entries: Entry[] = [];
  const nodes: NodeHash[] = [];
  const tree = CompactRange.empty();
  let prev = GENESIS;
  for (let i = 0; i < n; i++) {
    const { entry, leafHash: lh } = sealEvent(event(i), {
      index: i,
      received_at: '2026-01-01T00:00:01.000Z',
      prev_hash: prev,
      erasable: ['old_values'],
      random: (k) => new Uint8Array(k).fill(i & 255),
    });
    entries.push(entry);
    for (const node of tree.append(lh)) if (node.level > 0) nodes.push(node);
    prev = entry.hash;
  }
  return { entries, nodes };
}

const completedIn = (nodes: readonly NodeHash[], from: number, to: number) =>
  nodes.filter((x) => {
    const last = (x.index + 1) * 2 ** x.level - 1;
    return last >= from && last < to;
  });

describe('checkRun', () => {
  const { entries, nodes } = log(40);
  const slice = (from: number, to: number) => entries.slice(from, to).map((e) => structuredClone(e));

  it('summarises a clean run: links, leaves, subtrees and the stored nodes reaching before it', () => {
    for (const [from, to] of [
      [0, 8],
      [8, 16],
      [3, 11],
      [16, 40],
      [37, 40],
    ] as const) {
      const run = checkRun(slice(from, to), from, to, completedIn(nodes, from, to));
      assert.ok(run, `[${from}, ${to})`);
      assert.equal(run.firstPrev, entries[from]!.prev_hash);
      assert.equal(run.lastHash, entries[to - 1]!.hash);
      for (let i = from; i < to; i++)
        assert.equal(toHex(run.leaves.subarray((i - from) * 32, (i - from + 1) * 32)), entries[i]!.hash);
      // the subtrees appended after the tree of [0, from) give the tree of [0, to), node for node
      const byLeaf = CompactRange.empty();
      const bySubtree = CompactRange.empty();
      for (let i = 0; i < from; i++) {
        byLeaf.push(leafHash(new Uint8Array([i])));
        bySubtree.push(leafHash(new Uint8Array([i])));
      }
      const seenLeaf: string[] = [];
      const seenSubtree: string[] = [];
      for (let i = from; i < to; i++)
        byLeaf.push(run.leaves.subarray((i - from) * 32, (i - from + 1) * 32), (l, x) => {
          if (x * 2 ** l < from) seenLeaf.push(`${l}:${x}`);
        });
      for (const p of run.pieces)
        bySubtree.appendSubtree(p.level, p.hash, (l, x) => seenSubtree.push(`${l}:${x}`));
      assert.equal(toHex(bySubtree.root()), toHex(byLeaf.root()));
      assert.deepEqual(seenSubtree, seenLeaf, 'the nodes completed above the run');
      assert.deepEqual(run.upper.map((x) => `${x.level}:${x.index}`).sort(), [...seenLeaf].sort());
    }
  });

  it('refuses a run with an edited field, a broken link, a gap, an erasure or a wrong stored node', () => {
    const stored = completedIn(nodes, 8, 16);
    const cases: [string, Entry[], readonly NodeHash[]][] = [];
    const edited = slice(8, 16);
    edited[3]!.actor_id = 'someone else';
    cases.push(['edited field', edited, stored]);
    const relinked = slice(8, 16);
    relinked[5]!.prev_hash = relinked[3]!.hash;
    cases.push(['broken link', relinked, stored]);
    cases.push(['a gap', [...slice(8, 12), ...slice(13, 16), entries[16]!], stored]);
    const erased = slice(8, 16);
    erased[2]!.erased = ['old_values'];
    cases.push(['an erased value', erased, stored]);
    const salted = slice(8, 16);
    salted[1]!.salts = { old_values: '00' };
    cases.push(['a salt that does not match', salted, stored]);
    const wrong = stored.map((x, i) => (i === 0 ? { ...x, hash: new Uint8Array(32) } : x));
    cases.push(['a wrong stored node', slice(8, 16), wrong]);
    cases.push(['a missing stored node', slice(8, 16), stored.slice(1)]);
    cases.push([
      'an extra stored node',
      slice(8, 16),
      [...stored, { level: 1, index: 99, hash: new Uint8Array(32) }],
    ]);
    for (const [what, es, st] of cases) assert.equal(checkRun(es, 8, 16, st), undefined, what);
    assert.ok(checkRun(slice(8, 16), 8, 16, stored), 'the same run untouched');
  });
});

describe('Lookahead with runs', () => {
  const { entries } = log(12);
  const run = (from: number, to: number): VerifiedRun => ({
    ...checkRun(entries.slice(from, to), from, to)!,
    kind: 'run',
    expand: async () => entries.slice(from, to),
  });

  it('hands out a run whole, peeks at its first entry, and expands a refused one', async () => {
    async function* source() {
      yield entries.slice(0, 4);
      yield run(4, 8);
      yield run(8, 12);
    }
    const rows = new Lookahead(source(), (r) => r.start !== 8);
    const seen: string[] = [];
    for (let e = await rows.next(); e !== undefined; e = await rows.next()) {
      seen.push(isRun(e) ? `run ${e.start}` : `entry ${e.index}`);
      if (!isRun(e) && e.index === 3) assert.equal(rows.peek()?.index, 4);
    }
    assert.deepEqual(seen, [
      'entry 0',
      'entry 1',
      'entry 2',
      'entry 3',
      'run 4',
      'entry 8',
      'entry 9',
      'entry 10',
      'entry 11',
    ]);
  });
});
