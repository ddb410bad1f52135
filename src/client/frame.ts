/**
 * The spool's on-disk record framing. A segment file starts with an 8-byte header (`EVSPOOL` and
 * a version byte), then records:
 *
 *   u32 BE flags and payload length | u32 BE CRC-32 of (length bytes || payload) | payload (event JSON, UTF-8)
 *
 * The top bit of the first word marks a write-ahead intent (a fail-closed request's provisional
 * event, held while the request runs: see spool.ts); the low 31 bits are the payload length.
 * The CRC covers that word too, so a torn or flipped length or flag is caught like a torn payload.
 */
import { crc32 } from 'node:zlib';

export const SEGMENT_MAGIC = Buffer.from('EVSPOOL\x01', 'latin1');
export const HEADER_BYTES = 8;
/** Larger than any valid event (256 KiB of canonical JSON) with room to spare; a bigger length is damage. */
export const MAX_PAYLOAD = 1024 * 1024;
const INTENT_FLAG = 0x8000_0000;
const LENGTH_MASK = 0x7fff_ffff;

export function encodeRecord(payload: Buffer, intent = false): Buffer {
  const out = Buffer.allocUnsafe(HEADER_BYTES + payload.length);
  out.writeUInt32BE((intent ? INTENT_FLAG : 0) + payload.length, 0);
  out.writeUInt32BE(crc32(payload, crc32(out.subarray(0, 4))), 4);
  payload.copy(out, HEADER_BYTES);
  return out;
}

export type ScanStep =
  | { kind: 'record'; start: number; end: number; payload: Buffer; intent: boolean }
  /** The bytes from `start` on do not hold a whole, intact record. */
  | { kind: 'bad'; start: number; reason: 'short_header' | 'short_payload' | 'bad_length' | 'bad_crc' };

/** Reads the record at `at`; the caller decides whether a bad one is a torn tail or damage. */
export function readRecord(buf: Buffer, at: number): ScanStep {
  if (buf.length - at < HEADER_BYTES) return { kind: 'bad', start: at, reason: 'short_header' };
  const word = buf.readUInt32BE(at);
  const len = word & LENGTH_MASK;
  if (len === 0 || len > MAX_PAYLOAD) return { kind: 'bad', start: at, reason: 'bad_length' };
  const end = at + HEADER_BYTES + len;
  if (end > buf.length) return { kind: 'bad', start: at, reason: 'short_payload' };
  const crc = crc32(buf.subarray(at + HEADER_BYTES, end), crc32(buf.subarray(at, at + 4)));
  if (crc !== buf.readUInt32BE(at + 4)) return { kind: 'bad', start: at, reason: 'bad_crc' };
  return {
    kind: 'record',
    start: at,
    end,
    payload: buf.subarray(at + HEADER_BYTES, end),
    intent: (word & INTENT_FLAG) !== 0,
  };
}

/**
 * Whether a bad record at `start` is a torn tail: nothing intact can follow it. True when the
 * record runs past the end of the file, or when it ends exactly at the end (its last write was
 * cut), or when everything from it on is zeros (the file grew but its data never reached disk).
 * Anything else, a bad record with bytes after it, is damage in the middle.
 */
export function isTornTail(buf: Buffer, step: Extract<ScanStep, { kind: 'bad' }>): boolean {
  if (step.reason === 'short_header' || step.reason === 'short_payload') return true;
  if (step.reason === 'bad_crc') {
    const end = step.start + HEADER_BYTES + (buf.readUInt32BE(step.start) & LENGTH_MASK);
    if (end === buf.length) return true;
  }
  for (let i = step.start; i < buf.length; i++) if (buf[i] !== 0) return false;
  return true;
}
