/**
 * Entry bundles (C2SP tlog-tiles, "Log entries"): the leaf bytes of up to 256 consecutive
 * entries, each prefixed with its length as a big-endian uint16. Each entry hashes (RFC 9162
 * §2.1.1, SHA-256(0x00 || bytes)) to the hash at the same place in the level-0 tile.
 *
 * A uint16 cannot hold an entry over 65,535 bytes, and evident accepts events up to 256 KiB. A
 * bundle holding such an entry is served instead in evident's own format at another URL
 * (`entries-u32/<N>[.p/<W>]`, which tlog-tiles permits): the same entries, each prefixed with
 * a big-endian uint32. `lengthBytes` picks the format.
 */
import { ErrorCode, EvidentError } from '../errors.ts';

/** The largest entry a C2SP entry bundle holds (uint16 length). */
export const MAX_BUNDLE_ENTRY = 0xffff;

export type LengthBytes = 2 | 4;

/** The size of the bundle of these leaves, or -1 if one is too large for `lengthBytes`. */
export function entryBundleSize(leaves: readonly Uint8Array[], lengthBytes: LengthBytes = 2): number {
  const max = lengthBytes === 2 ? MAX_BUNDLE_ENTRY : 0xffffffff;
  let n = 0;
  for (const l of leaves) {
    if (l.length > max) return -1;
    n += lengthBytes + l.length;
  }
  return n;
}

/** Encodes leaves as a bundle; TILE_ENTRY_TOO_LARGE if an entry does not fit the length prefix. */
export function encodeEntryBundle(leaves: readonly Uint8Array[], lengthBytes: LengthBytes = 2): Uint8Array {
  const size = entryBundleSize(leaves, lengthBytes);
  if (size < 0) {
    const at = leaves.findIndex((l) => l.length > MAX_BUNDLE_ENTRY);
    throw new EvidentError(
      ErrorCode.TILE_ENTRY_TOO_LARGE,
      `entry ${at} of the bundle is ${leaves[at]!.length} bytes: over the ${MAX_BUNDLE_ENTRY} a uint16 length prefix holds`,
      { position: at, bytes: leaves[at]!.length, max: MAX_BUNDLE_ENTRY },
    );
  }
  const out = new Uint8Array(size);
  const view = new DataView(out.buffer);
  let p = 0;
  for (const l of leaves) {
    if (lengthBytes === 2) view.setUint16(p, l.length);
    else view.setUint32(p, l.length);
    p += lengthBytes;
    out.set(l, p);
    p += l.length;
  }
  return out;
}

/**
 * Splits a bundle into its entries (views into `bundle`). Every byte is hostile: a length that
 * runs past the end, or more than 256 entries, is BUNDLE_INVALID.
 */
export function parseEntryBundle(bundle: Uint8Array, lengthBytes: LengthBytes = 2): Uint8Array[] {
  const view = new DataView(bundle.buffer, bundle.byteOffset, bundle.byteLength);
  const out: Uint8Array[] = [];
  let p = 0;
  while (p < bundle.length) {
    if (out.length === 256) {
      throw new EvidentError(ErrorCode.BUNDLE_INVALID, 'an entry bundle holds at most 256 entries', {
        offset: p,
      });
    }
    if (p + lengthBytes > bundle.length) {
      throw new EvidentError(ErrorCode.BUNDLE_INVALID, 'the entry bundle ends inside a length prefix', {
        offset: p,
      });
    }
    const n = lengthBytes === 2 ? view.getUint16(p) : view.getUint32(p);
    p += lengthBytes;
    if (p + n > bundle.length) {
      throw new EvidentError(ErrorCode.BUNDLE_INVALID, 'an entry runs past the end of the bundle', {
        offset: p - lengthBytes,
        length: n,
      });
    }
    out.push(bundle.subarray(p, p + n));
    p += n;
  }
  return out;
}
