/**
 * The viewer's trust rules (viewer/trust.ts), run in Node on the same core: which signature
 * lines count, and how a checkpoint is held against the one the page remembers.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { toBase64 } from '../../src/core/bytes.ts';
import { signCheckpoint } from '../../src/core/checkpoint.ts';
import { cosign, cosignerFromSeed, formatCosignerKey } from '../../src/core/cosignature.ts';
import { leafHash } from '../../src/core/hash.ts';
import { referenceConsistencyProof, referenceRoot } from '../../src/core/merkle/reference.ts';
import { formatNote, formatSignatureLine, parseNote } from '../../src/core/note.ts';
import { generateSigner } from '../../src/core/note-keys.ts';
import {
  checkCheckpoint,
  type Remembered,
  reconcile,
  TrustFailure,
  verifiersOf,
} from '../../viewer/trust.ts';

const ORIGIN = 'audit.example.com/default';
const log = generateSigner(ORIGIN);
const other = generateSigner('someone.else/log');
const witnessSeed = new Uint8Array(32).fill(7);
const witnessKey = formatCosignerKey(
  'witness.example',
  cosignerFromSeed('witness.example', witnessSeed).publicKey,
);
const leaves = (n: number, salt = '') =>
  Array.from({ length: n }, (_, i) => leafHash(new TextEncoder().encode(`${salt}${i}`)));
const note = (n: number, salt = '') =>
  signCheckpoint({ origin: ORIGIN, size: n, rootHash: referenceRoot(leaves(n, salt)) }, log.signer);

function withSignatures(n: number, extra: 'witness' | 'bad-witness' | 'unknown'): string {
  const base = note(n);
  const p = parseNote(base);
  const sig =
    extra === 'unknown'
      ? parseNote(
          signCheckpoint({ origin: ORIGIN, size: n, rootHash: referenceRoot(leaves(n)) }, other.signer),
        ).signatures[0]!
      : cosign(p.text, 'witness.example', witnessSeed, 1_700_000_000);
  if (extra === 'bad-witness') sig.signature[20]! ^= 1;
  return formatNote(p.text, [...p.signatures, sig]);
}

const failureOf = async (p: Promise<unknown> | (() => unknown)) => {
  try {
    await (typeof p === 'function' ? p() : p);
  } catch (e) {
    assert.ok(e instanceof TrustFailure, String(e));
    return { kind: e.kind, index: e.index };
  }
  assert.fail('no failure');
};

describe('the viewer trusts only the pinned keys', () => {
  // Quorum 0: these cases are about which lines count; the quorum has its own test below.
  const pins = verifiersOf({ logKeys: [log.verifierKey], witnessKeys: [witnessKey], quorum: 0 });

  it('shows every signature line: the log key and a pinned witness verified, another key ignored', () => {
    const w = checkCheckpoint(withSignatures(5, 'witness'), pins);
    assert.deepEqual(
      w.lines.map((l) => [l.name, l.status, l.time]),
      [
        [ORIGIN, 'log key: verified', undefined],
        ['witness.example', 'witness: verified', 1_700_000_000],
      ],
    );
    const u = checkCheckpoint(withSignatures(5, 'unknown'), pins);
    assert.equal(u.lines[1]!.status, 'unknown key: ignored');
  });

  it('a bad signature by a pinned witness fails the checkpoint; one without the log key is unverified', async () => {
    assert.deepEqual(await failureOf(() => checkCheckpoint(withSignatures(5, 'bad-witness'), pins)), {
      kind: 'bad-signature',
      index: null,
    });
    // Signed by the witness alone: a pinned key, but not the log's.
    const p = parseNote(withSignatures(5, 'witness'));
    const witnessOnly = formatNote(p.text, [p.signatures[1]!]);
    assert.equal((await failureOf(() => checkCheckpoint(witnessOnly, pins)))!.kind, 'unverified');
    const foreign = verifiersOf({ logKeys: [other.verifierKey], witnessKeys: [] });
    assert.equal((await failureOf(() => checkCheckpoint(note(5), foreign)))!.kind, 'unverified');
  });

  it('holds each checkpoint against the remembered one: same, grown, rolled back, forked, unproven', async () => {
    const remembered = (n: number): Remembered => ({
      size: n,
      root: toBase64(referenceRoot(leaves(n))),
      note: note(n),
      at: '2026-12-01T00:00:00Z',
    });
    const honest = async (from: number, to: number) => referenceConsistencyProof(from, leaves(to));
    const cp = (n: number, salt = '') => checkCheckpoint(note(n, salt), pins);
    assert.equal(await reconcile(cp(8), undefined, true, honest), 'first');
    assert.equal(await reconcile(cp(8), remembered(8), true, honest), 'same');
    assert.equal(await reconcile(cp(13), remembered(8), true, honest), 'grew');
    assert.equal(await reconcile(cp(5), remembered(8), false, honest), 'older');
    assert.deepEqual(await failureOf(reconcile(cp(5), remembered(8), true, honest)), {
      kind: 'rollback',
      index: 5,
    });
    assert.deepEqual(await failureOf(reconcile(cp(8, 'x'), remembered(8), true, honest)), {
      kind: 'fork',
      index: null,
    });
    // Another history of 13 entries: its proof cannot reach the remembered root of 8.
    const forked = async (from: number, to: number) => referenceConsistencyProof(from, leaves(to, 'x'));
    assert.equal((await failureOf(reconcile(cp(13, 'x'), remembered(8), true, forked)))!.kind, 'fork');
    const refused = async () => {
      throw new Error('PROOF_RANGE');
    };
    assert.deepEqual(await failureOf(reconcile(cp(13), remembered(8), true, refused)), {
      kind: 'unproven',
      index: 8,
    });
  });
});

describe('the viewer enforces the pinned witness quorum', () => {
  const seed2 = new Uint8Array(32).fill(9);
  const witness2 = formatCosignerKey(
    'witness2.example',
    cosignerFromSeed('witness2.example', seed2).publicKey,
  );
  const both = [witnessKey, witness2];
  // Signed by the log and cosigned by the first pinned witness only.
  const oneOfTwo = withSignatures(5, 'witness');
  const check = (quorum: number | undefined, keys = both, n = oneOfTwo) =>
    checkCheckpoint(n, verifiersOf({ logKeys: [log.verifierKey], witnessKeys: keys, quorum }));

  it('one of two pinned witnesses: fails quorum 2 (and the default, all), passes quorum 1', async () => {
    assert.equal((await failureOf(() => check(2)))!.kind, 'witness-quorum');
    assert.equal((await failureOf(() => check(undefined)))!.kind, 'witness-quorum');
    assert.throws(() => check(2), /WITNESS_QUORUM_UNMET.* 1 of 2 required witness cosignatures/);
    assert.equal(check(1).lines.filter((l) => l.status === 'witness: verified').length, 1);
    // Both cosign: quorum 2 met. A stranger's cosignature does not count towards it.
    const p = parseNote(oneOfTwo);
    const second = cosign(p.text, 'witness2.example', seed2, 1_700_000_001);
    assert.equal(check(2, both, formatNote(p.text, [...p.signatures, second])).size, 5);
    const stranger = formatSignatureLine(cosign(p.text, 'witness2.example', new Uint8Array(32).fill(3), 1));
    assert.equal((await failureOf(() => check(2, both, oneOfTwo + stranger)))!.kind, 'witness-quorum');
  });

  it('no witness pins, or quorum 0: no requirement; a quorum above the pins is refused', async () => {
    assert.equal(check(undefined, [], note(5)).size, 5);
    assert.equal(check(0, both, note(5)).size, 5);
    assert.throws(
      () => check(3),
      (e: unknown) => (e as { code?: string }).code === 'USAGE',
    );
  });
});
