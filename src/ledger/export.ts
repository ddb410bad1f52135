/**
 * Writing and reading export bundles (../core/bundle.ts): header line, then entries, streamed
 * page by page so that neither side holds the log in memory.
 *
 * A page is bounded by bytes, not only by count: an event may hold 256 KiB, so a page of
 * EXPORT_PAGE_ENTRIES entries holds at most about 16 MiB, and each entry is handed out as its
 * own line (one string per entry, never one string per page: V8 strings stop at about 512 MiB).
 */

import { createReadStream } from 'node:fs';
import { availableParallelism } from 'node:os';
import {
  BUNDLE_FORMAT,
  type BundleHeader,
  parseBundleHeader,
  type VerifyBundleOptions,
  verifyBundle,
} from '../core/bundle.ts';
import type { BundleWindow } from '../core/bundle-window.ts';
import { toBase64 } from '../core/bytes.ts';
import { ErrorCode, EvidentError } from '../core/errors.ts';
import type { Entry } from '../core/event/entry.ts';
import { LIMITS } from '../core/event/schema.ts';
import { parseJson } from '../core/json.ts';
import { perfectSubtrees } from '../core/merkle/index.ts';
import type { VerifyReport } from '../core/verify/report.ts';
import {
  BatchBuilder,
  BUNDLE_LINE_MAX,
  batchLines,
  decodeLine,
  isBlankBytes,
  LineSplitter,
  type RawBatch,
} from './bundle-lines.ts';
import { cosignedNote } from './cosigned.ts';
import { LEDGER_DEFAULTS } from './defaults.ts';
import type { Ledger } from './ledger.ts';
import { bundleRuns, type LineBatch } from './verify-pool.ts';
import { type TimeWindow, windowRange } from './window.ts';

export interface ExportOptions {
  /** Entries received (received_at) at or after this (RFC 3339) ... */
  since?: string;
  /**
   * ... and before this. The header's `window` then carries the entries just outside the range,
   * with inclusion proofs, so that the verifier sees no entry of the window was left out.
   */
  until?: string;
  /** Or an index range [fromIndex, toIndex). */
  fromIndex?: number;
  toIndex?: number;
  pageSize?: number;
  /**
   * Tree sizes of checkpoints the auditor keeps: the header carries a consistency proof from
   * each to the bundle's checkpoint, so that those checkpoints can be checked against it.
   */
  consistencyFrom?: readonly number[];
}

/** Entries read from the store at a time: 64 events of at most 256 KiB each, about 16 MiB. */
export const EXPORT_PAGE_ENTRIES = Math.max(1, Math.floor((16 << 20) / LIMITS.eventBytes));

/**
 * The bundle as lines of text, each ending in "\n": the header, then one line per entry. Signs
 * a fresh checkpoint first when it can. A missing entry inside the range is TAMPER_DETECTED
 * (the signed tree holds it; the store lost it), thrown when the export reaches it.
 */
export async function* exportBundle(ledger: Ledger, o: ExportOptions = {}): AsyncIterable<string> {
  const cp = ledger.canSign ? await ledger.checkpoint() : await ledger.latestCheckpoint();
  if (!cp) throw new EvidentError(ErrorCode.NOT_FOUND, 'the log has no signed checkpoint to export against');
  const n = cp.size;
  let { from, to } = await windowRange(ledger, o, n);
  if (o.fromIndex !== undefined) from = Math.max(from, o.fromIndex);
  if (o.toIndex !== undefined) to = Math.min(to, o.toIndex);
  from = Math.min(from, n);
  to = Math.max(from, Math.min(to, n));
  const fetch = async (start: number, end: number) => {
    const ids = perfectSubtrees(start, end);
    return (await ledger.store.nodes(ledger.log.id, ids)).map(toBase64);
  };
  const consistency: { size: number; hashes: string[] }[] = [];
  for (const size of new Set(o.consistencyFrom ?? [])) {
    if (!Number.isSafeInteger(size) || size < 0 || size > n) {
      throw new EvidentError(
        ErrorCode.PROOF_RANGE,
        `no consistency proof from tree size ${size}: the bundle's checkpoint has tree size ${n} (a checkpoint of a larger size than the log has means the log was rolled back: run evident verify --trusted-checkpoint)`,
        { size, log_size: n },
      );
    }
    consistency.push({ size, hashes: await ledger.proveConsistency(size, n) });
  }
  const header: BundleHeader = {
    format: BUNDLE_FORMAT,
    origin: ledger.log.origin,
    vkey: ledger.log.vkey,
    checkpoint: await cosignedNote(ledger.store, ledger.log.id, cp),
    tree_size: n,
    range: { from, to },
    prefix: await fetch(0, from),
    suffix: await fetch(to, n),
    ...(consistency.length > 0 ? { consistency } : {}),
    exported_at: new Date().toISOString(),
    ...(o.since !== undefined || o.until !== undefined
      ? { filter: { ...(o.since ? { since: o.since } : {}), ...(o.until ? { until: o.until } : {}) } }
      : {}),
    ...(o.since !== undefined || o.until !== undefined
      ? { window: await boundaries(ledger, o, from, to, n) }
      : {}),
  };
  yield `${JSON.stringify(header)}\n`;
  const pageSize = o.pageSize ?? EXPORT_PAGE_ENTRIES;
  for (let at = from; at < to; ) {
    const page = await ledger.store.entries(ledger.log.id, at, to, pageSize);
    if (page.length === 0) throw missingEntry(ledger, at);
    for (const e of page) {
      if (e.index !== at) throw missingEntry(ledger, at);
      yield `${JSON.stringify(e)}\n`;
      at++;
    }
  }
}

/**
 * The entries just outside [from, to) and their inclusion proofs in the tree of size n: entry
 * from - 1 (received before `since`) and entry `to` (received at or after `until`), when they
 * exist. With them, verify-bundle checks that the range holds every entry of the window
 * (../core/bundle-window.ts).
 */
async function boundaries(
  ledger: Ledger,
  w: TimeWindow,
  from: number,
  to: number,
  n: number,
): Promise<BundleWindow> {
  const proven = async (index: number) => {
    const entry = await ledger.entryAt(index);
    if (!entry) throw missingEntry(ledger, index);
    return { entry, proof: (await ledger.proveInclusion(index, n)).hashes };
  };
  return {
    field: 'received_at',
    ...(w.since !== undefined ? { since: w.since } : {}),
    ...(w.until !== undefined ? { until: w.until } : {}),
    ...(w.since !== undefined && from > 0 ? { before: await proven(from - 1) } : {}),
    ...(w.until !== undefined && to < n ? { after: await proven(to) } : {}),
  };
}

function missingEntry(ledger: Ledger, index: number): EvidentError {
  return new EvidentError(
    ErrorCode.TAMPER_DETECTED,
    `entry ${index} of log "${ledger.log.name}" is missing from the store, inside the signed tree`,
    { index },
  );
}

export { BUNDLE_LINE_MAX };

/** Entry lines per batch a worker parses and checks, by default. */
const BUNDLE_BATCH = 4096;

/**
 * Entry lines per page without workers: a page's entries die young, as in verifyStoredLog
 * (./verify.ts); 4096 held the main thread's peak memory at about twice as much, no faster.
 */
const BUNDLE_PAGE = 1000;

/** Bytes read from the bundle file at a time. */
const READ_CHUNK = 256 * 1024;

/**
 * Verifies a bundle file offline: no database, only the verifier keys the caller trusts.
 * `workers` as for Ledger.verify (./verify.ts): batches of lines are parsed and checked by
 * worker threads, the main thread reading the file and keeping what needs the whole bundle.
 * The file is streamed: lines are read as bytes in batches bounded by lines and bytes
 * (./bundle-lines.ts), and only a bounded number of them is held at once.
 */
export async function verifyBundleFile(
  path: string,
  o: Omit<VerifyBundleOptions, 'verifiers'> & {
    verifiers?: VerifyBundleOptions['verifiers'];
    workers?: number;
    /** Entry lines per batch (a run a worker checks); small values let tests cross many runs. */
    runEntries?: number;
    /** Bytes at which a batch is cut (default LEDGER_DEFAULTS.verifyBatchBytes). */
    batchBytes?: number;
    /** Bytes of lines in flight to the workers (default LEDGER_DEFAULTS.verifyInFlightBytesPerWorker per worker). */
    inFlightBytes?: number;
    /** Told the batches and bytes in flight to the workers each time a batch is sent. */
    onInFlight?: (batches: number, bytes: number) => void;
  },
): Promise<{ header: BundleHeader; report: VerifyReport }> {
  const file = createReadStream(path, { highWaterMark: READ_CHUNK });
  const chunks = file[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
  const parseLine = (text: string, at: number): unknown => {
    try {
      return parseJson(text, { maxLength: BUNDLE_LINE_MAX });
    } catch (e) {
      throw new EvidentError(ErrorCode.BUNDLE_INVALID, `line ${at} of the bundle is not valid JSON`, {
        line: at,
        cause: (e as EvidentError).details,
      });
    }
  };
  // The first non-blank line is the header; the entry lines after it go into batches.
  let headerLine: { bytes: Uint8Array; line: number } | undefined;
  // Sized once the header tells how many entries (and so how many threads) there are.
  let builder: BatchBuilder | undefined;
  const early: { bytes: Uint8Array; line: number }[] = [];
  const ready: RawBatch[] = [];
  const splitter = new LineSplitter((bytes, line) => {
    if (isBlankBytes(bytes)) return;
    if (headerLine === undefined) {
      headerLine = { bytes: bytes.slice(), line };
      return;
    }
    if (builder === undefined) early.push({ bytes: bytes.slice(), line });
    else {
      const b = builder.add(bytes, line);
      if (b) ready.push(b);
    }
  });
  let eof = false;
  /** Reads on until a batch is ready or the file ends. */
  const readOn = async (): Promise<void> => {
    while (!eof && ready.length === 0 && (builder !== undefined || headerLine === undefined)) {
      const r = await chunks.next();
      if (r.done) {
        eof = true;
        splitter.end();
        const last = builder?.cut();
        if (last) ready.push(last);
      } else splitter.push(r.value);
    }
  };
  try {
    await readOn();
    if (headerLine === undefined) throw new EvidentError(ErrorCode.BUNDLE_INVALID, 'the bundle is empty');
    const header = parseBundleHeader(parseLine(decodeLine(headerLine.bytes), headerLine.line));
    const size = header.range.to - header.range.from;
    const workers =
      o.workers ?? (size >= LEDGER_DEFAULTS.verifyParallelMinEntries ? availableParallelism() : 1);
    builder = new BatchBuilder(
      o.runEntries ?? (workers > 1 ? BUNDLE_BATCH : BUNDLE_PAGE),
      o.batchBytes ?? LEDGER_DEFAULTS.verifyBatchBytes,
    );
    // The lines read with the header's chunk.
    for (const l of early.splice(0)) {
      const b = builder.add(l.bytes, l.line);
      if (b) ready.push(b);
    }
    if (eof) {
      const last = builder.cut();
      if (last) ready.push(last);
    }
    /** The entry lines in batches, each with the line numbers its errors name. */
    async function* batches(): AsyncIterable<LineBatch> {
      for (;;) {
        if (ready.length === 0) await readOn();
        const b = ready.shift();
        if (b === undefined) return;
        const { bytes, numbers } = b;
        yield {
          bytes,
          parse: () => {
            const out: Entry[] = [];
            let i = 0;
            for (const text of batchLines(bytes)) {
              const at = numbers[i++]!;
              const v = parseLine(text, at);
              if (typeof v !== 'object' || v === null || Array.isArray(v)) {
                throw new EvidentError(
                  ErrorCode.BUNDLE_INVALID,
                  `line ${at} of the bundle is not an entry object`,
                  {
                    line: at,
                  },
                );
              }
              out.push(v as Entry);
            }
            return out;
          },
        };
      }
    }
    async function* pages(): AsyncIterable<Entry[]> {
      for await (const b of batches()) yield b.parse();
    }
    const verifiers = o.verifiers ?? [];
    const { workers: _, runEntries: __, batchBytes: ___, inFlightBytes, onInFlight, ...rest } = o;
    const entries =
      workers > 1
        ? bundleRuns(batches(), workers, {
            bytes: inFlightBytes ?? workers * LEDGER_DEFAULTS.verifyInFlightBytesPerWorker,
            ...(onInFlight ? { onInFlight } : {}),
          })
        : pages();
    const report = await verifyBundle(header, entries, { ...rest, verifiers });
    return { header, report };
  } finally {
    file.destroy();
  }
}
