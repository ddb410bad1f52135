import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { ed25519 } from '@noble/curves/ed25519.js';
import { fromBase64, fromHex, toBase64, toHex, utf8 } from '../../src/core/bytes.ts';
import {
  formatCheckpoint,
  openCheckpoint,
  parseCheckpoint,
  signCheckpoint,
} from '../../src/core/checkpoint.ts';
import {
  COSIGNATURE_SIZE,
  cosign,
  cosignatureMessage,
  cosignatureTimestamp,
  cosignatureVerifier,
  cosignerFromSeed,
  cosignerKeyId,
  formatCosignerKey,
  parseCosignerKey,
  verifyCosignature,
} from '../../src/core/cosignature.ts';
import { type ErrorCode, isEvidentError } from '../../src/core/errors.ts';
import { emptyRoot, leafHash, nodeHash, sha256 } from '../../src/core/hash.ts';
import { formatNote, parseNote, signNote } from '../../src/core/note.ts';
import {
  formatKeyText,
  keyId,
  signerFromSeed,
  verifierFromKey,
  verifierFromPublicKey,
} from '../../src/core/note-keys.ts';

interface Vectors {
  notes: {
    vkey: string;
    note: string;
    expect: { origin: string; size: number; root: string; key_id: string; warnings: number };
  }[];
  golden_checkpoint: {
    seed_hex: string;
    key_name: string;
    vkey: string;
    origin: string;
    size: number;
    root_b64: string;
    note: string;
  };
}

const read = (name: string): unknown =>
  JSON.parse(readFileSync(new URL(`../vectors/${name}`, import.meta.url), 'utf8'));
const vectors = read('signed-notes.json') as Vectors;
const rfc6962 = read('rfc6962.json') as { leaves: { hex: string }[]; roots: { size: number; b64: string }[] };
const golden = vectors.golden_checkpoint;
const sumdb = vectors.notes[0]!;
const goldenSigner = signerFromSeed(golden.key_name, fromHex(golden.seed_hex));
const goldenVerifier = verifierFromKey(golden.vkey);
const goldenCp = { origin: golden.origin, size: golden.size, rootHash: fromBase64(golden.root_b64) };
const GOLDEN_TEXT = `${golden.origin}\n${golden.size}\n${golden.root_b64}\n`;

function throwsCode(fn: () => unknown, code: ErrorCode, details: Record<string, unknown> = {}): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(isEvidentError(e), `expected an EvidentError, got ${String(e)}`);
    assert.equal(e.code, code);
    for (const [k, v] of Object.entries(details)) assert.deepEqual(e.details[k], v, `details.${k}`);
    return true;
  });
}

/** RFC 9162 §2.1.1 MTH, written out here so the golden root is tied to the 8 leaves. */
function mth(leaves: Uint8Array[]): Uint8Array {
  if (leaves.length === 0) return emptyRoot();
  if (leaves.length === 1) return leafHash(leaves[0]!);
  let k = 1;
  while (k * 2 < leaves.length) k *= 2;
  return nodeHash(mth(leaves.slice(0, k)), mth(leaves.slice(k)));
}

describe('checkpoint body', () => {
  it('is the golden checkpoint of the 8-leaf RFC 6962 tree', () => {
    const root = mth(rfc6962.leaves.map((l) => fromHex(l.hex)));
    assert.equal(toBase64(root), golden.root_b64);
    assert.equal(rfc6962.roots.find((r) => r.size === 8)!.b64, golden.root_b64);
    assert.equal(formatCheckpoint(goldenCp), GOLDEN_TEXT);
    const cp = parseCheckpoint(GOLDEN_TEXT);
    assert.deepEqual(cp, { ...goldenCp, extensions: [] });
  });

  it('round-trips extension lines, an empty tree and the largest safe size', () => {
    const ext = { ...goldenCp, extensions: ['— not a signature', 'x y z'] };
    const text = formatCheckpoint(ext);
    assert.equal(text, `${GOLDEN_TEXT}— not a signature\nx y z\n`);
    assert.deepEqual(parseCheckpoint(text), ext);
    const empty = { origin: 'o', size: 0, rootHash: emptyRoot() };
    assert.deepEqual(parseCheckpoint(formatCheckpoint(empty)), { ...empty, extensions: [] });
    const big = { origin: 'o', size: Number.MAX_SAFE_INTEGER, rootHash: emptyRoot() };
    assert.equal(parseCheckpoint(formatCheckpoint(big)).size, Number.MAX_SAFE_INTEGER);
    // Origins are only RECOMMENDED to be URL-like: spaces and '+' parse.
    assert.equal(
      parseCheckpoint('go.sum database tree\n1\n' + toBase64(emptyRoot()) + '\n').origin,
      'go.sum database tree',
    );
    assert.equal(parseCheckpoint('a+b\n1\n' + toBase64(emptyRoot()) + '\n').origin, 'a+b');
  });

  it('rejects a malformed size', () => {
    for (const size of ['08', '00', '+8', '-1', ' 8', '8 ', '1e3', '0x8', '8.0', '\u0668', '１']) {
      throwsCode(() => parseCheckpoint(GOLDEN_TEXT.replace('\n8\n', `\n${size}\n`)), 'CHECKPOINT_MALFORMED', {
        reason: 'size',
        line: 1,
      });
    }
    for (const size of ['9007199254740992', '18446744073709551616', '9'.repeat(400)]) {
      throwsCode(() => parseCheckpoint(GOLDEN_TEXT.replace('\n8\n', `\n${size}\n`)), 'CHECKPOINT_MALFORMED', {
        reason: 'size-range',
        line: 1,
      });
    }
  });

  it('rejects a root hash that is not canonical base64 of 32 bytes', () => {
    const r = golden.root_b64; // "XcnaeacGWamtVZy3Ad7ZoqudgjqtL0lgz+Nw7/RgQyg="
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
    const trailing = `${r.slice(0, -2)}${alphabet[alphabet.indexOf(r.at(-2)!) ^ 1]}=`;
    assert.deepEqual(Buffer.from(trailing, 'base64'), Buffer.from(r, 'base64')); // Node would accept it
    const bad = [
      r.replace(/\+/g, '-').replace(/\//g, '_'), // base64url
      r.slice(0, -1), // missing padding
      ` ${r}`,
      `${r.slice(0, 10)} ${r.slice(10)}`,
      trailing, // non-zero trailing bits
      toBase64(new Uint8Array(31)),
      toBase64(new Uint8Array(33)),
      toHex(fromBase64(r)),
    ];
    for (const root of bad) {
      throwsCode(() => parseCheckpoint(GOLDEN_TEXT.replace(r, root)), 'CHECKPOINT_MALFORMED', {
        reason: 'root-hash',
        line: 2,
      });
    }
  });

  it('rejects missing or empty lines, CR and a missing final newline', () => {
    const root = `${golden.root_b64}\n`;
    const cases: [string, string, Record<string, unknown>?][] = [
      [GOLDEN_TEXT.slice(0, -1), 'missing-final-newline'],
      [`\n8\n${root}`, 'empty-line', { line: 0 }],
      [`${GOLDEN_TEXT}\n`, 'empty-line', { line: 3 }],
      [`${GOLDEN_TEXT}ext\n\nmore\n`, 'empty-line', { line: 4 }],
      [`${golden.origin}\n8\n`, 'too-few-lines'],
      ['', 'missing-final-newline'],
      ['\n', 'too-few-lines'],
      [GOLDEN_TEXT.replace(/\n/g, '\r\n'), 'control-character'],
      [GOLDEN_TEXT.replace('example', 'exa\tmple'), 'control-character'],
      [`\ud800${GOLDEN_TEXT}`, 'utf8'],
    ];
    for (const [text, reason, extra] of cases) {
      throwsCode(() => parseCheckpoint(text), 'CHECKPOINT_MALFORMED', { reason, ...extra });
    }
  });

  it('refuses to format what it could not parse', () => {
    const cases: [object, string][] = [
      [{ origin: '' }, 'empty-line'],
      [{ origin: 'a\nb' }, 'control-character'],
      [{ origin: 'a\rb' }, 'control-character'],
      [{ size: -1 }, 'size'],
      [{ size: 1.5 }, 'size'],
      [{ size: Number.NaN }, 'size'],
      [{ size: Number.MAX_SAFE_INTEGER + 1 }, 'size'],
      [{ rootHash: new Uint8Array(31) }, 'root-hash'],
      [{ extensions: [''] }, 'empty-line'],
      [{ extensions: ['a\nb'] }, 'control-character'],
    ];
    for (const [patch, reason] of cases) {
      throwsCode(() => formatCheckpoint({ ...goldenCp, ...patch }), 'CHECKPOINT_MALFORMED', { reason });
    }
  });
});

describe('signed checkpoints', () => {
  it('signs the golden checkpoint byte for byte and opens it', () => {
    const note = signCheckpoint(goldenCp, goldenSigner);
    assert.equal(note, golden.note);
    assert.equal(signCheckpoint(goldenCp, [goldenSigner]), golden.note);
    const o = openCheckpoint(note, goldenVerifier, golden.origin);
    assert.deepEqual(o.checkpoint, { ...goldenCp, extensions: [] });
    assert.equal(o.text, GOLDEN_TEXT);
    assert.equal(toHex(o.verified[0]!.keyId), toHex(goldenSigner.keyId));
    assert.deepEqual(o.warnings, []);
  });

  it('opens the real sum.golang.org checkpoint; its key name differs from its origin', () => {
    const o = openCheckpoint(sumdb.note, [verifierFromKey(sumdb.vkey)], sumdb.expect.origin);
    assert.equal(o.checkpoint.origin, sumdb.expect.origin);
    assert.equal(o.checkpoint.size, sumdb.expect.size);
    assert.equal(toBase64(o.checkpoint.rootHash), sumdb.expect.root);
    assert.equal(toHex(o.verified[0]!.keyId), sumdb.expect.key_id);
    // Two SHOULDs broken, neither an error: key name != origin, origin with spaces.
    assert.equal(o.warnings.length, sumdb.expect.warnings);
    assert.deepEqual(o.warnings, ['key-name-not-origin', 'origin-not-recommended']);
  });

  it('checks the origin when one is expected', () => {
    throwsCode(
      () => openCheckpoint(golden.note, goldenVerifier, 'example.com/other'),
      'CHECKPOINT_MALFORMED',
      {
        reason: 'origin-mismatch',
        expected: 'example.com/other',
        origin: golden.origin,
      },
    );
    throwsCode(
      () => openCheckpoint(sumdb.note, verifierFromKey(sumdb.vkey), 'sum.golang.org'),
      'CHECKPOINT_MALFORMED',
      {
        reason: 'origin-mismatch',
      },
    );
  });

  it('verifies the note before looking at the checkpoint', () => {
    throwsCode(() => openCheckpoint(golden.note, verifierFromKey(sumdb.vkey)), 'NOTE_UNVERIFIED');
    throwsCode(
      () => openCheckpoint(golden.note.replace('\n8\n', '\n9\n'), goldenVerifier),
      'NOTE_SIGNATURE_INVALID',
    );
    throwsCode(
      () => openCheckpoint(golden.note.replace('\n8\n', '\n08\n'), goldenVerifier),
      'NOTE_SIGNATURE_INVALID',
    );
    throwsCode(() => openCheckpoint(golden.note.replace('\u2014', '-'), goldenVerifier), 'NOTE_MALFORMED');
    // A validly signed note that is not a checkpoint.
    const notCp = signNote('example.com/log\n08\nroot\n', [goldenSigner]);
    throwsCode(() => openCheckpoint(notCp, goldenVerifier), 'CHECKPOINT_MALFORMED', { reason: 'size' });
  });

  it('reports a key name that is not the origin as a warning only', () => {
    const s = signerFromSeed('example.com/log-key-2', sha256(utf8('k2')));
    const o = openCheckpoint(signCheckpoint(goldenCp, s), verifierFromPublicKey(s.name, s.publicKey));
    assert.deepEqual(o.warnings, ['key-name-not-origin']);
  });
});

describe('cosignatures (tlog-cosignature, Ed25519)', () => {
  // RFC 8032 §7.1 TEST 2 key as the witness.
  const wSeed = fromHex('4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb');
  const wPub = fromHex('3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c');
  const W = 'witness.example/w1';
  const T = 1679315147;

  it('derives the key ID with signature type 0x04', () => {
    assert.equal(
      toHex(cosignerKeyId(W, wPub)),
      toHex(sha256(new Uint8Array([...utf8(W), 0x0a, 0x04, ...wPub])).slice(0, 4)),
    );
    assert.notEqual(toHex(cosignerKeyId(W, wPub)), toHex(keyId(W, wPub)));
    const vkey = formatCosignerKey(W, wPub);
    assert.deepEqual(parseCosignerKey(vkey), { name: W, keyId: cosignerKeyId(W, wPub), publicKey: wPub });
    // A real type-0x04 vkey (from transparency-dev/formats tests); its key ID is the hash.
    const remora = parseCosignerKey('remora.n621.de+da77ade7+BOvN63jn/bLvkieywe8R6UYAtVtNbZpXh34x7onlmtw2');
    assert.equal(toHex(remora.keyId), 'da77ade7');
    throwsCode(() => parseCosignerKey(golden.vkey), 'KEY_INVALID', { reason: 'algorithm', algorithm: 1 });
    throwsCode(() => parseCosignerKey(formatKeyText(W, 0x04, new Uint8Array(32).fill(0xff))), 'KEY_INVALID', {
      reason: 'public-key-invalid',
    });
  });

  it('signs "cosignature/v1\\ntime <t>\\n" + the checkpoint body, timestamp first', () => {
    assert.equal(
      new TextDecoder().decode(cosignatureMessage(GOLDEN_TEXT, T)),
      `cosignature/v1\ntime ${T}\n${GOLDEN_TEXT}`,
    );
    const sig = cosign(GOLDEN_TEXT, W, wSeed, T);
    assert.equal(sig.name, W);
    assert.equal(toHex(sig.keyId), toHex(cosignerKeyId(W, wPub)));
    assert.equal(sig.signature.length, COSIGNATURE_SIZE);
    assert.equal(toHex(sig.signature.slice(0, 8)), '00000000641850cb');
    // Independent check with the raw Ed25519 primitive over the spec's message.
    const msg = utf8(`cosignature/v1\ntime ${T}\n${GOLDEN_TEXT}`);
    assert.ok(ed25519.verify(sig.signature.slice(8), msg, wPub, { zip215: false }));
    assert.equal(verifyCosignature(GOLDEN_TEXT, sig, formatCosignerKey(W, wPub)), T);
    assert.equal(verifyCosignature(GOLDEN_TEXT, sig, { name: W, publicKey: wPub }), T);
    throwsCode(() => cosign('not a checkpoint\n', W, wSeed, T), 'CHECKPOINT_MALFORMED');
    throwsCode(() => cosign(GOLDEN_TEXT, W, wSeed, -1), 'VALIDATION_FAILED');
    throwsCode(() => cosign(GOLDEN_TEXT, W, wSeed, 1.5), 'VALIDATION_FAILED');
  });

  it('reads the timestamp of the C2SP example cosignature', () => {
    const raw = fromBase64(
      'jWbPPwAAAABkGFDLEZMHwSRaJNiIDoe9DYn/zXcrtPHeolMI5OWXEhZCB9dlrDJsX3b2oyin1nPZqhf5nNo0xUe+mbIUBkBIfZ+qnA==',
    );
    assert.equal(cosignatureTimestamp(raw.slice(4)), 1679315147); // the spec's "time 1679315147"
    assert.equal(cosignatureTimestamp(raw.slice(5)), null);
    const huge = raw.slice(4);
    huge[0] = 0x80;
    assert.equal(cosignatureTimestamp(huge), null);
  });

  it('rides on the checkpoint note; known witnesses are verified, unknown ones ignored', () => {
    const p = parseNote(golden.note);
    const cosigned = formatNote(p.text, [...p.signatures, cosign(p.text, W, wSeed, T)]);
    const witness = cosignatureVerifier(formatCosignerKey(W, wPub));
    const both = openCheckpoint(cosigned, [goldenVerifier, witness], golden.origin);
    assert.deepEqual(
      both.verified.map((s) => s.name),
      [golden.key_name, W],
    );
    const logOnly = openCheckpoint(cosigned, goldenVerifier);
    assert.deepEqual(
      logOnly.unknown.map((s) => s.name),
      [W],
    );
    // The witness's key as a plain (type 0x01) note key has another key ID: unknown, ignored.
    throwsCode(() => openCheckpoint(cosigned, [verifierFromPublicKey(W, wPub)]), 'NOTE_UNVERIFIED');
    // Signing through the NoteSigner interface with a fixed clock gives the same bytes.
    const viaSigner = signNote(p.text, [goldenSigner, cosignerFromSeed(W, wSeed, () => T)]);
    assert.equal(viaSigner, cosigned);
  });

  it('rejects a changed timestamp, checkpoint or signature', () => {
    const sig = cosign(GOLDEN_TEXT, W, wSeed, T);
    const vkey = formatCosignerKey(W, wPub);
    const later = { ...sig, signature: sig.signature.slice() };
    later.signature[7]! ^= 1;
    throwsCode(() => verifyCosignature(GOLDEN_TEXT, later, vkey), 'NOTE_SIGNATURE_INVALID', {
      reason: 'invalid',
    });
    const other = GOLDEN_TEXT.replace('\n8\n', '\n9\n');
    throwsCode(() => verifyCosignature(other, sig, vkey), 'NOTE_SIGNATURE_INVALID', { reason: 'invalid' });
    throwsCode(() => verifyCosignature('garbage', sig, vkey), 'NOTE_SIGNATURE_INVALID', {
      reason: 'invalid',
    });
    const short = { ...sig, signature: sig.signature.slice(0, 71) };
    throwsCode(() => verifyCosignature(GOLDEN_TEXT, short, vkey), 'NOTE_SIGNATURE_INVALID', {
      reason: 'invalid',
    });
    const renamed = { ...sig, name: 'witness.example/w2' };
    throwsCode(() => verifyCosignature(GOLDEN_TEXT, renamed, vkey), 'NOTE_SIGNATURE_INVALID', {
      reason: 'key-mismatch',
    });
    // In a note: a bad cosignature by a known witness rejects the whole note.
    const p = parseNote(golden.note);
    const bad = formatNote(p.text, [...p.signatures, later]);
    throwsCode(
      () => openCheckpoint(bad, [goldenVerifier, cosignatureVerifier(vkey)]),
      'NOTE_SIGNATURE_INVALID',
      {
        name: W,
      },
    );
  });
});
