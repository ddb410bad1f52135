/**
 * GDPR erasure: the values of erasable fields in one data subject's entries are deleted with
 * their salts. Leaves hold only salted commitments to those values, so every hash, proof and
 * checkpoint still verifies; the entries say which fields were erased, and the erasure is
 * itself an audit event, committed in the same transaction as the deletions.
 */

import { ErrorCode, EvidentError } from '../core/errors.ts';
import { type Entry, ERASURE_ACTION } from '../core/event/entry.ts';
import type { AuditEvent, ErasableField } from '../core/event/schema.ts';
import { validateEvent } from '../core/event/validate.ts';
import type { EntryFilter, Erasure, LogInfo, Store } from '../store/types.ts';
import { checkedHead } from './head.ts';
import { integrate, type Receipt } from './integrate.ts';

export interface ErasureRequest {
  /** The data subject: entries whose actor is this id ... */
  actor_id?: string;
  /** ... or entries about this resource. */
  resource?: { type: string; id: string };
  /** Why (the request, its ticket): recorded in the erasure event. */
  reason: string;
  /**
   * Who erases, and from where; recorded as the erasure event's actor. An actor other than a
   * system needs its address (the event schema's rule for every non-system actor).
   */
  by?: { id: string; type: 'admin' | 'system' | 'user' | 'service'; ip_address?: string };
}

export interface ErasureResult {
  receipt: Receipt;
  entries: number;
  values: number;
}

export async function eraseSubject(
  store: Store,
  log: LogInfo,
  req: ErasureRequest,
  now: () => Date,
): Promise<ErasureResult> {
  const filter: EntryFilter = {};
  if (req.actor_id !== undefined) filter.actor_id = req.actor_id;
  else if (req.resource) {
    filter.resource_type = req.resource.type;
    filter.resource_id = req.resource.id;
  } else {
    throw new EvidentError(ErrorCode.USAGE, 'an erasure names a data subject: an actor id or a resource', {
      field: 'subject',
    });
  }
  if (!req.reason) throw new EvidentError(ErrorCode.USAGE, 'an erasure needs a reason', { field: 'reason' });

  const targets: { index: number; field: ErasableField }[] = [];
  const touched = new Set<number>();
  for (let from = 0; ; ) {
    const page: Entry[] = await store.query(log.id, { ...filter, fromIndex: from, limit: 5000 });
    for (const e of page) {
      for (const f of Object.keys(e.salts ?? {}) as ErasableField[]) {
        targets.push({ index: e.index, field: f });
        touched.add(e.index);
      }
    }
    if (page.length < 5000) break;
    from = page[page.length - 1]!.index + 1;
  }
  const subject = req.actor_id !== undefined ? { actor_id: req.actor_id } : { resource: req.resource };
  const event: AuditEvent = validateEvent(
    {
      actor_id: req.by?.id ?? 'evident',
      actor_type: req.by?.type ?? 'system',
      ...(req.by?.ip_address !== undefined ? { ip_address: req.by.ip_address } : {}),
      action: ERASURE_ACTION,
      resource_type: 'data_subject',
      resource_id: req.actor_id ?? `${req.resource!.type}/${req.resource!.id}`,
      result: 'success',
      reason: req.reason,
      metadata: {
        subject,
        entries: touched.size,
        values: targets.length,
        fields: [...new Set(targets.map((t) => t.field))].sort(),
      },
    },
    { now },
  );
  return store.write(log.id, async (tx) => {
    // Checked like every append's (./head.ts): an erasure event must not extend a rewritten head.
    const { head } = await checkedHead(tx);
    const r = integrate(head, [[event]], new Map(), {
      erasable: log.erasable,
      receivedAt: now().toISOString(),
    });
    await tx.insertEntries(r.entries, r.nodes, r.head);
    const erasureIndex = r.entries[0]!.index;
    const erasures: Erasure[] = targets.map((t) => ({ ...t, erasureIndex }));
    await tx.erase(erasures);
    const outcome = r.outcomes[0]!;
    if (!outcome.ok) throw outcome.error;
    return { receipt: outcome.receipts[0]!, entries: touched.size, values: targets.length };
  });
}
