/**
 * Node's native SHA-256 for the core's hashing: the same bytes, several times faster.
 *
 * `crypto.hash` (one call, no Hash object) where this Node has it, else `createHash`. The
 * digest comes back as a plain Uint8Array over the digest's own memory, not as a Buffer:
 * Buffer's `slice()` shares memory where Uint8Array's copies, and the compact range relies
 * on `slice()` copying. test/ledger/native-hash.test.ts holds it equal to the portable hash.
 */
import * as crypto from 'node:crypto';
import { type Sha256, setSha256 } from '../core/hash.ts';

type OneShot = (algorithm: 'sha256', data: Uint8Array, encoding: 'buffer') => Uint8Array;
const oneShot = (crypto as { hash?: OneShot }).hash;

const plain = (b: Uint8Array): Uint8Array => new Uint8Array(b.buffer, b.byteOffset, b.byteLength);

export const nativeSha256: Sha256 = oneShot
  ? (data) => plain(oneShot('sha256', data, 'buffer'))
  : (data) => plain(crypto.createHash('sha256').update(data).digest());

setSha256(nativeSha256);

type OneShotText = (algorithm: 'sha256', data: string, encoding: 'hex') => string;
const oneShotText = (crypto as { hash?: OneShotText }).hash;

/** hex(SHA-256(0x00 || UTF-8 of text)), the leaf hash of a leaf text, without a byte copy of it. */
export const nativeLeafHex = oneShotText
  ? (text: string): string => oneShotText('sha256', `\u0000${text}`, 'hex')
  : (text: string): string => crypto.createHash('sha256').update(`\u0000${text}`).digest('hex');
