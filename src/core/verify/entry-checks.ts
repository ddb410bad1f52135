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

/** Erasable values must match their commitments; a vanished value needs an erasure record. */
export function checkValues(e: Entry, pos: number, add: (f: Fault) => void): void {
  const bad: string[] = [];
  for (const [field, c] of Object.entries(e.commitments ?? {})) {
    const value = (e as unknown as Record<string, unknown>)[field];
    const salt = e.salts?.[field as keyof typeof e.salts];
    if (value !== undefined && salt !== undefined) {
      let ok = false;
      try {
        ok = checkCommitment(c as string, salt, value);
      } catch {
        ok = false;
      }
      if (!ok) bad.push(field);
    } else if (value !== undefined && e.erased?.includes(field as never)) {
      // A value beside an erasure record has no salt to check it by: it was put there since.
      bad.push(field);
    } else if (!e.erased?.includes(field as never)) {
      add({
        kind: FaultKind.VALUE_MISSING,
        index: pos,
        message: `entry ${pos}'s ${field} was deleted without a recorded erasure`,
        field,
      });
    }
  }
  if (bad.length > 0) {
    add({
      kind: FaultKind.ENTRY_MODIFIED,
      index: pos,
      message: `entry ${pos}: ${bad.join(', ')} no longer match${bad.length === 1 ? 'es' : ''} the committed value`,
      fields: bad,
    });
  }
}
