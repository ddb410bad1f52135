/**
 * Keys outside the log: every API key in the store that reaches a log must have been created
 * by an audit event (key-events.ts) that says what it is: its logs, scopes, creation time and
 * secret. A key inserted or edited by a database writer (a backdated `*` admin key, a widened
 * scope, a swapped secret hash) has no such event, or differs from it; a revocation that no
 * event records (every key revoked by a writer, to take the service down) is reported too.
 */
import type { Entry } from '../core/event/entry.ts';
import { PRUNE_ACTION } from '../core/event/prune.ts';
import { type Fault, FaultKind } from '../core/verify/report.ts';
import type { ApiKeyRecord, ApiKeyStore, LogInfo, Store } from '../store/types.ts';
import {
  API_KEY_CREATED,
  API_KEY_RESOURCE,
  API_KEY_REVOKED,
  createdMetadata,
  logsReached,
} from './key-events.ts';

/** Whether the entry may be a key event (what KeyEventsSeen looks at). */
export const isKeyEvent = (e: Entry): boolean => e.resource_type === API_KEY_RESOURCE;

/** The key events of one log, gathered while its entries are verified. */
export class KeyEventsSeen {
  readonly created = new Map<string, Entry>();
  readonly revoked = new Map<string, Entry>();

  private addPruned(e: Entry): void {
    for (const k of prunedKeyEvents(e)) {
      const as = {
        ...e,
        index: k.index,
        action: k.action,
        resource_type: API_KEY_RESOURCE,
        resource_id: k.key_id,
        metadata: k.metadata,
      };
      if (k.action === API_KEY_CREATED && !this.created.has(k.key_id)) this.created.set(k.key_id, as);
      else if (k.action === API_KEY_REVOKED && !this.revoked.has(k.key_id)) this.revoked.set(k.key_id, as);
    }
  }

  add(page: readonly Entry[]): void {
    for (const e of page) {
      if (e.action === PRUNE_ACTION) this.addPruned(e);
      if (e.resource_type !== API_KEY_RESOURCE) continue;
      if (e.action === API_KEY_CREATED && !this.created.has(e.resource_id))
        this.created.set(e.resource_id, e);
      else if (e.action === API_KEY_REVOKED && !this.revoked.has(e.resource_id))
        this.revoked.set(e.resource_id, e);
    }
  }
}

/**
 * Key events that left the store with a pruned segment: the prune event carries them
 * (`metadata.api_key_events`, docs/retention.md), signed into the log like the event itself.
 */
export interface PrunedKeyEvent {
  action: string;
  index: number;
  key_id: string;
  metadata: Record<string, unknown>;
}

function prunedKeyEvents(e: Entry): PrunedKeyEvent[] {
  const list = (e.metadata as { api_key_events?: unknown } | undefined)?.api_key_events;
  if (!Array.isArray(list)) return [];
  return list.filter(
    (x): x is PrunedKeyEvent =>
      typeof x === 'object' &&
      x !== null &&
      typeof (x as PrunedKeyEvent).action === 'string' &&
      typeof (x as PrunedKeyEvent).key_id === 'string' &&
      Number.isSafeInteger((x as PrunedKeyEvent).index) &&
      typeof (x as PrunedKeyEvent).metadata === 'object',
  );
}

/** The key events of a range about to be pruned, those its earlier prune events carried included. */
export function keyEventsOf(entries: readonly Entry[]): PrunedKeyEvent[] {
  const out: PrunedKeyEvent[] = [];
  for (const e of entries) {
    if (e.action === PRUNE_ACTION) out.push(...prunedKeyEvents(e));
    else if (
      e.resource_type === API_KEY_RESOURCE &&
      (e.action === API_KEY_CREATED || e.action === API_KEY_REVOKED)
    )
      out.push({
        action: e.action,
        index: e.index,
        key_id: e.resource_id,
        metadata: (e.metadata ?? {}) as Record<string, unknown>,
      });
  }
  return out;
}

/**
 * The store's API keys, when it keeps them (every driver does): verification checks them
 * whenever they are there, without the ledger depending on the interface.
 */
export function apiKeysOf(store: Store): ApiKeyStore | undefined {
  const s = store as Partial<ApiKeyStore>;
  return typeof s.listApiKeys === 'function' ? (store as Store & ApiKeyStore) : undefined;
}

/** The event's claims about the key, as createdMetadata writes them. */
function differs(event: Entry, key: ApiKeyRecord): string[] {
  const expected = createdMetadata(key);
  const got = (event.metadata ?? {}) as Record<string, unknown>;
  const out: string[] = [];
  for (const k of ['logs', 'scopes', 'created_at', 'secret_sha256', 'description']) {
    // strings and arrays of strings, in the order createdMetadata wrote them
    if (JSON.stringify(expected[k]) !== JSON.stringify(got[k])) out.push(k);
  }
  return out;
}

/**
 * Faults for the keys reaching `log`. Events are looked for in this log (its entries were just
 * verified), then in the other logs (a key made before this log existed is recorded in those
 * that existed then; each of them is verified on its own).
 */
export async function checkApiKeys(
  store: Store,
  apiKeys: ApiKeyStore,
  log: LogInfo,
  seen: KeyEventsSeen,
): Promise<Fault[]> {
  const [keys, logs] = await Promise.all([apiKeys.listApiKeys(), store.listLogs()]);
  const others = logs.filter((l) => l.id !== log.id);
  const elsewhere = async (action: string, id: string): Promise<Entry | undefined> => {
    for (const other of others) {
      const [e] = await store.query(other.id, {
        action,
        resource_type: API_KEY_RESOURCE,
        resource_id: id,
        limit: 1,
      });
      if (e) return e;
    }
    return undefined;
  };
  const faults: Fault[] = [];
  for (const key of keys) {
    if (logsReached(key, [log]).length === 0) continue;
    const created = seen.created.get(key.id) ?? (await elsewhere(API_KEY_CREATED, key.id));
    if (!created) {
      faults.push({
        kind: FaultKind.API_KEY_UNRECORDED,
        index: null,
        message: `API key ${key.id} (${key.scopes.join(', ')} on ${key.logs.join(', ')}) was not created by an audit event: it was written into the database directly`,
        key_id: key.id,
        problem: 'no_creation_event',
      });
      continue;
    }
    const fields = differs(created, key);
    if (fields.length > 0) {
      faults.push({
        kind: FaultKind.API_KEY_UNRECORDED,
        index: created.index,
        message: `API key ${key.id} differs from its creation event in ${fields.join(', ')}: it was edited in the database`,
        key_id: key.id,
        problem: 'differs_from_event',
        fields,
      });
    }
    if (key.revokedAt !== undefined) {
      const revoked = seen.revoked.get(key.id) ?? (await elsewhere(API_KEY_REVOKED, key.id));
      if (!revoked) {
        faults.push({
          kind: FaultKind.API_KEY_UNRECORDED,
          index: null,
          message: `API key ${key.id} is revoked but no audit event revoked it: it was revoked in the database directly`,
          key_id: key.id,
          problem: 'no_revocation_event',
        });
      }
    }
  }
  return faults;
}
