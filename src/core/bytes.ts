/**
 * Byte helpers on plain Uint8Array, so the core runs in browsers as well as Node.
 * Decoders are strict: every parsed byte is hostile.
 */
import { ErrorCode, EvidentError } from './errors.ts';

const HEX = '0123456789abcdef';
const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8', { fatal: true });

export function utf8(s: string): Uint8Array {
  return encoder.encode(s);
}

/**
 * utf8(s).length without encoding: 1 byte per code unit below U+0080, 2 below U+0800, 4 per
 * surrogate pair, 3 for the rest (a lone surrogate too: the encoder writes U+FFFD for it).
 */
export function utf8Length(s: string): number {
  let n = s.length;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) continue;
    if (c < 0x800) {
      n += 1;
      continue;
    }
    n += 2; // 3 bytes for one code unit, or 4 for a pair of two
    const next = s.charCodeAt(i + 1); // NaN past the end
    if (c >= 0xd800 && c <= 0xdbff && next >= 0xdc00 && next <= 0xdfff) i++;
  }
  return n;
}

/** Decodes UTF-8, rejecting malformed sequences (no silent U+FFFD). */
export function fromUtf8(b: Uint8Array): string {
  try {
    return decoder.decode(b);
  } catch {
    throw new EvidentError(ErrorCode.ENCODING_INVALID, 'bytes are not valid UTF-8');
  }
}

const HEX_CODES = Array.from(HEX, (c) => c.charCodeAt(0));

/**
 * The text of `n` ASCII codes that `fill` writes, built as bytes and decoded once: one string
 * allocated, where appending a character at a time allocates one string per step (a proof's
 * base64 made a third of its garbage). The scratch buffer is reused up to 64 KiB.
 */
const asciiDecoder = new TextDecoder();
let asciiScratch = new Uint8Array(1024);
function asciiText(n: number, fill: (out: Uint8Array) => void): string {
  let out = asciiScratch;
  if (out.length < n) {
    out = new Uint8Array(n);
    if (n <= 65_536) asciiScratch = out;
  }
  fill(out);
  return asciiDecoder.decode(out.subarray(0, n));
}

const BYTE_HEX = Array.from({ length: 256 }, (_, v) => HEX[v >> 4]! + HEX[v & 15]!);

/** Lowercase hex. Short inputs (hashes) are quicker appended a byte at a time than decoded. */
export function toHex(b: Uint8Array): string {
  let s = '';
  for (let i = 0; i < b.length; i++) s += BYTE_HEX[b[i]!]!;
  return s;
}

/** Whether `s` is exactly toHex(b), without building that string. */
export function hexEquals(b: Uint8Array, s: unknown): boolean {
  if (typeof s !== 'string' || s.length !== b.length * 2) return false;
  for (let i = 0; i < b.length; i++) {
    const v = b[i]!;
    if (s.charCodeAt(2 * i) !== HEX_CODES[v >> 4] || s.charCodeAt(2 * i + 1) !== HEX_CODES[v & 15]) {
      return false;
    }
  }
  return true;
}

/** 0-15 for a lowercase hex digit's code, -1 for anything else. */
const HEX_VALUE = new Int8Array(128).fill(-1);
for (let i = 0; i < HEX.length; i++) HEX_VALUE[HEX.charCodeAt(i)] = i;

const notHex = () => new EvidentError(ErrorCode.ENCODING_INVALID, 'not lowercase hex of even length');

/** Lowercase hex only, even length. */
export function fromHex(s: string, expectedLength?: number): Uint8Array {
  if (s.length % 2 !== 0) throw notHex();
  const out = new Uint8Array(s.length / 2);
  for (let i = 0; i < out.length; i++) {
    // a code beyond the table (128 and up) reads undefined, taken as -1 like any other non-digit
    const hi = HEX_VALUE[s.charCodeAt(2 * i)] ?? -1;
    const lo = HEX_VALUE[s.charCodeAt(2 * i + 1)] ?? -1;
    if (hi < 0 || lo < 0) throw notHex();
    out[i] = (hi << 4) | lo;
  }
  if (expectedLength !== undefined && out.length !== expectedLength) {
    throw new EvidentError(ErrorCode.ENCODING_INVALID, `expected ${expectedLength} bytes, got ${out.length}`);
  }
  return out;
}

const B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
const B64_INDEX = new Int16Array(128).fill(-1);
for (let i = 0; i < B64.length; i++) B64_INDEX[B64.charCodeAt(i)] = i;

const B64_CODES = Uint8Array.from(B64, (c) => c.charCodeAt(0));
const PAD = '='.charCodeAt(0);

/** Standard, padded base64 (RFC 4648 §4). */
export function toBase64(b: Uint8Array): string {
  return asciiText(Math.ceil(b.length / 3) * 4, (out) => {
    let i = 0;
    let o = 0;
    for (; i + 2 < b.length; i += 3, o += 4) {
      const n = (b[i]! << 16) | (b[i + 1]! << 8) | b[i + 2]!;
      out[o] = B64_CODES[n >> 18]!;
      out[o + 1] = B64_CODES[(n >> 12) & 63]!;
      out[o + 2] = B64_CODES[(n >> 6) & 63]!;
      out[o + 3] = B64_CODES[n & 63]!;
    }
    const rest = b.length - i;
    if (rest === 0) return;
    const n = (b[i]! << 16) | (rest === 2 ? b[i + 1]! << 8 : 0);
    out[o] = B64_CODES[n >> 18]!;
    out[o + 1] = B64_CODES[(n >> 12) & 63]!;
    out[o + 2] = rest === 2 ? B64_CODES[(n >> 6) & 63]! : PAD;
    out[o + 3] = PAD;
  });
}

/**
 * Canonical standard base64 only: the standard alphabet, padding present, no whitespace, and
 * zero trailing bits (RFC 4648 §3.5), so that one byte string has exactly one accepted text.
 */
export function fromBase64(s: string, expectedLength?: number): Uint8Array {
  const bad = (why: string): never => {
    throw new EvidentError(ErrorCode.ENCODING_INVALID, `invalid base64: ${why}`);
  };
  if (s.length % 4 !== 0) bad('length is not a multiple of 4 (padding missing?)');
  let pad = 0;
  if (s.endsWith('==')) pad = 2;
  else if (s.endsWith('=')) pad = 1;
  const out = new Uint8Array((s.length / 4) * 3 - pad);
  let o = 0;
  for (let i = 0; i < s.length; i += 4) {
    const last = i + 4 === s.length;
    let n = 0;
    for (let j = 0; j < 4; j++) {
      const c = s.charCodeAt(i + j);
      let v: number;
      if (c === 61 /* = */) {
        if (!last || j < 4 - pad) bad('misplaced padding');
        v = 0;
      } else {
        v = c < 128 ? B64_INDEX[c]! : -1;
        if (v < 0) bad(`character ${JSON.stringify(s[i + j])} is not in the standard alphabet`);
      }
      n = (n << 6) | v;
    }
    const bytes = [(n >> 16) & 255, (n >> 8) & 255, n & 255];
    const keep = last ? 3 - pad : 3;
    if (last && pad > 0) {
      const trailing = pad === 2 ? n & 0xffff : n & 0xff;
      if (trailing !== 0) bad('non-zero trailing bits');
    }
    for (let j = 0; j < keep; j++) out[o++] = bytes[j]!;
  }
  if (expectedLength !== undefined && out.length !== expectedLength) {
    bad(`expected ${expectedLength} bytes, got ${out.length}`);
  }
  return out;
}

export function concatBytes(...parts: Uint8Array[]): Uint8Array {
  let len = 0;
  for (const p of parts) len += p.length;
  const out = new Uint8Array(len);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let d = 0;
  for (let i = 0; i < a.length; i++) d |= a[i]! ^ b[i]!;
  return d === 0;
}
