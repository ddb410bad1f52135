import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { signCheckpoint } from '../../src/core/checkpoint.ts';
import { isEvidentError } from '../../src/core/errors.ts';
import { generateSigner, verifierFromKey } from '../../src/core/note-keys.ts';
import { FaultKind } from '../../src/core/verify/report.ts';
import { createKeyFile, createLog, exportBundle, type Ledger, openLedger } from '../../src/ledger/index.ts';
import { openStore } from '../../src/store/open.ts';
import { verifyBundleEveryWay } from './verify-ways.ts';

const dir = mkdtempSync(join(tmpdir(), 'evident-bundle-'));
let ledger: Ledger;
let vkey: string;

async function bundleText(o: Parameters<typeof exportBundle>[1] = {}): Promise<string> {
  let out = '';
  for await (const chunk of exportBundle(ledger, o)) out += chunk;
  return out;
}

async function check(text: string, trustedVkey = vkey) {
  const path = join(dir, `b-${Math.random().toString(36).slice(2)}.jsonl`);
  writeFileSync(path, text);
  return (await verifyBundleEveryWay(path, { verifiers: [verifierFromKey(trustedVkey)] })).report;
}

const event = (i: number) => ({
  actor_id: `user-${i % 5}`,
  actor_type: 'user',
  action: 'read',
  resource_type: 'invoice',
  resource_id: `inv-${i}`,
  result: 'success',
  ip_address: '192.0.2.1',
  timestamp: new Date(Date.UTC(2026, 0, 1) + i * 60_000).toISOString(),
  old_values: { amount: i },
});

describe('export bundles', () => {
  before(async () => {
    const db = join(dir, 'e.db');
    const signer = await createKeyFile(join(dir, 'e.key'), 'bundle.test/default');
    const store = await openStore(db);
    vkey = (await createLog(store, { name: 'default', origin: 'bundle.test/default', signer })).vkey;
    await store.close();
    ledger = await openLedger({ db, key: join(dir, 'e.key') });
    await ledger.appendMany(Array.from({ length: 77 }, (_, i) => event(i)));
  });
  after(async () => ledger.close());

  it('verifies whole and partial bundles offline, for every shape of range', async () => {
    for (const [from, to] of [
      [0, 77],
      [0, 0],
      [5, 6],
      [13, 64],
      [64, 77],
      [76, 77],
      [31, 33],
    ] as const) {
      const r = await check(await bundleText({ fromIndex: from, toIndex: to }));
      assert.equal(r.ok, true, `[${from}, ${to}): ${JSON.stringify(r.faults)}`);
      assert.equal(r.entries, to - from);
      assert.equal(r.verified_size, 77);
    }
  });

  it('selects by received_at, not by the event timestamp', async () => {
    // every entry was received now, whatever its timestamp: a window around now holds them all
    const text = await bundleText({ since: '2000-01-01T00:00:00Z', until: '2999-01-01T00:00:00Z' });
    const header = JSON.parse(text.split('\n')[0]!);
    assert.deepEqual(header.range, { from: 0, to: 77 });
    assert.equal(header.window.field, 'received_at');
    assert.equal((await check(text)).ok, true);
    const none = JSON.parse(
      (await bundleText({ since: event(10).timestamp, until: event(20).timestamp })).split('\n')[0]!,
    );
    assert.deepEqual(none.range, { from: 0, to: 0 });
  });

  it('detects an edited entry, a dropped line, a forged subtree hash and a foreign key', async () => {
    const text = await bundleText({ fromIndex: 10, toIndex: 40 });
    const lines = text.split('\n');
    const edit = (i: number, f: (o: Record<string, unknown>) => void) => {
      const copy = [...lines];
      const o = JSON.parse(copy[i]!);
      f(o);
      copy[i] = JSON.stringify(o);
      return copy.join('\n');
    };

    let r = await check(edit(5, (o) => (o.ip_address = '192.0.2.99')));
    assert.equal(r.ok, false);
    assert.equal(r.faults[0]!.kind, FaultKind.ENTRY_MODIFIED);
    assert.equal(r.first_bad_index, 14);

    r = await check(edit(5, (o) => ((o.old_values as Record<string, number>).amount = 1e6)));
    assert.equal(r.faults[0]!.kind, FaultKind.ENTRY_MODIFIED);
    assert.deepEqual(r.faults[0]!.fields, ['old_values']);

    r = await check([...lines.slice(0, 8), ...lines.slice(9)].join('\n'));
    assert.equal(r.ok, false);
    assert.equal(r.first_bad_index, 17);

    r = await check([...lines.slice(0, -2), ''].join('\n'));
    assert.equal(r.ok, false);

    r = await check(
      edit(0, (h) => {
        const p = h.prefix as string[];
        p[0] = Buffer.from(new Uint8Array(32).fill(7)).toString('base64');
      }),
    );
    assert.equal(r.ok, false);
    assert.equal(r.faults[0]!.kind, FaultKind.CHECKPOINT_ROOT_MISMATCH);

    const other = generateSigner('bundle.test/default');
    r = await check(text, other.verifierKey);
    assert.equal(r.ok, false);
    assert.equal(r.faults[0]!.kind, FaultKind.CHECKPOINT_SIGNATURE_INVALID);
  });

  it('refuses malformed headers and lines with BUNDLE_INVALID', async () => {
    const text = await bundleText({ fromIndex: 3, toIndex: 9 });
    const lines = text.split('\n');
    for (const broken of [
      '',
      'not json\n',
      [JSON.stringify({ ...JSON.parse(lines[0]!), format: 'other' }), ...lines.slice(1)].join('\n'),
      [JSON.stringify({ ...JSON.parse(lines[0]!), prefix: [] }), ...lines.slice(1)].join('\n'),
      [JSON.stringify({ ...JSON.parse(lines[0]!), range: { from: 9, to: 3 } }), ...lines.slice(1)].join('\n'),
      [lines[0], '{"a":1,"a":2}', ...lines.slice(2)].join('\n'),
    ]) {
      await assert.rejects(check(broken), (e: unknown) => isEvidentError(e, 'BUNDLE_INVALID'));
    }
  });

  it('reads the bundle line by line from disk', async () => {
    const path = join(dir, 'whole.jsonl');
    writeFileSync(path, await bundleText());
    assert.equal(readFileSync(path, 'utf8').split('\n').filter(Boolean).length, 78);
  });
});

describe('bundles against checkpoints kept outside (rollbacks and forks)', () => {
  const d = mkdtempSync(join(tmpdir(), 'evident-bundle-trust-'));
  let l: Ledger;
  let key: string;
  let signer: Awaited<ReturnType<typeof createKeyFile>>;
  let cp50: string;
  let cp100: string;
  let bundle50: string;

  const text = async (o: Parameters<typeof exportBundle>[1] = {}) => {
    let out = '';
    for await (const chunk of exportBundle(l, o)) out += chunk;
    return out;
  };
  const checkWith = async (bundle: string, trusted: string[]) => {
    const path = join(d, `b-${Math.random().toString(36).slice(2)}.jsonl`);
    writeFileSync(path, bundle);
    return (await verifyBundleEveryWay(path, { verifiers: [verifierFromKey(key)], trusted })).report;
  };
  /** A validly signed checkpoint of the log's key with another root: a fork. */
  const forged = (size: number) =>
    signCheckpoint({ origin: 'trust.test/default', size, rootHash: new Uint8Array(32).fill(9) }, signer);

  before(async () => {
    const db = join(d, 't.db');
    signer = await createKeyFile(join(d, 't.key'), 'trust.test/default');
    const store = await openStore(db);
    key = (await createLog(store, { name: 'default', origin: 'trust.test/default', signer })).vkey;
    await store.close();
    l = await openLedger({ db, key: join(d, 't.key') });
    await l.appendMany(Array.from({ length: 50 }, (_, i) => event(i)));
    bundle50 = await text();
    cp50 = (await l.checkpoint()).note;
    await l.appendMany(Array.from({ length: 50 }, (_, i) => event(50 + i)));
    cp100 = (await l.checkpoint()).note;
  });
  after(async () => l.close());

  it('a bundle truncated to an older checkpoint is not OK against a later trusted one', async () => {
    assert.equal((await checkWith(bundle50, [cp50])).ok, true);
    const r = await checkWith(bundle50, [cp100]);
    assert.equal(r.ok, false);
    assert.deepEqual(r.faults, [], 'an old bundle is no evidence of tampering by itself');
    assert.ok(!r.warnings.some((w) => w.startsWith('no checkpoint kept outside')), 'one was given');
    assert.deepEqual(
      r.unchecked?.map((u) => [u.size, u.reason]),
      [[100, 'beyond-bundle']],
    );
  });

  it('a signed fork beyond the range is never accepted silently', async () => {
    const part = await text({ fromIndex: 10, toIndex: 30 });
    // Beyond the bundle's tree: cannot be checked.
    let r = await checkWith(part, [forged(120)]);
    assert.equal(r.ok, false);
    assert.deepEqual(
      r.unchecked?.map((u) => u.reason),
      ['beyond-bundle'],
    );
    // Inside the tree but outside the entries, without a consistency proof: cannot be checked.
    r = await checkWith(part, [forged(60)]);
    assert.equal(r.ok, false);
    assert.deepEqual(
      r.unchecked?.map((u) => u.reason),
      ['no-consistency-proof'],
    );
    r = await checkWith(part, [cp50]);
    assert.deepEqual(
      r.unchecked?.map((u) => u.reason),
      ['no-consistency-proof'],
    );
    // With a consistency proof carried in the bundle: the genuine one passes, the fork is evidence.
    const proved = await text({ fromIndex: 10, toIndex: 30, consistencyFrom: [50, 60, 5] });
    r = await checkWith(proved, [cp50]);
    assert.equal(r.ok, true, JSON.stringify(r));
    r = await checkWith(proved, [forged(60)]);
    assert.equal(r.ok, false);
    assert.deepEqual(
      r.faults.map((f) => f.kind),
      [FaultKind.CHECKPOINT_INCONSISTENT],
    );
    // Inside the entries: compared with the rebuilt tree directly.
    r = await checkWith(part, [forged(20)]);
    assert.deepEqual(
      r.faults.map((f) => f.kind),
      [FaultKind.CHECKPOINT_ROOT_MISMATCH],
    );
    // At the bundle's own size: a fork of the bundle's checkpoint.
    r = await checkWith(part, [forged(100)]);
    assert.deepEqual(
      r.faults.map((f) => f.kind),
      [FaultKind.CHECKPOINT_INCONSISTENT],
    );
    assert.equal((await checkWith(part, [cp100])).ok, true);
  });

  it('edge cases: a trusted size 0 is checked against the empty tree; equal sizes compare roots', async () => {
    const part = await text({ fromIndex: 40, toIndex: 45 });
    const empty = signCheckpoint(
      {
        origin: 'trust.test/default',
        size: 0,
        rootHash: new Uint8Array(await crypto.subtle.digest('SHA-256', new Uint8Array(0))),
      },
      signer,
    );
    assert.equal((await checkWith(part, [empty])).ok, true);
    const r = await checkWith(part, [forged(0)]);
    assert.deepEqual(
      r.faults.map((f) => f.kind),
      [FaultKind.CHECKPOINT_INCONSISTENT],
    );
  });

  it('refuses a malformed consistency field with BUNDLE_INVALID, and a proof beyond the log with PROOF_RANGE', async () => {
    const proved = await text({ fromIndex: 10, toIndex: 30, consistencyFrom: [50] });
    const lines = proved.split('\n');
    const h = JSON.parse(lines[0]!);
    for (const consistency of [
      {},
      [{ size: 101, hashes: [] }],
      [{ size: 50.5, hashes: [] }],
      [{ size: 50, hashes: ['AA=='] }],
      [
        { size: 50, hashes: [] },
        { size: 50, hashes: [] },
      ],
    ]) {
      await assert.rejects(
        checkWith([JSON.stringify({ ...h, consistency }), ...lines.slice(1)].join('\n'), []),
        (e: unknown) => isEvidentError(e, 'BUNDLE_INVALID'),
      );
    }
    await assert.rejects(text({ consistencyFrom: [500] }), (e: unknown) => isEvidentError(e, 'PROOF_RANGE'));
  });
});

describe('bundle text as docs/formats.md allows it', () => {
  const d = mkdtempSync(join(tmpdir(), 'evident-bundle-text-'));
  let l: Ledger;
  let key: string;
  let honest: string;
  const checkText = async (text: string) => {
    const path = join(d, `b-${Math.random().toString(36).slice(2)}.jsonl`);
    writeFileSync(path, text);
    return (await verifyBundleEveryWay(path, { verifiers: [verifierFromKey(key)] })).report;
  };
  before(async () => {
    const db = join(d, 'n.db');
    const signer = await createKeyFile(join(d, 'n.key'), 'numbers.test/default');
    const store = await openStore(db);
    key = (await createLog(store, { name: 'default', origin: 'numbers.test/default', signer })).vkey;
    await store.close();
    l = await openLedger({ db, key: join(d, 'n.key') });
    await l.appendMany(Array.from({ length: 12 }, (_, i) => ({ ...event(i), metadata: { n: i, f: 0.5 } })));
    honest = '';
    for await (const chunk of exportBundle(l, { fromIndex: 2, toIndex: 9 })) honest += chunk;
  });
  after(async () => l.close());

  it('blank lines (empty, spaces, tabs) anywhere and CRLF line ends are accepted', async () => {
    const lines = honest.split('\n');
    const spaced = ['', '  ', lines[0], '\t', ...lines.slice(1, 4), '', ' \t ', ...lines.slice(4)].join('\n');
    assert.equal((await checkText(spaced)).ok, true);
    assert.equal((await checkText(honest.replace(/\n/g, '\r\n'))).ok, true);
    // Any other character is not blank: a line holding only a no-break space is not JSON.
    await assert.rejects(checkText([lines[0], '\u00a0', ...lines.slice(1)].join('\n')), (e: unknown) =>
      isEvidentError(e, 'BUNDLE_INVALID'),
    );
  });

  it('numbers are values: 3.0, 3e0 and 30E-1 are the number 3, in the header and in entries', async () => {
    const rewritten = honest
      .replace(/"index":(\d+)/g, '"index":$1.0')
      .replace(/"n":(\d+)/g, '"n":$1e0')
      .replace(/"f":0\.5/g, '"f":5E-1')
      .replace('"tree_size":12', '"tree_size":120E-1')
      .replace('"from":2', '"from":2.00');
    assert.notEqual(rewritten, honest);
    const r = await checkText(rewritten);
    assert.equal(r.ok, true, JSON.stringify(r.faults));
    assert.equal(r.entries, 7);
  });

  it('numbers that are errors: beyond a double, an integer beyond ±(2^53−1), a fractional index', async () => {
    const lines = honest.split('\n');
    for (const bad of ['1e400', '9007199254740993', '-9007199254740993', '01', '+1', '.5', '1.', 'NaN']) {
      const text = [lines[0], lines[1]!.replace(/"n":\d+/, `"n":${bad}`), ...lines.slice(2)].join('\n');
      await assert.rejects(checkText(text), (e: unknown) => isEvidentError(e, 'BUNDLE_INVALID'), bad);
    }
    // A key added to an entry enters its leaf: the entry no longer hashes to its hash.
    const added = await checkText(
      [lines[0], lines[1]!.replace('{', '{"extra":1,'), ...lines.slice(2)].join('\n'),
    );
    assert.equal(added.faults[0]?.kind, FaultKind.ENTRY_MODIFIED);
    // A fractional index names no leaf: the line is not the entry that was written (evidence).
    const r = await checkText(
      [lines[0], lines[1]!.replace('"index":2', '"index":2.5'), ...lines.slice(2)].join('\n'),
    );
    assert.equal(r.ok, false);
    assert.equal(r.faults[0]!.kind, FaultKind.ENTRY_MODIFIED);
  });
});
