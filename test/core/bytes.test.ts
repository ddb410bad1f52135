/**
 * The core's byte encoders against Node's own (Buffer), over every length up to 300 and random
 * bytes, and the hex decoder's refusals. The core writes its own so that it runs in browsers.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, test } from 'node:test';
import { fromBase64, fromHex, hexEquals, toBase64, toHex } from '../../src/core/bytes.ts';
import { ErrorCode, EvidentError } from '../../src/core/errors.ts';

const samples = function* (): Generator<Uint8Array> {
  for (let len = 0; len <= 300; len++) {
    for (let k = 0; k < 8; k++) yield new Uint8Array(randomBytes(len));
  }
  yield new Uint8Array(256).map((_, i) => i); // every byte value
  yield new Uint8Array(randomBytes(100_000)); // beyond the reused scratch buffer
};

describe('toBase64 and toHex', () => {
  test('equal Buffer’s base64 and hex, and round-trip', () => {
    for (const b of samples()) {
      const b64 = toBase64(b);
      assert.equal(b64, Buffer.from(b).toString('base64'), `base64 of ${b.length} bytes`);
      assert.deepEqual(fromBase64(b64), b);
      const hex = toHex(b);
      assert.equal(hex, Buffer.from(b).toString('hex'), `hex of ${b.length} bytes`);
      assert.deepEqual(fromHex(hex), b);
      assert.ok(hexEquals(b, hex));
    }
  });

  test('a long encoding does not disturb the next short one (scratch reuse)', () => {
    const long = new Uint8Array(randomBytes(70_000));
    const short = new Uint8Array([1, 2, 3, 4]);
    const a = toBase64(long);
    assert.equal(toBase64(short), 'AQIDBA==');
    assert.equal(a, Buffer.from(long).toString('base64'), 'the first string kept its characters');
  });
});

describe('fromHex refuses what is not lowercase hex of even length', () => {
  for (const bad of [
    'a',
    'abc',
    'AB',
    'aB',
    'g0',
    '0g',
    'zz',
    '0\u0100',
    '\u00e90',
    '\u{1f600}',
    ' 0',
    '0 ',
    '-1',
    '+1',
    '0x',
    '٠٠',
  ]) {
    test(JSON.stringify(bad), () => {
      assert.throws(
        () => fromHex(bad),
        (e: unknown) => e instanceof EvidentError && e.code === ErrorCode.ENCODING_INVALID,
      );
    });
  }
  test('and a wrong length when one is expected', () => {
    assert.throws(() => fromHex('00'.repeat(31), 32), /expected 32 bytes, got 31/);
    assert.equal(fromHex('00'.repeat(32), 32).length, 32);
    assert.equal(fromHex('').length, 0);
  });
});
