/**
 * A bundle file's lines as bytes, in batches, for verify-bundle (./export.ts): the file is read
 * in chunks and split at line ends without decoding it, so that the main thread holds no string
 * per line, only the batches in flight (each bounded by lines and by bytes). A worker thread
 * (./verify-worker.ts) decodes and parses a batch line by line; the main thread does so only
 * for a batch that is not a clean run, or when it verifies alone.
 *
 * Lines end as node:readline ends them with crlfDelay Infinity: at \n, \r\n or a lone \r, and
 * the last line needs no end. Blank lines (spaces and tabs only) are skipped but counted, so
 * that errors name the line of the file.
 */

import { Buffer } from 'node:buffer';

/** Longest bundle line read, in UTF-16 code units (an entry of up to 256 KiB, escaped). */
export const BUNDLE_LINE_MAX = 1 << 24;

/**
 * Bytes of a line kept: more than 3 bytes of UTF-8 never decode to fewer than one UTF-16 code
 * unit, so a line longer than this is longer than BUNDLE_LINE_MAX, and its first bytes are
 * enough for the parser to say so (at the same place as with the whole line).
 */
const LINE_BYTES_KEPT = 3 * BUNDLE_LINE_MAX + 4;

const LF = 0x0a;
const CR = 0x0d;

/** Lines joined by \n (none of them blank, none holding \n or \r), and the file's number of each. */
export interface RawBatch {
  bytes: Uint8Array;
  numbers: number[];
}

/** Splits chunks of a file into lines; `onLine` gets each line's bytes, valid until it returns. */
export class LineSplitter {
  /** The start of a line that the next chunk goes on with (copied: a chunk may be reused). */
  private parts: Uint8Array[] = [];
  private partBytes = 0;
  private sawCr = false;
  private line = 0;

  constructor(private readonly onLine: (bytes: Uint8Array, line: number) => void) {}

  push(chunk: Uint8Array): void {
    let at = 0;
    // \r\n across two chunks is one line end.
    if (this.sawCr && chunk.length > 0 && chunk[0] === LF) at = 1;
    this.sawCr = false;
    while (at < chunk.length) {
      let end = chunk.indexOf(LF, at);
      const cr = chunk.indexOf(CR, at);
      if (cr >= 0 && (end < 0 || cr < end)) end = cr;
      if (end < 0) {
        this.keep(chunk.subarray(at));
        return;
      }
      this.emit(chunk.subarray(at, end));
      at = end + 1;
      if (chunk[end] === CR) {
        if (at === chunk.length) this.sawCr = true;
        else if (chunk[at] === LF) at++;
      }
    }
  }

  /** The last line, when the file does not end with a line end. */
  end(): void {
    if (this.parts.length > 0) this.emit(new Uint8Array(0));
  }

  private keep(bytes: Uint8Array): void {
    const room = LINE_BYTES_KEPT - this.partBytes;
    if (room <= 0 || bytes.length === 0) return;
    const part = bytes.slice(0, Math.min(room, bytes.length));
    this.parts.push(part);
    this.partBytes += part.length;
  }

  private emit(tail: Uint8Array): void {
    this.line++;
    let bytes = tail.subarray(0, Math.max(0, LINE_BYTES_KEPT - this.partBytes));
    if (this.parts.length > 0) {
      this.parts.push(bytes);
      bytes = concat(this.parts, this.partBytes + bytes.length);
      this.parts = [];
      this.partBytes = 0;
    }
    this.onLine(bytes, this.line);
  }
}

/** Whether a line holds only spaces and tabs (isBlankLine of core/bundle.ts, on bytes). */
export function isBlankBytes(bytes: Uint8Array): boolean {
  for (const b of bytes) if (b !== 0x20 && b !== 0x09) return false;
  return true;
}

/**
 * Collects lines into batches of at most `lines` lines, cut as soon as they reach `bytes`
 * bytes (a batch holds at least one line, however long).
 */
export class BatchBuilder {
  private buf: Uint8Array;
  private size = 0;
  private numbers: number[] = [];

  constructor(
    private readonly lines: number,
    private readonly bytes: number,
  ) {
    this.buf = new Uint8Array(Math.min(bytes, 1 << 20));
  }

  /** Adds a line (copied); returns the batch it completes, if any. */
  add(line: Uint8Array, number: number): RawBatch | undefined {
    const sep = this.numbers.length > 0 ? 1 : 0;
    const need = this.size + sep + line.length;
    if (need > this.buf.length) {
      const grown = new Uint8Array(Math.max(need, this.buf.length * 2));
      grown.set(this.buf.subarray(0, this.size));
      this.buf = grown;
    }
    if (sep) this.buf[this.size++] = LF;
    this.buf.set(line, this.size);
    this.size += line.length;
    this.numbers.push(number);
    return this.numbers.length >= this.lines || this.size >= this.bytes ? this.cut() : undefined;
  }

  /** What is left, as a last batch. */
  cut(): RawBatch | undefined {
    if (this.numbers.length === 0) return undefined;
    const batch = { bytes: this.buf.slice(0, this.size), numbers: this.numbers };
    this.size = 0;
    this.numbers = [];
    return batch;
  }
}

/** How many lines a batch holds. */
export function lineCount(bytes: Uint8Array): number {
  let n = 1;
  for (let at = bytes.indexOf(LF); at >= 0; at = bytes.indexOf(LF, at + 1)) n++;
  return n;
}

/** Decodes a line as node:readline does (invalid UTF-8 becomes U+FFFD, a byte order mark is kept). */
export function decodeLine(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8');
}

/** A batch's lines, decoded one at a time. */
export function* batchLines(bytes: Uint8Array): Generator<string> {
  let start = 0;
  for (;;) {
    const end = bytes.indexOf(LF, start);
    if (end < 0) {
      yield decodeLine(bytes.subarray(start));
      return;
    }
    yield decodeLine(bytes.subarray(start, end));
    start = end + 1;
  }
}

function concat(parts: readonly Uint8Array[], total: number): Uint8Array {
  const out = new Uint8Array(total);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}
