import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { fromBase64, fromHex, toBase64, toHex, utf8 } from '../../src/core/bytes.ts';
import { type ErrorCode, isEvidentError } from '../../src/core/errors.ts';
import { sha256 } from '../../src/core/hash.ts';
import {
  formatNote,
  MAX_NOTE_BYTES,
  MAX_NOTE_SIGNATURES,
  type NoteSignature,
  parseNote,
  signNote,
  verifyNote,
} from '../../src/core/note.ts';
import {
  formatKeyText,
  formatSignerKey,
  formatVerifierKey,
  generateSigner,
  keyId,
  type NoteSigner,
  type NoteVerifier,
  parseSignerKey,
  parseVerifierKey,
  signerFromKey,
  signerFromSeed,
  verifierFromKey,
  verifierFromPublicKey,
} from '../../src/core/note-keys.ts';

interface Vectors {
  notes: { vkey: string; note: string; expect: { key_id: string } }[];
  golden_checkpoint: {
    seed_hex: string;
    public_key_b64: string;
    key_name: string;
    key_id_preimage_hex: string;
    key_id_hex: string;
    vkey: string;
    skey_go_format: string;
    note: string;
  };
}

const vectors: Vectors = JSON.parse(
  readFileSync(new URL('../vectors/signed-notes.json', import.meta.url), 'utf8'),
);
const golden = vectors.golden_checkpoint;
const sumdb = vectors.notes[0]!;
const goldenSeed = fromHex(golden.seed_hex);
const goldenSigner = signerFromSeed(golden.key_name, goldenSeed);
const goldenVerifier = verifierFromKey(golden.vkey);
const GOLDEN_TEXT = golden.note.slice(0, golden.note.indexOf('\n\n') + 1);

/** Deterministic seeds, so the tests never depend on randomness. */
function seed(n: number): Uint8Array {
  return sha256(utf8(`evident test seed ${n}`));
}
const alice = signerFromSeed('alice.example/log', seed(1));
const bob = signerFromSeed('bob.example/log', seed(2));
const verifierOf = (s: NoteSigner): NoteVerifier => verifierFromPublicKey(s.name, s.publicKey);

function throwsCode(fn: () => unknown, code: ErrorCode, details: Record<string, unknown> = {}): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(isEvidentError(e), `expected an EvidentError, got ${String(e)}`);
    assert.equal(e.code, code);
    for (const [k, v] of Object.entries(details)) assert.deepEqual(e.details[k], v, `details.${k}`);
    return true;
  });
}

function errorOf(fn: () => unknown): { code: string; details: Record<string, unknown> } | null {
  try {
    fn();
    return null;
  } catch (e) {
    assert.ok(isEvidentError(e), `expected an EvidentError, got ${String(e)}`);
    return { code: e.code, details: e.details };
  }
}

describe('note keys', () => {
  it('derives the golden key ID: SHA-256(name || 0x0A || 0x01 || public key)[:4]', () => {
    const preimage = fromHex(golden.key_id_preimage_hex);
    assert.equal(toHex(sha256(preimage).slice(0, 4)), golden.key_id_hex);
    assert.equal(toBase64(goldenSigner.publicKey), golden.public_key_b64);
    assert.equal(toHex(keyId(golden.key_name, goldenSigner.publicKey)), golden.key_id_hex);
    assert.equal(toHex(goldenSigner.keyId), golden.key_id_hex);
  });

  it('formats and parses the golden verifier key and Go signer key', () => {
    assert.equal(formatVerifierKey(golden.key_name, goldenSigner.publicKey), golden.vkey);
    assert.equal(formatSignerKey(golden.key_name, goldenSeed), golden.skey_go_format);
    const vk = parseVerifierKey(golden.vkey);
    assert.equal(vk.name, golden.key_name);
    assert.equal(toHex(vk.keyId), golden.key_id_hex);
    assert.equal(toBase64(vk.publicKey), golden.public_key_b64);
    const sk = parseSignerKey(golden.skey_go_format);
    assert.equal(sk.name, golden.key_name);
    assert.equal(toHex(sk.seed), golden.seed_hex);
    assert.equal(toHex(sk.keyId), golden.key_id_hex);
    assert.equal(toBase64(signerFromKey(golden.skey_go_format).publicKey), golden.public_key_b64);
  });

  it('splits a verifier key on the first two "+" only (its base64 may contain "+")', () => {
    const keys = [
      golden.vkey,
      sumdb.vkey,
      // From transparency-dev/formats note tests: "+" right after the algorithm byte.
      'TEST+7997405c+AQcC+FTVKf0jlTdHDY3rbevmnKxxPjigCXlVtGe6RIr6',
    ];
    for (const k of keys) {
      assert.ok(k.split('+').length > 3, `${k} has a "+" in its base64`);
      const parsed = parseVerifierKey(k);
      assert.equal(formatVerifierKey(parsed.name, parsed.publicKey), k);
    }
    assert.equal(toHex(parseVerifierKey(sumdb.vkey).keyId), sumdb.expect.key_id);
  });

  it('accepts the golang.org/x/mod/sumdb/note documentation example', () => {
    const vkey = 'PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW';
    const skey = 'PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz';
    const text =
      "If you think cryptography is the answer to your problem,\nthen you don't know what your problem is.\n";
    const note = `${text}\n— PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n`;
    assert.equal(signNote(text, [signerFromKey(skey)]), note);
    const v = verifyNote(note, [verifierFromKey(vkey)]);
    assert.equal(v.text, text);
    assert.equal(toHex(v.verified[0]!.keyId), 'c74f20a3');
  });

  it('rejects bad key names', () => {
    for (const name of [
      '',
      'a+b',
      'a b',
      'a\tb',
      'a\nb',
      'a\u00a0b',
      'a\u2003b',
      'a\u3000b',
      'a\u2028b',
      'a\u0001b',
    ]) {
      throwsCode(() => keyId(name, goldenSigner.publicKey), 'KEY_INVALID', { reason: 'name' });
      throwsCode(() => signerFromSeed(name, goldenSeed), 'KEY_INVALID', { reason: 'name' });
    }
    throwsCode(() => keyId('\ud800x', goldenSigner.publicKey), 'KEY_INVALID', { reason: 'name' });
  });

  it('rejects malformed verifier keys', () => {
    const [name, id, b64] = [golden.key_name, golden.key_id_hex, golden.vkey.split('+').slice(2).join('+')];
    const cases: [string, string][] = [
      [`${name}+${id}`, 'format'],
      [name, 'format'],
      [`+${id}+${b64}`, 'name'],
      [`a b+${id}+${b64}`, 'name'],
      [`${name}+${id.toUpperCase()}+${b64}`, 'key-id-format'],
      [`${name}+${id.slice(1)}+${b64}`, 'key-id-format'],
      [`${name}+${id}0+${b64}`, 'key-id-format'],
      [`${name}+00000000+${b64}`, 'key-id-mismatch'],
      [`other.example/log+${id}+${b64}`, 'key-id-mismatch'],
      [`${name}+${id}+${b64.replace(/\+/g, '-').replace(/\//g, '_')}`, 'base64'],
      [`${name}+${id}+${b64} `, 'base64'],
      [`${name}+${id}+ ${b64}`, 'base64'],
      [`${name}+${id}+`, 'length'],
      [formatKeyText(name, 0x02, goldenSigner.publicKey), 'algorithm'],
      [formatKeyText(name, 0x04, goldenSigner.publicKey), 'algorithm'],
      [formatKeyText(name, 0x01, goldenSigner.publicKey.slice(0, 31)), 'length'],
      [formatKeyText(name, 0x01, new Uint8Array(33)), 'length'],
      // y >= p: not a canonical encoding.
      [formatKeyText(name, 0x01, new Uint8Array(32).fill(0xff)), 'public-key-invalid'],
      // The identity point: small order, can never verify under strict RFC 8032.
      [
        formatKeyText(
          name,
          0x01,
          Uint8Array.from({ length: 32 }, (_, i) => (i === 0 ? 1 : 0)),
        ),
        'public-key-invalid',
      ],
    ];
    for (const [k, reason] of cases) throwsCode(() => parseVerifierKey(k), 'KEY_INVALID', { reason });
  });

  it('rejects malformed signer keys', () => {
    const sk = golden.skey_go_format;
    const cases: [string, string][] = [
      [sk.replace('PRIVATE+KEY+', 'PRIVATE+'), 'format'],
      [sk.replace('PRIVATE', 'private'), 'format'],
      [golden.vkey, 'format'],
      [sk.replace(golden.key_id_hex, '00000000'), 'key-id-mismatch'],
      [sk.replace(golden.key_name, 'other.example'), 'key-id-mismatch'],
      [sk.replace(golden.key_id_hex, golden.key_id_hex.toUpperCase()), 'key-id-format'],
      [`${sk}=`, 'base64'],
    ];
    for (const [k, reason] of cases) throwsCode(() => parseSignerKey(k), 'KEY_INVALID', { reason });
    throwsCode(() => signerFromSeed('a', new Uint8Array(31)), 'KEY_INVALID', { reason: 'length' });
  });

  it('generates keys from the given randomness, or from Web Crypto by default', () => {
    const g = generateSigner(golden.key_name, (n) => goldenSeed.slice(0, n));
    assert.equal(g.signerKey, golden.skey_go_format);
    assert.equal(g.verifierKey, golden.vkey);
    assert.equal(signNote(GOLDEN_TEXT, [g.signer]), golden.note);
    const a = generateSigner('x.example/a');
    const b = generateSigner('x.example/a');
    assert.notEqual(a.verifierKey, b.verifierKey);
    const note = signNote('hello\n', [a.signer]);
    assert.equal(verifyNote(note, [verifierFromKey(a.verifierKey)]).verified.length, 1);
    assert.equal(verifyNote(note, [verifierFromKey(a.verifierKey)]).verified.length, 1);
    throwsCode(() => generateSigner('x', () => new Uint8Array(16)), 'KEY_INVALID', { reason: 'length' });
  });
});

describe('signed notes', () => {
  it('verifies the real sum.golang.org note under its key (key name differs from origin)', () => {
    const v = verifyNote(sumdb.note, [verifierFromKey(sumdb.vkey)]);
    assert.equal(v.text, 'go.sum database tree\n49189689\nftjbAOzaupaIvaPo/G+Dk63nxOZ2s1OPOKIaPtXs7S4=\n');
    assert.equal(v.verified.length, 1);
    assert.equal(v.verified[0]!.name, 'sum.golang.org');
    assert.equal(toHex(v.verified[0]!.keyId), sumdb.expect.key_id);
    assert.deepEqual(v.unknown, []);
    // The same from bytes.
    assert.equal(verifyNote(utf8(sumdb.note), [verifierFromKey(sumdb.vkey)]).text, v.text);
  });

  it('reproduces the golden note byte for byte', () => {
    assert.equal(signNote(GOLDEN_TEXT, [goldenSigner]), golden.note);
    const p = parseNote(golden.note);
    assert.equal(p.text, GOLDEN_TEXT);
    assert.equal(p.signatures.length, 1);
    assert.equal(p.signatures[0]!.name, golden.key_name);
    assert.equal(toHex(p.signatures[0]!.keyId), golden.key_id_hex);
    assert.equal(p.signatures[0]!.signature.length, 64);
    assert.equal(formatNote(p.text, p.signatures), golden.note);
    assert.equal(verifyNote(golden.note, [goldenVerifier]).verified.length, 1);
  });

  it('signs with several keys in order and verifies all of them', () => {
    const note = signNote('a\n\nb\n', [alice, bob]);
    const lines = note.split('\n');
    assert.ok(lines[4]!.startsWith('— alice.example/log '));
    assert.ok(lines[5]!.startsWith('— bob.example/log '));
    const v = verifyNote(note, [verifierOf(bob), verifierOf(alice)]);
    assert.equal(v.text, 'a\n\nb\n'); // the text may contain empty lines
    assert.deepEqual(
      v.verified.map((s) => s.name),
      ['alice.example/log', 'bob.example/log'],
    );
  });

  describe('format pitfalls', () => {
    it('requires the em dash U+2014 and single spaces', () => {
      for (const dash of ['-', '\u2013', '\u2015', '--']) {
        throwsCode(() => parseNote(golden.note.replace('\u2014', dash)), 'NOTE_MALFORMED', {
          reason: 'signature-prefix',
        });
      }
      throwsCode(() => parseNote(golden.note.replace('\u2014 ', '\u2014')), 'NOTE_MALFORMED', {
        reason: 'signature-prefix',
      });
      throwsCode(() => parseNote(golden.note.replace('\u2014 ', '\u2014  ')), 'NOTE_MALFORMED', {
        reason: 'signature-name',
      });
      throwsCode(
        () => parseNote(golden.note.replace(`${golden.key_name} `, `${golden.key_name}  `)),
        'NOTE_MALFORMED',
        {
          reason: 'signature-base64',
        },
      );
      throwsCode(
        () => parseNote(golden.note.replace(`${golden.key_name} `, golden.key_name)),
        'NOTE_MALFORMED',
        {
          reason: 'signature-format',
        },
      );
    });

    it('rejects CR anywhere, and other control characters', () => {
      throwsCode(() => parseNote(golden.note.replace(/\n/g, '\r\n')), 'NOTE_MALFORMED', {
        reason: 'control-character',
        index: golden.note.indexOf('\n'),
      });
      throwsCode(() => parseNote(`${golden.note.slice(0, -1)}\r\n`), 'NOTE_MALFORMED', {
        reason: 'control-character',
      });
      throwsCode(() => parseNote(golden.note.replace('\n8\n', '\n8\r\n')), 'NOTE_MALFORMED', {
        reason: 'control-character',
      });
      for (const c of ['\t', '\u0000', '\u000b', '\u000c', '\u001b']) {
        throwsCode(
          () => parseNote(golden.note.replace('example.com/log\n', `example.com/log${c}\n`)),
          'NOTE_MALFORMED',
          {
            reason: 'control-character',
          },
        );
      }
      throwsCode(() => signNote('a\r\n', [alice]), 'NOTE_MALFORMED', { reason: 'control-character' });
    });

    it('requires a final newline, on the note and on the signed text', () => {
      throwsCode(() => parseNote(golden.note.slice(0, -1)), 'NOTE_MALFORMED', {
        reason: 'missing-final-newline',
      });
      throwsCode(() => signNote('no newline', [alice]), 'NOTE_MALFORMED', {
        reason: 'missing-final-newline',
      });
    });

    it('requires exactly one blank line between text and signatures', () => {
      const twoBlank = golden.note.replace('\n\n', '\n\n\n');
      throwsCode(() => parseNote(twoBlank), 'NOTE_MALFORMED', { reason: 'blank-line-before-signatures' });
      throwsCode(() => parseNote(golden.note.replace('\n\n', '\n')), 'NOTE_MALFORMED', {
        reason: 'no-signature-block',
      });
      throwsCode(() => parseNote(`${golden.note}\n`), 'NOTE_MALFORMED', { reason: 'no-signatures' });
      throwsCode(() => parseNote(`${GOLDEN_TEXT}\n`), 'NOTE_MALFORMED', { reason: 'no-signatures' });
      throwsCode(
        () => parseNote(`\n${golden.note.slice(golden.note.indexOf('\n\n') + 1)}`),
        'NOTE_MALFORMED',
        {
          reason: 'blank-line-before-signatures',
        },
      );
      throwsCode(() => signNote('a\n\n', [alice]), 'NOTE_MALFORMED', {
        reason: 'blank-line-before-signatures',
      });
      throwsCode(() => signNote('', [alice]), 'NOTE_MALFORMED', { reason: 'empty-text' });
      throwsCode(() => signNote('a\n', []), 'NOTE_MALFORMED', { reason: 'no-signatures' });
    });

    it('accepts only canonical standard padded base64 signatures', () => {
      // The sum.golang.org signature holds both '+' and '/'.
      const sig = sumdb.note.slice(sumdb.note.lastIndexOf(' ') + 1, -1);
      assert.match(sig, /[+/]/);
      const variants = [
        sig.replace(/\+/g, '-').replace(/\//g, '_'), // base64url
        sig.replace(/=+$/, ''), // missing padding
        `${sig.slice(0, 20)} ${sig.slice(20)}`, // whitespace inside
        `${sig} `, // trailing space
        `${sig}=`, // extra padding
        `=${sig.slice(1)}`, // misplaced padding
      ];
      for (const bad of variants) {
        throwsCode(() => parseNote(sumdb.note.replace(sig, bad)), 'NOTE_MALFORMED', {
          reason: 'signature-base64',
        });
      }
      // Non-zero trailing bits: 68 bytes leave 2 unused bits in the last character before '='.
      const goldenSig = golden.note.slice(golden.note.lastIndexOf(' ') + 1, -1);
      const last = goldenSig.at(-2)!;
      const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
      const sibling = alphabet[alphabet.indexOf(last) | 1]!;
      assert.notEqual(sibling, last);
      const nonCanonical = `${goldenSig.slice(0, -2)}${sibling}=`;
      // Node's Buffer accepts it as the same bytes: the pitfall.
      assert.deepEqual(Buffer.from(nonCanonical, 'base64'), Buffer.from(goldenSig, 'base64'));
      throwsCode(() => parseNote(golden.note.replace(goldenSig, nonCanonical)), 'NOTE_MALFORMED', {
        reason: 'signature-base64',
      });
      // Too short to hold a key ID and a signature.
      throwsCode(() => parseNote(`${GOLDEN_TEXT}\n— a AAAAAA==\n`), 'NOTE_MALFORMED', {
        reason: 'signature-length',
      });
      throwsCode(() => parseNote(`${GOLDEN_TEXT}\n— a \n`), 'NOTE_MALFORMED', { reason: 'signature-length' });
    });

    it('ignores signatures from unknown keys', () => {
      const witness = signerFromSeed('witness.example/w1', seed(3));
      const note = signNote(GOLDEN_TEXT, [goldenSigner, witness]);
      const v = verifyNote(note, [goldenVerifier]);
      assert.deepEqual(
        v.verified.map((s) => s.name),
        [golden.key_name],
      );
      assert.deepEqual(
        v.unknown.map((s) => [s.name, toHex(s.keyId)]),
        [['witness.example/w1', toHex(witness.keyId)]],
      );
    });

    it('ignores garbage signatures sharing only the name, or only the key ID, of a known key', () => {
      const garbage = toBase64(new Uint8Array(64).fill(7));
      const lines = [
        `— ${golden.key_name} ${toBase64(new Uint8Array([0, 0, 0, 0, ...fromBase64(garbage)]))}\n`,
        `— other.example/log ${toBase64(new Uint8Array([...goldenSigner.keyId, ...fromBase64(garbage)]))}\n`,
      ];
      const note = golden.note + lines.join('');
      const v = verifyNote(note, [goldenVerifier]);
      assert.equal(v.verified.length, 1);
      assert.equal(v.unknown.length, 2);
    });

    it('rejects a bad signature from a known key even when another known key verifies', () => {
      const note = signNote(GOLDEN_TEXT, [alice, bob]);
      const p = parseNote(note);
      const badBob: NoteSignature = { ...p.signatures[1]!, signature: p.signatures[1]!.signature.slice() };
      badBob.signature[10]! ^= 1;
      for (const sigs of [
        [p.signatures[0]!, badBob],
        [badBob, p.signatures[0]!],
      ]) {
        const tampered = formatNote(p.text, sigs);
        throwsCode(
          () => verifyNote(tampered, [verifierOf(alice), verifierOf(bob)]),
          'NOTE_SIGNATURE_INVALID',
          {
            name: 'bob.example/log',
            keyId: toHex(bob.keyId),
          },
        );
        // Without bob's key, his signature is unknown and alice's suffices.
        assert.equal(verifyNote(tampered, [verifierOf(alice)]).verified.length, 1);
      }
      // A bad duplicate cannot hide behind a good signature by the same key.
      const dup = formatNote(p.text, [p.signatures[1]!, badBob]);
      throwsCode(() => verifyNote(dup, [verifierOf(bob)]), 'NOTE_SIGNATURE_INVALID', {
        name: 'bob.example/log',
      });
      // A good duplicate is reported once.
      const good = formatNote(p.text, [p.signatures[1]!, p.signatures[1]!]);
      assert.equal(verifyNote(good, [verifierOf(bob)]).verified.length, 1);
    });

    it('rejects a note whose signatures are all unknown', () => {
      const note = signNote(GOLDEN_TEXT, [alice, bob]);
      throwsCode(() => verifyNote(note, [goldenVerifier]), 'NOTE_UNVERIFIED', {
        unknown: [
          { name: 'alice.example/log', keyId: toHex(alice.keyId) },
          { name: 'bob.example/log', keyId: toHex(bob.keyId) },
        ],
      });
      throwsCode(() => verifyNote(golden.note, []), 'NOTE_UNVERIFIED');
      // sum.golang.org's note is not trusted under the golden key.
      throwsCode(() => verifyNote(sumdb.note, [goldenVerifier]), 'NOTE_UNVERIFIED');
    });

    it('refuses two verifiers with the same name and key ID', () => {
      throwsCode(() => verifyNote(golden.note, [goldenVerifier, goldenVerifier]), 'KEY_INVALID', {
        reason: 'ambiguous-verifier',
      });
    });
  });

  it('rejects a non-canonical (s + L) signature from a known key: strict RFC 8032', () => {
    const p = parseNote(golden.note);
    const sig = p.signatures[0]!.signature;
    const L = (1n << 252n) + 27742317777372353535851937790883648493n;
    let s = 0n;
    for (let i = 63; i >= 32; i--) s = (s << 8n) | BigInt(sig[i]!);
    s += L;
    const bad = sig.slice();
    for (let i = 32; i < 64; i++) {
      bad[i] = Number(s & 0xffn);
      s >>= 8n;
    }
    const note = formatNote(p.text, [{ ...p.signatures[0]!, signature: bad }]);
    throwsCode(() => verifyNote(note, [goldenVerifier]), 'NOTE_SIGNATURE_INVALID');
    // A signature of the wrong length from a known key fails too.
    const short = formatNote(p.text, [{ ...p.signatures[0]!, signature: sig.slice(0, 63) }]);
    throwsCode(() => verifyNote(short, [goldenVerifier]), 'NOTE_SIGNATURE_INVALID');
  });

  // Every byte position, changed by each single-bit flip and to each byte that matters to the
  // format. EVIDENT_EXHAUSTIVE=1 tries all 255 other values at every position (~35 s: each
  // surviving change costs one pure-JS Ed25519 verification).
  const EXHAUSTIVE = process.env['EVIDENT_EXHAUSTIVE'] === '1';
  const SPECIAL = [0x00, 0x09, 0x0a, 0x0d, 0x20, 0x2b, 0x2d, 0x2f, 0x3d, 0x80, 0xe2, 0xff];
  const changesOf = (b: number): number[] => {
    const all = EXHAUSTIVE
      ? Array.from({ length: 256 }, (_, v) => v)
      : [...[0, 1, 2, 3, 4, 5, 6, 7].map((k) => b ^ (1 << k)), ...SPECIAL];
    return [...new Set(all)].filter((v) => v !== b);
  };

  it('rejects every single-byte change to the golden and sum.golang.org notes', () => {
    const cases: [string, NoteVerifier][] = [
      [golden.note, goldenVerifier],
      [sumdb.note, verifierFromKey(sumdb.vkey)],
    ];
    for (const [note, verifier] of cases) {
      const bytes = utf8(note);
      const textEnd = utf8(note.slice(0, note.indexOf('\n\n') + 1)).length;
      const seen = new Set<string>();
      for (let i = 0; i < bytes.length; i++) {
        for (const v of changesOf(bytes[i]!)) {
          const copy = bytes.slice();
          copy[i] = v;
          const err = errorOf(() => verifyNote(copy, [verifier]));
          assert.ok(err, `change at byte ${i} to ${v} was accepted`);
          assert.ok(
            ['NOTE_MALFORMED', 'NOTE_SIGNATURE_INVALID', 'NOTE_UNVERIFIED'].includes(err.code),
            `unexpected ${err.code}`,
          );
          // A printable ASCII change to the text still parses, and fails only on the signature.
          if (i < textEnd - 1 && v > 0x20 && v < 0x7f && bytes[i] !== 0x0a) {
            assert.equal(err.code, 'NOTE_SIGNATURE_INVALID', `byte ${i} -> ${v}`);
          }
          seen.add(err.code);
        }
      }
      assert.deepEqual([...seen].sort(), ['NOTE_MALFORMED', 'NOTE_SIGNATURE_INVALID', 'NOTE_UNVERIFIED']);
    }
  });

  it('bounds the number of signatures and the note size', () => {
    const unknown = signerFromSeed('someone.example/else', seed(4));
    const line = signNote(GOLDEN_TEXT, [unknown]).slice(GOLDEN_TEXT.length + 1);
    // C2SP: MUST accept at least 16 signatures.
    const sixteen = golden.note + line.repeat(15);
    assert.equal(verifyNote(sixteen, [goldenVerifier]).unknown.length, 15);
    const max = golden.note + line.repeat(MAX_NOTE_SIGNATURES - 1);
    assert.equal(parseNote(max).signatures.length, MAX_NOTE_SIGNATURES);
    throwsCode(() => parseNote(max + line), 'NOTE_MALFORMED', {
      reason: 'too-many-signatures',
      max: MAX_NOTE_SIGNATURES,
    });
    const huge = `${'a'.repeat(MAX_NOTE_BYTES)}\n\n${line}`;
    throwsCode(() => parseNote(huge), 'NOTE_MALFORMED', { reason: 'too-large' });
    throwsCode(() => parseNote(utf8(huge)), 'NOTE_MALFORMED', { reason: 'too-large' });
    // Multi-byte characters count in UTF-8 bytes.
    const wide = `${'\u20ac'.repeat(MAX_NOTE_BYTES / 3)}\n\n${line}`;
    assert.ok(wide.length < MAX_NOTE_BYTES);
    throwsCode(() => parseNote(wide), 'NOTE_MALFORMED', { reason: 'too-large' });
  });

  it('requires valid UTF-8 and no byte order mark', () => {
    const bytes = utf8(golden.note);
    const bad = bytes.slice();
    bad[2] = 0xff;
    throwsCode(() => parseNote(bad), 'NOTE_MALFORMED', { reason: 'utf8' });
    throwsCode(() => parseNote(`\ud800${golden.note}`), 'NOTE_MALFORMED', { reason: 'utf8' });
    throwsCode(() => parseNote(new Uint8Array([0xef, 0xbb, 0xbf, ...bytes])), 'NOTE_MALFORMED', {
      reason: 'byte-order-mark',
    });
    throwsCode(() => parseNote(`\ufeff${golden.note}`), 'NOTE_MALFORMED', { reason: 'byte-order-mark' });
    // Non-ASCII text is fine, and the signature covers its UTF-8 bytes.
    const text =
      'Ognuno sta solo sul cuor della terra\ntrafitto da un raggio di sole:\n\ned è subito sera.\n';
    const note = signNote(text, [alice]);
    assert.equal(verifyNote(utf8(note), [verifierOf(alice)]).text, text);
  });
});
