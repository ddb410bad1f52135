/** Checks on single entries: re-hashing, finding where an entry belongs, erasable values. */
import { hexEquals } from '../bytes.ts';
import { checkCommitment, type Entry, entryLeafHash } from '../event/entry.ts';
import { type Fault, FaultKind } from './report.ts';

/** How far from its place an entry is looked for when its hash fails (reorders, renumbering). */
const SHIFT_WINDOW = 8;

/** The entry's leaf hash, recomputed from its fields as if it stood at `index`. */
export function leafHashOf(e: Entry, index: number): Uint8Array | undefined {
  try {
    return entryLeafHash(index === e.index ? e : { ...e, index });
  } catch {
    return undefined; // a field mangled past canonical JSON: it cannot match any hash
  }
}

/** Whether the entry, standing at `index`, hashes to `stored` (one without a canonical form never does). */
export function hashesTo(e: Entry, index: number, stored: unknown): boolean {
  const h = leafHashOf(e, index);
  return h !== undefined && hexEquals(h, stored);
}

/** Stands in the rebuilt tree for an entry that has no canonical form (its root cannot match). */
export const UNHASHABLE = new Uint8Array(32);

/** The offset at which the entry's fields hash to its stored hash, 0 if none near. */
export function findShift(e: Entry, index: number, stored: string): number {
  for (let d = 1; d <= SHIFT_WINDOW; d++) {
    if (hashesTo(e, index + d, stored)) return d;
    if (index - d >= 0 && hashesTo(e, index - d, stored)) return -d;
  }
  return 0;
}

/**
 * The legal combinations of an erasable field's commitment, value, salt and erasure record
 * (docs/formats.md, "Erasable fields and erasures"): with a commitment, either the value and
 * its salt (matching the commitment), or neither with an erasure record. Anything else stored
 * beside an entry is covered by no hash, so it was put there since: a value or salt without its
 * pair, a value or salt beside an erasure record, a salt or erasure record of a field without a
 * commitment. A value and salt both gone without an erasure record were deleted.
 */
export function checkValues(e: Entry, pos: number, add: (f: Fault) => void): void {
  const bad = new Set<string>();
  const fields = e as unknown as Record<string, unknown>;
  const commitments = (isRecord(e.commitments) ? e.commitments : {}) as Record<string, unknown>;
  const salts = (isRecord(e.salts) ? e.salts : {}) as Record<string, unknown>;
  const erased: unknown[] = Array.isArray(e.erased) ? e.erased : [];
  for (const [field, c] of Object.entries(commitments)) {
    const value = fields[field];
    const salt = salts[field];
    const isErased = erased.includes(field);
    if (value !== undefined && salt !== undefined && !isErased) {
      let ok = false;
      try {
        ok = typeof c === 'string' && typeof salt === 'string' && checkCommitment(c, salt, value);
      } catch {
        ok = false;
      }
      if (!ok) bad.add(field);
    } else if (value === undefined && !isErased) {
      add({
        kind: FaultKind.VALUE_MISSING,
        index: pos,
        message: `entry ${pos}'s ${field} was deleted without a recorded erasure`,
        field,
      });
    } else if (value !== undefined || salt !== undefined) {
      bad.add(field); // a value or salt without its pair, or beside an erasure record
    }
  }
  for (const f of Object.keys(salts)) if (!(f in commitments)) bad.add(f);
  for (const f of erased) if (!(String(f) in commitments)) bad.add(String(f));
  if (!Array.isArray(e.erased) && e.erased !== undefined) bad.add('erased');
  if (bad.size > 0) {
    const list = [...bad];
    add({
      kind: FaultKind.ENTRY_MODIFIED,
      index: pos,
      message: `entry ${pos}: ${list.join(', ')} no longer match${list.length === 1 ? 'es' : ''} the committed value, or ${list.length === 1 ? 'is' : 'are'} stored where no hash covers ${list.length === 1 ? 'it' : 'them'}`,
      fields: list,
    });
  }
}

const isRecord = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);
