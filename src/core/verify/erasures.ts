/**
 * Erasure records are checked like everything else: an entry whose values were erased must
 * name a later `evident.erasure` event, and that event's data subject must be the entry's
 * (its actor, or its resource). Otherwise the values were deleted outside the erasure path.
 * Entries are seen in index order, so each record waits until its event is reached.
 */
import { type Entry, ERASURE_ACTION } from '../event/entry.ts';
import { type Fault, FaultKind } from './report.ts';

interface Waiting {
  first: number;
  actors: Set<string>;
  resources: Set<string>;
}

const resourceKey = (type: unknown, id: unknown) => JSON.stringify([type, id]);

export class ErasureCheck {
  private readonly waiting = new Map<number, Waiting>();

  /** Records the erasure claimed by the entry at `pos`; a claim that cannot hold is a fault now. */
  claim(e: Entry, pos: number): Fault | undefined {
    const by = e.erased_by;
    if (!Number.isSafeInteger(by) || (by as number) <= pos) {
      return {
        kind: FaultKind.VALUE_MISSING,
        index: pos,
        message: `entry ${pos}'s erased values name no later erasure event (erased_by ${String(by)})`,
        fields: e.erased,
      };
    }
    let w = this.waiting.get(by as number);
    if (!w) {
      w = { first: pos, actors: new Set(), resources: new Set() };
      this.waiting.set(by as number, w);
    }
    // Two distinct subjects already fail; no need to keep more.
    if (w.actors.size < 2) w.actors.add(e.actor_id);
    if (w.resources.size < 2) w.resources.add(resourceKey(e.resource_type, e.resource_id));
    return undefined;
  }

  /** Called for every entry: settles the claims that name it. */
  reach(e: Entry, pos: number): Fault | undefined {
    const w = this.waiting.get(pos);
    if (!w) return undefined;
    this.waiting.delete(pos);
    const subject = (
      e.metadata as { subject?: { actor_id?: unknown; resource?: { type?: unknown; id?: unknown } } }
    )?.subject;
    const matches =
      e.action === ERASURE_ACTION &&
      subject !== undefined &&
      (subject.actor_id !== undefined
        ? w.actors.size === 1 && w.actors.has(subject.actor_id as string)
        : w.resources.size === 1 &&
          w.resources.has(resourceKey(subject.resource?.type, subject.resource?.id)));
    if (matches) return undefined;
    return {
      kind: FaultKind.VALUE_MISSING,
      index: w.first,
      message: `values erased from entry ${w.first} on name entry ${pos}, which is not an erasure of their data subject`,
      erased_by: pos,
    };
  }

  /** Claims naming entries never reached: faults for a whole log, unknowable for a part of one. */
  finish(partial: boolean): { faults: Fault[]; unchecked: number } {
    const faults: Fault[] = [];
    if (partial) return { faults, unchecked: this.waiting.size };
    for (const [by, w] of this.waiting) {
      faults.push({
        kind: FaultKind.VALUE_MISSING,
        index: w.first,
        message: `values erased from entry ${w.first} on name entry ${by}, which is not in the log`,
        erased_by: by,
      });
    }
    return { faults, unchecked: 0 };
  }
}
