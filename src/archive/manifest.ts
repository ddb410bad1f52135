/**
 * A sealed segment's manifest (docs/formats.md, "Segment manifest"): what the segment is
 * (log, origin, index range, first and last received_at), the SHA-256 and size of its bundle
 * file, and the signed checkpoint the bundle is proven against. JSON, written once beside the
 * bundle. Parsed as hostile input.
 */
import { ErrorCode, EvidentError } from '../core/errors.ts';
import type { ErasableField } from '../core/event/schema.ts';

export const MANIFEST_FORMAT = 'evident-segment/v1';

export interface SegmentManifest {
  format: typeof MANIFEST_FORMAT;
  log: string;
  origin: string;
  /** Entries [first, last], inclusive. */
  first: number;
  last: number;
  count: number;
  /** received_at of the first and last entry. */
  first_received_at: string;
  last_received_at: string;
  /** The event timestamps' range (earliest and latest `timestamp` in the segment). */
  first_timestamp: string;
  last_timestamp: string;
  bundle: { name: string; sha256: string; size: number };
  /** The signed checkpoint (note text) the bundle is proven against, and its tree size. */
  checkpoint: string;
  tree_size: number;
  /** The log's erasable fields (a restored log keeps them). */
  erasable: ErasableField[];
  sealed_at: string;
  /** The earliest date the archived objects may be deleted (last_received_at + archive period). */
  retain_until: string;
  /** The policy's online period; the segment may be pruned from the primary store after last_received_at + online. */
  online: string;
  archive: string;
}

const bad = (message: string, field: string) =>
  new EvidentError(ErrorCode.BUNDLE_INVALID, `segment manifest: ${message}`, { field });

export function parseManifest(text: string): SegmentManifest {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    throw bad('not JSON', 'manifest');
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw bad('not a JSON object', 'manifest');
  const m = v as Record<string, unknown>;
  if (m.format !== MANIFEST_FORMAT) throw bad(`format is not ${MANIFEST_FORMAT}`, 'format');
  for (const f of [
    'log',
    'origin',
    'first_received_at',
    'last_received_at',
    'checkpoint',
    'sealed_at',
    'retain_until',
  ])
    if (typeof m[f] !== 'string') throw bad(`${f} must be a string`, f);
  for (const f of ['first', 'last', 'count', 'tree_size'])
    if (!Number.isSafeInteger(m[f]) || (m[f] as number) < 0) throw bad(`${f} must be a whole number`, f);
  const first = m.first as number;
  const last = m.last as number;
  if (last < first || m.count !== last - first + 1 || (m.tree_size as number) <= last)
    throw bad('first <= last, count = last - first + 1 and tree_size > last', 'first');
  const b = m.bundle as Record<string, unknown> | undefined;
  if (
    typeof b !== 'object' ||
    b === null ||
    typeof b.name !== 'string' ||
    typeof b.sha256 !== 'string' ||
    !/^[0-9a-f]{64}$/.test(b.sha256) ||
    !Number.isSafeInteger(b.size)
  )
    throw bad('bundle must hold name, sha256 (64 hex) and size', 'bundle');
  if (!Array.isArray(m.erasable)) throw bad('erasable must be a list', 'erasable');
  return m as unknown as SegmentManifest;
}

/** The manifest's bytes: JSON with a final newline, keys in the order of the interface. */
export function manifestBytes(m: SegmentManifest): Uint8Array {
  return new TextEncoder().encode(`${JSON.stringify(m, null, 2)}\n`);
}
