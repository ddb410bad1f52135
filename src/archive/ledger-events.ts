/**
 * Events the archive layer writes into a log with the ledger's own authority (reserved
 * `evident.*` actions): retention changes, archive targets, prunes. Appended like an erasure
 * event (../ledger/erase.ts): under the log's sequencing lock, the head checked first, and
 * anything else the same change needs done in the same transaction.
 */
import type { AuditEvent } from '../core/event/schema.ts';
import { validateEvent } from '../core/event/validate.ts';
import { checkedHead } from '../ledger/head.ts';
import { integrate, type Receipt } from '../ledger/integrate.ts';
import type { LogInfo, Store, WriteTx } from '../store/types.ts';

export interface LedgerEventFields {
  action: string;
  resource_type: string;
  resource_id: string;
  reason?: string;
  metadata: Record<string, unknown>;
  by?: { id: string; type: 'admin' | 'system' | 'user' | 'service'; ip_address?: string };
}

/** Appends one reserved event; `then` runs in the same transaction with its receipt. */
export async function appendLedgerEvent<T = undefined>(
  store: Store,
  log: LogInfo,
  fields: LedgerEventFields,
  now: () => Date,
  then?: (tx: WriteTx, receipt: Receipt) => Promise<T>,
): Promise<{ receipt: Receipt; result: T | undefined }> {
  const by = fields.by ?? { id: 'evident', type: 'system' as const };
  const event: AuditEvent = validateEvent(
    {
      actor_id: by.id,
      actor_type: by.type,
      ...(by.ip_address !== undefined ? { ip_address: by.ip_address } : {}),
      action: fields.action,
      resource_type: fields.resource_type,
      resource_id: fields.resource_id,
      result: 'success',
      ...(fields.reason !== undefined ? { reason: fields.reason } : {}),
      metadata: fields.metadata,
    },
    { now, ledger: true },
  );
  return store.write(log.id, async (tx) => {
    const { head } = await checkedHead(tx);
    // Nothing of these events is erasable: what they record must outlive any erasure.
    const r = integrate(head, [[event]], new Map(), { erasable: [], receivedAt: now().toISOString() });
    const outcome = r.outcomes[0]!;
    if (!outcome.ok) throw outcome.error;
    await tx.insertEntries(r.entries, r.nodes, r.head);
    const receipt = outcome.receipts[0]!;
    const result = then ? await then(tx, receipt) : undefined;
    return { receipt, result };
  });
}

/** The latest entry of `action` in the log, with its index, or undefined. */
export async function latestEvent(store: Store, log: LogInfo, action: string) {
  return (await store.query(log.id, { action, descending: true, limit: 1 }))[0];
}
