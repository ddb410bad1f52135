/**
 * Erasures are checked like everything else (docs/formats.md, "Erasable fields and erasures"). Every erased value
 * (an entry's field listed in `erased`) must be named, by index and field, in the targets of
 * the later `evident.erasure` event its `erased_by` points at, and that event must be
 * authorised: signed by an erasure key the auditor trusts. Otherwise the value was deleted
 * outside the erasure path, or by a forged erasure. Without an erasure key the signatures
 * cannot be checked: the events are counted as unauthenticated, never taken as authorised.
 * Entries are seen in index order, so each erased value waits until its event is reached.
 */
import type { Entry } from '../event/entry.ts';
import { checkErasure, ERASURE_ACTION, type ErasureStatus, erasureTargets } from '../event/erasure.ts';
import type { NoteVerifier } from '../note-keys.ts';
import { type Fault, FaultKind } from './report.ts';

/** What the report says of the erasure events read. */
export interface ErasureSummary {
  /** `evident.erasure` events read. */
  events: number;
  /** Of those, signed by a trusted erasure key. */
  authorised: number;
  /** Of those, not checked: no erasure key was given. */
  unauthenticated: number;
}

export class ErasureCheck {
  /** Erasure event index → the erased values that name it: entry index → fields. */
  private readonly waiting = new Map<number, Map<number, string[]>>();
  readonly summary: ErasureSummary = { events: 0, authorised: 0, unauthenticated: 0 };

  constructor(
    private readonly origin: string,
    private readonly verifiers: readonly NoteVerifier[] | undefined,
  ) {}

  /** Records the values the entry at `pos` says were erased; a claim that cannot hold is a fault now. */
  claim(e: Entry, pos: number, add: (f: Fault) => void): void {
    const by = e.erased_by;
    const fields = Array.isArray(e.erased) ? e.erased.map(String) : [];
    if (!Number.isSafeInteger(by) || (by as number) <= pos) {
      for (const field of fields) {
        add({
          kind: FaultKind.VALUE_MISSING,
          index: pos,
          message: `entry ${pos}'s ${field} was erased by no later erasure event (erased_by ${String(by)})`,
          field,
          erased_by: by ?? null,
        });
      }
      return;
    }
    const w = this.waiting.get(by as number) ?? new Map<number, string[]>();
    w.set(pos, fields);
    this.waiting.set(by as number, w);
  }

  /** Called for every entry: checks it if it is an erasure event, and settles the values that name it. */
  reach(e: Entry, pos: number, add: (f: Fault) => void): void {
    const isErasure = e.action === ERASURE_ACTION;
    let status: ErasureStatus | undefined;
    if (isErasure) {
      status = checkErasure(e, this.origin, this.verifiers);
      this.summary.events++;
      if (status === 'authorised') this.summary.authorised++;
      if (status === 'unauthenticated') this.summary.unauthenticated++;
      if (status === 'unauthorised') {
        add({
          kind: FaultKind.ERASURE_UNAUTHORISED,
          index: pos,
          message: `entry ${pos} is an erasure event that no trusted erasure key signed`,
        });
      }
    }
    const w = this.waiting.get(pos);
    if (!w) return;
    this.waiting.delete(pos);
    const named = isErasure ? erasureTargets(e, pos) : new Map<number, Set<string>>();
    this.#settle(w, pos, isErasure, named, status, add);
  }

  /** reach() for an entry known to be no erasure event (one of a run, ./runs.ts). */
  reachOther(pos: number, add: (f: Fault) => void): void {
    const w = this.waiting.get(pos);
    if (!w) return;
    this.waiting.delete(pos);
    this.#settle(w, pos, false, new Map(), undefined, add);
  }

  /** Whether values erased by an entry in [from, to) wait for it. */
  waitsIn(from: number, to: number): boolean {
    for (const by of this.waiting.keys()) if (by >= from && by < to) return true;
    return false;
  }

  #settle(
    w: Map<number, string[]>,
    pos: number,
    isErasure: boolean,
    named: Map<number, Set<string>>,
    status: ErasureStatus | undefined,
    add: (f: Fault) => void,
  ): void {
    for (const [index, fields] of w) {
      for (const field of fields) {
        let why: string | undefined;
        if (!isErasure) why = 'which is not an erasure event';
        else if (!named.get(index)?.has(field)) why = 'which does not name it';
        else if (status === 'unauthorised') why = 'which no trusted erasure key signed';
        if (why === undefined) continue;
        add({
          kind: FaultKind.VALUE_MISSING,
          index,
          message: `entry ${index}'s ${field} was erased by entry ${pos}, ${why}`,
          field,
          erased_by: pos,
        });
      }
    }
  }

  /** Values naming entries never reached: faults for a whole log, unknowable for a part of one. */
  finish(partial: boolean, add: (f: Fault) => void): { unchecked: number } {
    if (partial) return { unchecked: this.waiting.size };
    for (const [by, w] of this.waiting) {
      for (const [index, fields] of w) {
        for (const field of fields) {
          add({
            kind: FaultKind.VALUE_MISSING,
            index,
            message: `entry ${index}'s ${field} was erased by entry ${by}, which is not in the log`,
            field,
            erased_by: by,
          });
        }
      }
    }
    return { unchecked: 0 };
  }
}
