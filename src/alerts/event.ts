/**
 * Every alert raised is itself an audit event, `evident.alert`, in the log it concerns, written
 * with the ledger's authority like an erasure (../ledger/erase.ts): under the log's sequencing
 * lock, the head checked first. So the alerts are as tamper-evident as the events they are about.
 *
 * The event is a function of the alert row alone: its id is derived from the alert id and its
 * timestamp is the alert's `raised_at`. Appending it again is then an idempotent retry (the
 * ledger finds the id and writes nothing), which is how the runner repairs an alert whose event
 * a crash or a failed append left unwritten.
 */
import { createHash } from 'node:crypto';
import type { AuditEvent } from '../core/event/schema.ts';
import { validateEvent } from '../core/event/validate.ts';
import { checkedHead } from '../ledger/head.ts';
import { integrate, type Receipt } from '../ledger/integrate.ts';
import type { LogInfo, Store } from '../store/types.ts';

export const ALERT_ACTION = 'evident.alert';

/**
 * The `evident.alert` event's id: an RFC 9562 §5.8 UUIDv8 made of SHA-256 of the alert id, the
 * same in every process and on every retry.
 */
export function alertEventId(alertId: string): string {
  const b = createHash('sha256').update(`evident.alert:${alertId}`).digest();
  b[6] = (b[6]! & 0x0f) | 0x80;
  b[8] = (b[8]! & 0x3f) | 0x80;
  const h = b.subarray(0, 16).toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

/**
 * Appends the alert's event to `log`, once: when the log holds it already (same id, same
 * content), this writes nothing and returns the original receipt, `duplicate` set.
 */
export async function appendAlertEvent(
  store: Store,
  log: LogInfo,
  id: string,
  raisedAt: string,
  metadata: Record<string, unknown>,
  now: () => Date,
): Promise<Receipt> {
  const event: AuditEvent = validateEvent(
    {
      id: alertEventId(id),
      timestamp: raisedAt,
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
    const existing = await tx.entriesById([event.id]);
    const r = integrate(head, [[event]], existing, { erasable: [], receivedAt: now().toISOString() });
    const outcome = r.outcomes[0]!;
    if (!outcome.ok) throw outcome.error;
    if (r.entries.length > 0) await tx.insertEntries(r.entries, r.nodes, r.head);
    return outcome.receipts[0]!;
  });
}
