/**
 * Verifies an export bundle read as a stream (a file, or GET .../export) with the core bundle
 * verifier: header line, then one entry per line, parsed by the core's strict JSON parser, in
 * pages, so memory stays flat whatever the log's size. Runs in a Web Worker.
 */
import { type BundleHeader, isBlankLine, parseBundleHeader, verifyBundle } from '../src/core/bundle.ts';
import { ErrorCode, EvidentError } from '../src/core/errors.ts';
import type { Entry } from '../src/core/event/entry.ts';
import { parseJson } from '../src/core/json.ts';
import type { NoteVerifier } from '../src/core/note-keys.ts';
import type { VerifyReport } from '../src/core/verify/report.ts';

const PAGE = 1000;

async function* lines(stream: ReadableStream<Uint8Array>): AsyncGenerator<string> {
  const reader = stream.getReader();
  const decoder = new TextDecoder('utf-8', { fatal: true });
  let rest = '';
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    rest += decoder.decode(value, { stream: true });
    let at = 0;
    for (let nl = rest.indexOf('\n', at); nl >= 0; nl = rest.indexOf('\n', at)) {
      yield rest.slice(at, nl);
      at = nl + 1;
    }
    rest = rest.slice(at);
  }
  rest += decoder.decode();
  if (rest !== '') yield rest;
}

export interface StreamProgress {
  header(h: BundleHeader): void;
  progress(entries: number): void;
  /** [received_at ms, index] samples, for the growth chart. */
  growth(points: [number, number][]): void;
}

export async function verifyStream(
  stream: ReadableStream<Uint8Array>,
  verifiers: readonly NoteVerifier[],
  on: StreamProgress,
): Promise<{ header: BundleHeader; report: VerifyReport }> {
  const it = lines(stream);
  let lineNo = 0;
  const parseLine = (text: string): unknown => {
    try {
      return parseJson(text, { maxLength: 1 << 24 });
    } catch (e) {
      throw new EvidentError(ErrorCode.BUNDLE_INVALID, `line ${lineNo} of the bundle is not valid JSON`, {
        line: lineNo,
        cause: (e as EvidentError).details,
      });
    }
  };
  let first: IteratorResult<string>;
  do {
    first = await it.next();
    lineNo++;
  } while (!first.done && isBlankLine(first.value));
  if (first.done) throw new EvidentError(ErrorCode.BUNDLE_INVALID, 'the bundle is empty');
  const raw = parseLine(first.value) as { error?: { code?: string; message?: string } };
  if (raw && typeof raw === 'object' && raw.error) {
    throw new EvidentError(
      ErrorCode.BUNDLE_INVALID,
      `the export failed: ${raw.error.code}: ${raw.error.message}`,
    );
  }
  const header = parseBundleHeader(raw);
  on.header(header);
  const total = header.range.to - header.range.from;
  const every = Math.max(1, Math.floor(total / 200));
  const growth: [number, number][] = [];
  async function* pages(): AsyncIterable<Entry[]> {
    let page: Entry[] = [];
    let count = 0;
    for (let r = await it.next(); !r.done; r = await it.next()) {
      lineNo++;
      if (isBlankLine(r.value)) continue;
      const v = parseLine(r.value) as Record<string, unknown> | null;
      if (typeof v !== 'object' || v === null || Array.isArray(v)) {
        throw new EvidentError(
          ErrorCode.BUNDLE_INVALID,
          `line ${lineNo} of the bundle is not an entry object`,
          {
            line: lineNo,
          },
        );
      }
      if ('error' in v && !('index' in v)) {
        const err = v['error'] as { code?: string; message?: string };
        throw new EvidentError(
          ErrorCode.BUNDLE_INVALID,
          `the server broke off the export after ${count} entries: ${err.code}: ${err.message}`,
          { code: err.code, entries_sent: count, index: header.range.from + count },
        );
      }
      const e = v as unknown as Entry;
      if (count % every === 0 && typeof e.received_at === 'string') {
        growth.push([Date.parse(e.received_at), e.index]);
      }
      page.push(e);
      count++;
      if (page.length === PAGE) {
        yield page;
        on.progress(count);
        page = [];
      }
    }
    if (page.length > 0) yield page;
    on.progress(count);
    on.growth(growth);
  }
  const report = await verifyBundle(header, pages(), { verifiers });
  return { header, report };
}
