/**
 * Every alert raised is itself an audit event, `evident.alert`, in the log it concerns, written
 * with the ledger's authority like an erasure (../ledger/erase.ts): under the log's sequencing
 * lock, the head checked first. So the alerts are as tamper-evident as the events they are about.
 */
import type { AuditEvent } from '../core/event/schema.ts';
import { validateEvent } from '../core/event/validate.ts';
import { checkedHead } from '../ledger/head.ts';
import { integrate, type Receipt } from '../ledger/integrate.ts';
import type { LogInfo, Store } from '../store/types.ts';

export const ALERT_ACTION = 'evident.alert';

export async function appendAlertEvent(
  store: Store,
  log: LogInfo,
  id: string,
  metadata: Record<string, unknown>,
  now: () => Date,
): Promise<Receipt> {
  const event: AuditEvent = validateEvent(
    {
      actor_id: 'evident',
      actor_type: 'system',
      action: ALERT_ACTION,
      resource_type: 'alert',
      resource_id: id,
      result: 'success',
      metadata,
    },
    { now, ledger: true },
  );
  return store.write(log.id, async (tx) => {
    const { head } = await checkedHead(tx);
    const r = integrate(head, [[event]], new Map(), { erasable: [], receivedAt: now().toISOString() });
    const outcome = r.outcomes[0]!;
    if (!outcome.ok) throw outcome.error;
    await tx.insertEntries(r.entries, r.nodes, r.head);
    return outcome.receipts[0]!;
  });
}
