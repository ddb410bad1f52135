import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { sha256 as portableSha256 } from '@noble/hashes/sha2.js';
import fc from 'fast-check';
import { toHex, utf8 } from '../../src/core/bytes.ts';
import { emptyRoot, leafHash, leafHashOfText, nodeHash, sha256 } from '../../src/core/hash.ts';
import { nativeLeafHex, nativeSha256 } from '../../src/ledger/native-hash.ts';

describe('native SHA-256', () => {
  it('computes the same digest as the portable one, for whole arrays and for views into them', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), fc.nat(), fc.nat(), (bytes, a, b) => {
        assert.equal(toHex(nativeSha256(bytes)), toHex(portableSha256(bytes)));
        const start = bytes.length === 0 ? 0 : a % bytes.length;
        const view = bytes.subarray(start, start + (b % (bytes.length - start + 1)));
        assert.equal(toHex(nativeSha256(view)), toHex(portableSha256(view)));
      }),
      { numRuns: 500 },
    );
  });

  it('hashes a leaf text to the hex of the portable leaf hash, for any text (NUL, astral, escapes)', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme', maxLength: 200 }), (text) => {
        assert.equal(nativeLeafHex(text), toHex(portableSha256(new Uint8Array([0, ...utf8(text)]))));
      }),
      { numRuns: 500 },
    );
    assert.equal(nativeLeafHex(''), '6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d');
  });

  it('is the core hash once the ledger is loaded, with the RFC 6962 answers', () => {
    assert.equal(toHex(sha256(new Uint8Array([7]))), toHex(portableSha256(new Uint8Array([7]))));
    assert.equal(toHex(emptyRoot()), 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
    assert.equal(
      toHex(leafHash(new Uint8Array(0))),
      '6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d',
    );
    const l = leafHash(new Uint8Array([1]));
    assert.equal(toHex(nodeHash(l, l)), toHex(portableSha256(new Uint8Array([1, ...l, ...l]))));
    assert.equal(toHex(leafHashOfText('é')), toHex(portableSha256(new Uint8Array([0, 0xc3, 0xa9]))));
  });

  it('returns a plain Uint8Array whose slice() is a copy, not a Buffer sharing memory', () => {
    const d = nativeSha256(new Uint8Array([1, 2, 3]));
    assert.equal(Object.getPrototypeOf(d), Uint8Array.prototype);
    const copy = d.slice();
    copy[0] = d[0]! ^ 0xff;
    assert.notEqual(copy[0], d[0]);
    assert.equal(d.length, 32);
  });
});
