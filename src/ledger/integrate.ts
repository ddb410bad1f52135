/**
 * Sequencing as a pure function: given the log head read under the sequencing lock, the
 * entries already stored under the batch's ids, and the validated events of the batch, it
 * decides each event's fate and builds the new entries, tree nodes and head. Every store
 * calls this same code; none re-implements chain linking or tree integration.
 */
import { ErrorCode, EvidentError } from '../core/errors.ts';
import { type Entry, sameClientContent, sealEvent } from '../core/event/entry.ts';
import type { AuditEvent, ErasableField } from '../core/event/schema.ts';
import { timestampWasFilled } from '../core/event/validate.ts';
import { CompactRange } from '../core/merkle/index.ts';
import type { LogHead, NodeHash } from '../store/types.ts';

export interface Receipt {
  id: string;
  index: number;
  hash: string;
  /** True when this id was already in the log with the same content: the original receipt. */
  duplicate?: boolean;
}

/** Events that land together or not at all (one `appendMany` call, or a single append). */
export type Unit = readonly AuditEvent[];

export type UnitOutcome = { ok: true; receipts: Receipt[] } | { ok: false; error: EvidentError };

export interface Integration {
  entries: Entry[];
  /** Perfect subtree nodes completed by this batch, above the leaves (level >= 1). */
  nodes: NodeHash[];
  head: LogHead;
  outcomes: UnitOutcome[];
}

export interface IntegrateOptions {
  erasable: readonly ErasableField[];
  receivedAt: string;
  random?: (n: number) => Uint8Array;
}

export function integrate(
  head: LogHead,
  units: readonly Unit[],
  existing: ReadonlyMap<string, Entry>,
  o: IntegrateOptions,
): Integration {
  const range = CompactRange.decode(head.size, head.frontier);
  const entries: Entry[] = [];
  const nodes: NodeHash[] = [];
  const outcomes: UnitOutcome[] = [];
  const fresh = new Map<string, Entry>();
  let size = head.size;
  let lastHash = head.lastHash;

  for (const unit of units) {
    const slots: Slot[] = [];
    const planned: AuditEvent[] = [];
    const inUnit = new Map<string, AuditEvent>();
    let conflict: EvidentError | undefined;
    for (const ev of unit) {
      const prior = existing.get(ev.id) ?? fresh.get(ev.id);
      const original = prior ?? inUnit.get(ev.id);
      if (original !== undefined && !sameClientContent(original, ev, { timestamp: timestampWasFilled(ev) })) {
        conflict = new EvidentError(
          ErrorCode.ID_CONFLICT,
          `event id ${ev.id} is already used by another event`,
          {
            field: 'id',
            id: ev.id,
            ...(prior ? { index: prior.index } : {}),
          },
        );
        break;
      }
      if (prior)
        slots.push({ receipt: { id: prior.id, index: prior.index, hash: prior.hash, duplicate: true } });
      else if (original) slots.push({ twinOf: ev.id });
      else {
        inUnit.set(ev.id, ev);
        planned.push(ev);
        slots.push({ newId: ev.id });
      }
    }
    if (conflict) {
      outcomes.push({ ok: false, error: conflict });
      continue;
    }
    const sealed = new Map<string, Receipt>();
    for (const ev of planned) {
      const { entry, leafHash } = sealEvent(ev, {
        index: size,
        received_at: o.receivedAt,
        prev_hash: lastHash,
        erasable: o.erasable,
        ...(o.random ? { random: o.random } : {}),
      });
      for (const n of range.append(leafHash)) if (n.level > 0) nodes.push(n);
      entries.push(entry);
      fresh.set(entry.id, entry);
      sealed.set(entry.id, { id: entry.id, index: entry.index, hash: entry.hash });
      lastHash = entry.hash;
      size++;
    }
    const receipts = slots.map((s): Receipt => {
      if ('receipt' in s) return s.receipt;
      if ('newId' in s) return sealed.get(s.newId)!;
      return { ...sealed.get(s.twinOf)!, duplicate: true };
    });
    outcomes.push({ ok: true, receipts });
  }
  return { entries, nodes, head: { size, lastHash, frontier: range.encode() }, outcomes };
}

/** Where one event of a unit stands: already stored, new, or a repeat of a new one. */
type Slot = { receipt: Receipt } | { newId: string } | { twinOf: string };
