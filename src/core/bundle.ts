/**
 * The export bundle: a part of a log that anyone can verify offline with the log's verifier
 * key. JSON Lines, so that it is written and checked in constant memory:
 *
 *   line 1: the header (format, origin, checkpoint, range, prefix and suffix subtree hashes)
 *   then:   one entry per line, indexes range.from .. range.to - 1, in order
 *
 * The rebuilt tree is the frontier of [0, from) (`prefix`), then the entries' leaf hashes,
 * then the perfect subtrees covering [to, tree_size) (`suffix`); its root must be the signed
 * checkpoint's (RFC 9162 §2.1.1). docs/formats.md describes it for independent verifiers.
 */
import { type BundleWindow, parseWindow, WindowWatch } from './bundle-window.ts';
import { concatBytes, fromBase64 } from './bytes.ts';
import { ErrorCode, EvidentError } from './errors.ts';
import { perfectSubtrees, popcount } from './merkle/index.ts';
import type { NoteVerifier } from './note-keys.ts';
import { placeTrusted } from './verify/bundle-trust.ts';
import { verifyLog } from './verify/log-verifier.ts';
import type { EntrySource } from './verify/lookahead.ts';
import { FaultKind, type VerifyReport } from './verify/report.ts';
import { isRun } from './verify/runs.ts';

export const BUNDLE_FORMAT = 'evident-bundle/v1';

/** docs/formats.md: a line that is empty or holds only spaces and tabs is skipped, anywhere. */
export function isBlankLine(line: string): boolean {
  return /^[ \t]*$/.test(line);
}

export interface BundleHeader {
  format: typeof BUNDLE_FORMAT;
  origin: string;
  /** The verifier key the exporter used: a hint only; verify with the key you trust. */
  vkey: string;
  /** The signed checkpoint the bundle is tied to. */
  checkpoint: string;
  tree_size: number;
  /** The entries in the bundle: indexes [from, to). */
  range: { from: number; to: number };
  /** Base64 roots of the perfect subtrees of [0, from), largest first. */
  prefix: string[];
  /** Base64 roots of the perfect subtrees covering [to, tree_size), left to right. */
  suffix: string[];
  exported_at: string;
  /**
   * Consistency proofs (RFC 9162 §2.1.4) from smaller tree sizes to tree_size, asked for by the
   * exporter, so that checkpoints kept from those sizes can be checked against this bundle.
   */
  consistency?: { size: number; hashes: string[] }[];
  /** The filter the exporter was asked for, if any (entries outside it may be included to keep the range whole). */
  filter?: { since?: string; until?: string };
  /**
   * For a bundle of a window of received_at: the window and the entries just outside the range,
   * with inclusion proofs, so that the verifier checks no entry of the window was left out
   * (./bundle-window.ts). Optional: bundles without it verify as before.
   */
  window?: BundleWindow;
}

const bad = (message: string, details: Record<string, unknown> = {}) =>
  new EvidentError(ErrorCode.BUNDLE_INVALID, message, details);

/** Checks the header's shape and numbers (every parsed byte is hostile). */
export function parseBundleHeader(v: unknown): BundleHeader {
  if (typeof v !== 'object' || v === null || Array.isArray(v))
    throw bad('the bundle header must be a JSON object');
  const h = v as Record<string, unknown>;
  if (h.format !== BUNDLE_FORMAT) throw bad(`not an ${BUNDLE_FORMAT} bundle`, { field: 'format' });
  for (const f of ['origin', 'vkey', 'checkpoint', 'exported_at'] as const) {
    if (typeof h[f] !== 'string') throw bad(`${f} must be a string`, { field: f });
  }
  const size = h.tree_size;
  const range = h.range as { from?: unknown; to?: unknown } | undefined;
  if (!Number.isSafeInteger(size) || (size as number) < 0)
    throw bad('tree_size must be a whole number', { field: 'tree_size' });
  if (typeof range !== 'object' || range === null) throw bad('range must be an object', { field: 'range' });
  const { from, to } = range;
  if (
    !Number.isSafeInteger(from) ||
    !Number.isSafeInteger(to) ||
    (from as number) < 0 ||
    (from as number) > (to as number) ||
    (to as number) > (size as number)
  ) {
    throw bad('range must satisfy 0 <= from <= to <= tree_size', { field: 'range' });
  }
  const hashes = (f: 'prefix' | 'suffix', count: number): string[] => {
    const a = h[f];
    if (!Array.isArray(a) || a.length !== count) throw bad(`${f} must list ${count} hashes`, { field: f });
    for (const x of a) {
      if (typeof x !== 'string') throw bad(`${f} holds a non-string`, { field: f });
      fromBase64(x, 32);
    }
    return a as string[];
  };
  hashes('prefix', popcount(from as number));
  hashes('suffix', perfectSubtrees(to as number, size as number).length);
  if (h.consistency !== undefined) parseConsistency(h.consistency, size as number);
  if (h.window !== undefined) parseWindow(h.window, (m) => bad(m, { field: 'window' }));
  return h as unknown as BundleHeader;
}

/** A proof has at most about 2·log2(size) hashes; 64 proofs is more than any auditor keeps. */
const MAX_PROOFS = 64;
const MAX_PROOF_HASHES = 128;

function parseConsistency(v: unknown, size: number): void {
  const field = 'consistency';
  if (!Array.isArray(v) || v.length > MAX_PROOFS)
    throw bad(`consistency must be a list of at most ${MAX_PROOFS} proofs`, { field });
  const seen = new Set<number>();
  for (const p of v as unknown[]) {
    if (typeof p !== 'object' || p === null || Array.isArray(p))
      throw bad('a consistency proof must be an object', { field });
    const { size: from, hashes } = p as { size?: unknown; hashes?: unknown };
    if (
      !Number.isSafeInteger(from) ||
      (from as number) < 0 ||
      (from as number) > size ||
      seen.has(from as number)
    )
      throw bad('each consistency proof needs its own size, 0 <= size <= tree_size', { field });
    seen.add(from as number);
    if (!Array.isArray(hashes) || hashes.length > MAX_PROOF_HASHES)
      throw bad(`a consistency proof lists at most ${MAX_PROOF_HASHES} hashes`, { field });
    for (const x of hashes) {
      if (typeof x !== 'string') throw bad('consistency holds a non-string hash', { field });
      try {
        fromBase64(x, 32);
      } catch {
        throw bad('a consistency proof hash is not canonical base64 of 32 bytes', { field });
      }
    }
  }
}

export interface VerifyBundleOptions {
  verifiers: readonly NoteVerifier[];
  /** Erasure keys the auditor trusts (docs/formats.md, "Erasable fields and erasures"); without, erasures are unauthenticated. */
  erasureVerifiers?: readonly NoteVerifier[];
  /** Checkpoints kept outside: each is checked against the bundle, or reported unchecked (./verify/bundle-trust.ts). */
  trusted?: readonly string[];
  onProgress?: (entries: number) => void;
}

/** Verifies a bundle given its header and its entries (pages, in order). */
export async function verifyBundle(
  header: BundleHeader,
  entries: EntrySource,
  o: VerifyBundleOptions,
): Promise<VerifyReport> {
  const h = parseBundleHeader(header);
  const placed = placeTrusted(h, o.verifiers, o.trusted ?? []);
  const prefix = h.prefix.map((x) => fromBase64(x, 32));
  const frontier = concatBytes(...prefix);
  let count = 0;
  const watch = new WindowWatch(h.window);
  async function* counted(): EntrySource {
    for await (const item of entries) {
      // A time-window bundle's entries are each seen for their received_at: a run checked by a
      // worker is then handed on as its entries, which the verifier checks one by one.
      const page = isRun(item) && h.window ? await item.expand() : item;
      if (isRun(page)) {
        count += page.count;
        yield page;
        continue;
      }
      count += page.length;
      for (const e of page) watch.see(e);
      yield page;
    }
  }
  const report = await verifyLog({
    origin: h.origin,
    verifiers: o.verifiers,
    ...(o.erasureVerifiers ? { erasureVerifiers: o.erasureVerifiers } : {}),
    entries: counted(),
    checkpoints: [
      { note: h.checkpoint, size: h.tree_size },
      ...placed.compare.map((note) => ({ note, trusted: true })),
    ],
    prefix: { size: h.range.from, frontier },
    suffix: { size: h.tree_size, hashes: h.suffix.map((x) => fromBase64(x, 32)) },
    trustedGiven: (o.trusted ?? []).length > 0,
    ...(o.onProgress ? { onProgress: o.onProgress } : {}),
  });
  for (const f of placed.faults) report.faults.push(f);
  if (placed.faults.length > 0) report.ok = false;
  if (placed.unchecked.length > 0) {
    report.ok = false;
    report.unchecked = placed.unchecked;
  }
  const windowFaults = watch.finish(h);
  if (windowFaults.length > 0) {
    report.ok = false;
    report.faults.push(...windowFaults);
    const first = Math.min(...windowFaults.map((f) => f.index ?? Number.MAX_SAFE_INTEGER));
    report.first_bad_index = Math.min(report.first_bad_index ?? Number.MAX_SAFE_INTEGER, first);
  }
  const expected = h.range.to - h.range.from;
  if (count !== expected) {
    report.ok = false;
    report.faults.unshift({
      kind: FaultKind.ENTRY_MISSING,
      index: h.range.from + Math.min(count, expected),
      message: `the bundle declares ${expected} entries but holds ${count}`,
      count: Math.abs(expected - count),
    });
    report.first_bad_index = Math.min(
      report.first_bad_index ?? Number.MAX_SAFE_INTEGER,
      h.range.from + Math.min(count, expected),
    );
  }
  return report;
}
