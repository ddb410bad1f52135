/**
 * The completeness of a time-range bundle (docs/formats.md, "Time windows"). A bundle exported
 * for a window of `received_at` carries, beside its range [from, to) of entries, the entry just
 * before (from - 1) and the entry just after (to), each with its RFC 9162 §2.1.3 inclusion proof
 * in the bundle's signed tree. The verifier checks that:
 *
 * - each boundary is the entry at that index of the signed tree (its leaf hash, recomputed from
 *   its fields, proves to the checkpoint's root);
 * - the entry before was received before `since`, the entry after at or after `until`; with no
 *   `since` the range starts at 0, with no `until` it ends at the tree size;
 * - received_at never decreases from the entry before, through the range, to the entry after.
 *
 * Then no entry of the signed tree received in the window lies outside the range, provided
 * received_at follows index order in the whole tree: the ledger assigns it under the sequencing
 * lock, so it does whenever the writers share a clock that does not step back. The verifier can
 * check that order only on what the bundle holds; a break there is a fault.
 */
import { fromBase64 } from './bytes.ts';
import { parseCheckpoint } from './checkpoint.ts';
import type { Entry } from './event/entry.ts';
import { entryLeafHash } from './event/entry.ts';
import { verifyInclusion } from './merkle/verify.ts';
import { parseNote } from './note.ts';
import { type Fault, FaultKind } from './verify/report.ts';

export interface WindowBoundary {
  entry: Entry;
  /** Base64 hashes of the entry's inclusion proof in the tree of the bundle's tree_size. */
  proof: string[];
}

export interface BundleWindow {
  field: 'received_at';
  since?: string;
  until?: string;
  /** Entry range.from - 1, present when `since` is given and range.from > 0. */
  before?: WindowBoundary;
  /** Entry range.to, present when `until` is given and range.to < tree_size. */
  after?: WindowBoundary;
}

const fault = (
  rule: string,
  index: number | null,
  message: string,
  extra: Record<string, unknown> = {},
): Fault => ({
  kind: FaultKind.WINDOW_INCOMPLETE,
  index,
  rule,
  message,
  ...extra,
});

const ms = (t: unknown): number => (typeof t === 'string' ? Date.parse(t) : Number.NaN);

/** Watches the range's received_at as the entries stream by (constant memory). */
export class WindowWatch {
  private last: number;
  private lastIndex: number | null;
  readonly faults: Fault[] = [];

  constructor(readonly window: BundleWindow | undefined) {
    this.last = window?.before ? ms(window.before.entry.received_at) : Number.NEGATIVE_INFINITY;
    this.lastIndex = window?.before ? window.before.entry.index : null;
  }

  see(entry: Entry): void {
    if (!this.window) return;
    const t = ms(entry.received_at);
    if (!(t >= this.last) && this.faults.length < 16) {
      this.faults.push(
        fault(
          'not_monotone',
          entry.index,
          `entry ${entry.index} was received before entry ${this.lastIndex}: received_at does not follow index order, so the bundle cannot show that it holds the whole window`,
        ),
      );
    }
    this.last = Number.isNaN(t) ? this.last : t;
    this.lastIndex = entry.index;
  }

  /** The checks of the boundaries, once the entries have been seen. */
  finish(h: { checkpoint: string; tree_size: number; range: { from: number; to: number } }): Fault[] {
    const w = this.window;
    if (!w) return [];
    const out = [...this.faults];
    let root: Uint8Array | undefined;
    try {
      root = parseCheckpoint(parseNote(h.checkpoint).text).rootHash;
    } catch {
      return out; // the checkpoint itself is reported by the log verifier
    }
    const { from, to } = h.range;
    const proven = (b: WindowBoundary | undefined, index: number, side: 'before' | 'after'): boolean => {
      if (!b) {
        out.push(
          fault(
            'boundary_missing',
            index,
            `the bundle does not carry entry ${index}, the first entry ${side} its range, to show where the window ${side === 'before' ? 'starts' : 'ends'}`,
          ),
        );
        return false;
      }
      if (b.entry.index !== index) {
        out.push(
          fault(
            'boundary_index',
            index,
            `the entry ${side} the range is entry ${b.entry.index}, not ${index}`,
          ),
        );
        return false;
      }
      try {
        const leaf = entryLeafHash(b.entry);
        verifyInclusion(
          leaf,
          index,
          h.tree_size,
          b.proof.map((x) => fromBase64(x, 32)),
          root!,
        );
      } catch (e) {
        out.push(
          fault(
            'boundary_proof',
            index,
            `entry ${index} (${side} the range) does not prove to the signed root: it is not the log's entry`,
            { cause: (e as { code?: string }).code },
          ),
        );
        return false;
      }
      return true;
    };
    if (w.since === undefined) {
      if (from !== 0)
        out.push(fault('range_start', from, `without since the range must start at 0, not ${from}`));
    } else if (from > 0 && proven(w.before, from - 1, 'before')) {
      if (!(ms(w.before!.entry.received_at) < ms(w.since)))
        out.push(
          fault(
            'before_in_window',
            from - 1,
            `entry ${from - 1} was received at ${w.before!.entry.received_at}, inside the window (since ${w.since}), yet it is left out`,
          ),
        );
    }
    if (w.until === undefined) {
      if (to !== h.tree_size)
        out.push(
          fault(
            'range_end',
            to,
            `without until the range must end at the tree size ${h.tree_size}, not ${to}`,
          ),
        );
    } else if (to < h.tree_size && proven(w.after, to, 'after')) {
      const t = ms(w.after!.entry.received_at);
      if (!(t >= ms(w.until)))
        out.push(
          fault(
            'after_in_window',
            to,
            `entry ${to} was received at ${w.after!.entry.received_at}, inside the window (until ${w.until}), yet it is left out`,
          ),
        );
      if (!(t >= this.last) && from < to)
        out.push(
          fault(
            'not_monotone',
            to,
            `entry ${to} was received before entry ${to - 1}: received_at does not follow index order`,
          ),
        );
    }
    return out;
  }
}

const isObj = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/** Checks the shape of a header's `window` (every parsed byte is hostile); throws via `bad`. */
export function parseWindow(v: unknown, bad: (message: string) => Error): BundleWindow {
  if (!isObj(v) || v['field'] !== 'received_at')
    throw bad('window must be an object with field "received_at"');
  for (const k of ['since', 'until'] as const) {
    if (v[k] !== undefined && (typeof v[k] !== 'string' || Number.isNaN(Date.parse(v[k] as string))))
      throw bad(`window.${k} must be an RFC 3339 time`);
  }
  for (const k of ['before', 'after'] as const) {
    const b = v[k];
    if (b === undefined) continue;
    if (!isObj(b) || !isObj(b['entry']) || !Array.isArray(b['proof']) || b['proof'].length > 64)
      throw bad(`window.${k} must hold an entry and a proof of at most 64 hashes`);
    if (!Number.isSafeInteger(b['entry']['index']))
      throw bad(`window.${k}.entry.index must be a whole number`);
    for (const x of b['proof']) {
      if (typeof x !== 'string') throw bad(`window.${k}.proof holds a non-string`);
      try {
        fromBase64(x, 32);
      } catch {
        throw bad(`window.${k}.proof holds a hash that is not canonical base64 of 32 bytes`);
      }
    }
  }
  return v as unknown as BundleWindow;
}
