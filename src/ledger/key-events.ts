/**
 * API keys in the log: the ledger itself appends an audit event when a key is created and
 * when it is revoked, in every log the key reaches (each log it names; every log that exists,
 * for a `*` key). The event is written before the key row, through the same internal append
 * path as an erasure event (sequencing under the log's lock, no client input), so a key that
 * exists has its creation on record; `evident verify` reports any key that has not
 * (key-check.ts). The actions are in the reserved `evident.*` namespace: clients cannot write
 * them.
 */
import { createHash } from 'node:crypto';
import { ErrorCode, EvidentError } from '../core/errors.ts';
import type { AuditEvent } from '../core/event/schema.ts';
import { validateEvent } from '../core/event/validate.ts';
import type { ApiKeyRecord, LogInfo, Store } from '../store/types.ts';
import { integrate, type Receipt } from './integrate.ts';

export const API_KEY_CREATED = 'evident.api_key.created';
export const API_KEY_REVOKED = 'evident.api_key.revoked';
/** The resource type of key events; the resource id is the key id. */
export const API_KEY_RESOURCE = 'api_key';

/** Who manages the key, and from where (the event's actor); default the system itself. */
export interface KeyEventActor {
  id: string;
  type: 'admin' | 'system' | 'user' | 'service';
  ip_address?: string;
}

/**
 * What the creation event binds the stored key to: SHA-256 of the stored secret hash (the
 * secret itself is never recorded; this only lets verify see a replaced secret hash).
 */
export function secretFingerprint(secretHash: string): string {
  return createHash('sha256').update(secretHash, 'utf8').digest('hex');
}

/** The logs a key reaches among those that exist. */
export function logsReached(key: Pick<ApiKeyRecord, 'logs'>, logs: readonly LogInfo[]): LogInfo[] {
  return logs.filter((l) => key.logs.includes('*') || key.logs.includes(l.name));
}

/** The metadata of a creation event: what verify compares the stored key with. */
export function createdMetadata(key: ApiKeyRecord): Record<string, unknown> {
  return {
    key_id: key.id,
    logs: key.logs,
    scopes: key.scopes,
    created_at: key.createdAt,
    secret_sha256: secretFingerprint(key.secretHash),
    ...(key.description !== undefined ? { description: key.description } : {}),
  };
}

export interface KeyEventOptions {
  by?: KeyEventActor;
  now: () => Date;
}

/**
 * Appends the event of a key's creation or revocation to every log it reaches, before the
 * key row changes. Refuses (NOT_FOUND) when no such log exists: a key nothing records would
 * be reported by verify as soon as a log it reaches appears.
 */
export async function recordKeyEvent(
  store: Store,
  change: 'created' | 'revoked',
  key: ApiKeyRecord,
  o: KeyEventOptions,
): Promise<Receipt[]> {
  const targets = logsReached(key, await store.listLogs());
  if (targets.length === 0) {
    throw new EvidentError(
      ErrorCode.NOT_FOUND,
      `no log that key ${key.id} reaches exists (${key.logs.join(', ')}), so its ${change === 'created' ? 'creation' : 'revocation'} cannot be recorded: create the log first (evident init)`,
      { field: 'logs', logs: key.logs },
    );
  }
  const event: AuditEvent = validateEvent(
    {
      actor_id: o.by?.id ?? 'evident',
      actor_type: o.by?.type ?? 'system',
      ...(o.by?.ip_address !== undefined ? { ip_address: o.by.ip_address } : {}),
      action: change === 'created' ? API_KEY_CREATED : API_KEY_REVOKED,
      resource_type: API_KEY_RESOURCE,
      resource_id: key.id,
      result: 'success',
      metadata:
        change === 'created'
          ? createdMetadata(key)
          : { key_id: key.id, revoked_at: key.revokedAt ?? o.now().toISOString() },
    },
    // evident.api_key.* is reserved for the ledger: no client may write it
    { now: o.now, ledger: true },
  );
  const receipts: Receipt[] = [];
  for (const log of targets) receipts.push(await appendInternal(store, log, event, o.now));
  return receipts;
}

/** The ledger's own append of one event it wrote itself (no client, no idempotency lookup). */
async function appendInternal(
  store: Store,
  log: LogInfo,
  event: AuditEvent,
  now: () => Date,
): Promise<Receipt> {
  return store.write(log.id, async (tx) => {
    const r = integrate(await tx.head(), [[event]], new Map(), {
      erasable: log.erasable,
      receivedAt: now().toISOString(),
    });
    const outcome = r.outcomes[0]!;
    if (!outcome.ok) throw outcome.error;
    await tx.insertEntries(r.entries, r.nodes, r.head);
    return outcome.receipts[0]!;
  });
}
