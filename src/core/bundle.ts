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
import { concatBytes, fromBase64 } from './bytes.ts';
import { ErrorCode, EvidentError } from './errors.ts';
import type { Entry } from './event/entry.ts';
import { perfectSubtrees, popcount } from './merkle/index.ts';
import type { NoteVerifier } from './note-keys.ts';
import { verifyLog } from './verify/log-verifier.ts';
import { FaultKind, type VerifyReport } from './verify/report.ts';

export const BUNDLE_FORMAT = 'evident-bundle/v1';

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
  /** The filter the exporter was asked for, if any (entries outside it may be included to keep the range whole). */
  filter?: { since?: string; until?: string };
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
  return h as unknown as BundleHeader;
}

export interface VerifyBundleOptions {
  verifiers: readonly NoteVerifier[];
  /** Erasure keys the auditor trusts (docs/formats.md, "Erasable fields and erasures"); without, erasures are unauthenticated. */
  erasureVerifiers?: readonly NoteVerifier[];
  /** Further checkpoints kept outside (the bundle's tree must be consistent with them where it can tell). */
  trusted?: readonly string[];
  onProgress?: (entries: number) => void;
}

/** Verifies a bundle given its header and its entries (pages, in order). */
export async function verifyBundle(
  header: BundleHeader,
  entries: AsyncIterable<readonly Entry[]>,
  o: VerifyBundleOptions,
): Promise<VerifyReport> {
  const h = parseBundleHeader(header);
  const prefix = h.prefix.map((x) => fromBase64(x, 32));
  const frontier = concatBytes(...prefix);
  let count = 0;
  async function* counted(): AsyncIterable<readonly Entry[]> {
    for await (const page of entries) {
      count += page.length;
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
      ...(o.trusted ?? []).map((note) => ({ note, trusted: true })),
    ],
    prefix: { size: h.range.from, frontier },
    suffix: { size: h.tree_size, hashes: h.suffix.map((x) => fromBase64(x, 32)) },
    ...(o.onProgress ? { onProgress: o.onProgress } : {}),
  });
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
