/**
 * SHA-256 and the RFC 6962 / RFC 9162 §2.1.1 hashes built on it.
 *
 * The core ships a portable SHA-256 (pure JS, synchronous, runs in browsers). A Node entry
 * point may install the native one with `setSha256`: same function, same bytes, faster.
 */
import { sha256 as portableSha256 } from '@noble/hashes/sha2.js';

export type Sha256 = (data: Uint8Array) => Uint8Array;

let impl: Sha256 = portableSha256;

/** Installs another SHA-256 implementation (it MUST compute standard SHA-256). */
export function setSha256(fn: Sha256): void {
  impl = fn;
}

export function sha256(data: Uint8Array): Uint8Array {
  return impl(data);
}

export const HASH_SIZE = 32;

/** RFC 9162 §2.1.1: MTH({}) = SHA-256() */
export function emptyRoot(): Uint8Array {
  return impl(new Uint8Array(0));
}

/** RFC 9162 §2.1.1: leaf hash = SHA-256(0x00 || leaf) */
export function leafHash(leaf: Uint8Array): Uint8Array {
  const buf = new Uint8Array(leaf.length + 1);
  buf[0] = 0x00;
  buf.set(leaf, 1);
  return impl(buf);
}

/** The input of nodeHash for two 32-byte children, reused: SHA-256 reads it before returning. */
const nodeInput = new Uint8Array(1 + 2 * HASH_SIZE);
nodeInput[0] = 0x01;

/** RFC 9162 §2.1.1: interior node hash = SHA-256(0x01 || left || right) */
export function nodeHash(left: Uint8Array, right: Uint8Array): Uint8Array {
  if (left.length === HASH_SIZE && right.length === HASH_SIZE) {
    nodeInput.set(left, 1);
    nodeInput.set(right, 1 + HASH_SIZE);
    return impl(nodeInput);
  }
  const buf = new Uint8Array(1 + left.length + right.length);
  buf[0] = 0x01;
  buf.set(left, 1);
  buf.set(right, 1 + left.length);
  return impl(buf);
}

const encoder = new TextEncoder();
let scratch = new Uint8Array(4096);

/** leafHash(UTF-8 of text), encoding straight into a reused buffer behind the 0x00 prefix. */
export function leafHashOfText(text: string): Uint8Array {
  const need = text.length * 3 + 1; // UTF-8 takes at most 3 bytes per UTF-16 code unit
  if (scratch.length < need) scratch = new Uint8Array(Math.max(need, scratch.length * 2));
  scratch[0] = 0x00;
  const { written } = encoder.encodeInto(text, scratch.subarray(1));
  return impl(scratch.subarray(0, written + 1));
}
