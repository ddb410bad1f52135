/**
 * API keys: `evk_<id>_<secret>`, id 12 hex digits (public: it names the key in audit events),
 * secret 32 random bytes in base64url. The store keeps only SHA-256 of the secret text;
 * a presented secret is hashed and compared in constant time (crypto.timingSafeEqual).
 * Creating and revoking a key each append an audit event first (ledger/key-events.ts).
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { API_KEY_TEXT } from '../core/api-key-text.ts';
import { ErrorCode, EvidentError } from '../core/errors.ts';
import { isValidLogName } from '../core/log-name.ts';
import { type KeyEventActor, recordKeyEvent } from '../ledger/key-events.ts';
import type { ApiKeyRecord, ApiKeyStore, Scope, Store } from '../store/types.ts';

export const SCOPES: readonly Scope[] = ['ingest', 'read', 'verify', 'admin'];
export const ALL_LOGS = '*';

const KEY_TEXT = API_KEY_TEXT;

export interface ParsedKey {
  id: string;
  secret: string;
}

/** The parts of a key string, or undefined when it is not one. */
export function parseApiKey(text: string): ParsedKey | undefined {
  const m = KEY_TEXT.exec(text);
  return m ? { id: m[1]!, secret: m[2]! } : undefined;
}

export function hashSecret(secret: string): string {
  return createHash('sha256').update(secret, 'utf8').digest('hex');
}

// Compared against when the key id is unknown, so that an unknown id costs the same work.
const DUMMY_HASH = hashSecret('evident: no such key');

/** Whether `secret` is the key's secret; constant time in the secret. */
export function secretMatches(record: ApiKeyRecord | undefined, secret: string): boolean {
  const presented = Buffer.from(hashSecret(secret), 'hex');
  const storedHex = record?.secretHash ?? DUMMY_HASH;
  const stored = /^[0-9a-f]{64}$/.test(storedHex) ? Buffer.from(storedHex, 'hex') : Buffer.alloc(32);
  return timingSafeEqual(presented, stored) && record !== undefined;
}

export function keyReaches(record: ApiKeyRecord, log: string): boolean {
  return record.logs.includes(ALL_LOGS) || record.logs.includes(log);
}

/** admin holds every scope. */
export function keyHasScope(record: ApiKeyRecord, scope: Scope): boolean {
  return record.scopes.includes('admin') || record.scopes.includes(scope);
}

export interface NewKeySpec {
  logs: readonly string[];
  scopes: readonly string[];
  description?: string;
  now?: () => Date;
  /** Who creates the key, recorded as the creation event's actor (default: the system). */
  by?: KeyEventActor;
}

export interface NewKey {
  /** The key string: shown once, never stored. */
  key: string;
  record: ApiKeyRecord;
}

/**
 * Creates and stores a key, after appending its creation event to every log it reaches;
 * returns the key string, which exists nowhere else.
 */
export async function createApiKey(store: Store & ApiKeyStore, spec: NewKeySpec): Promise<NewKey> {
  const { logs, scopes } = checkSpec(spec);
  await mayManageKeys(store);
  for (let attempt = 0; ; attempt++) {
    const id = randomBytes(6).toString('hex');
    if ((await store.getApiKey(id)) !== undefined) {
      if (attempt < 5) continue;
      throw new EvidentError(ErrorCode.INTERNAL, 'could not find a free key id');
    }
    const secret = randomBytes(32).toString('base64url');
    const record: ApiKeyRecord = {
      id,
      secretHash: hashSecret(secret),
      logs,
      scopes,
      ...(spec.description !== undefined ? { description: spec.description } : {}),
      createdAt: (spec.now?.() ?? new Date()).toISOString(),
    };
    const now = spec.now ?? (() => new Date());
    await recordKeyEvent(store, 'created', record, { now, ...(spec.by ? { by: spec.by } : {}) });
    await store.createApiKey(record);
    return { key: `evk_${id}_${secret}`, record };
  }
}

function checkSpec(spec: NewKeySpec): { logs: string[]; scopes: Scope[] } {
  const usage = (message: string, field: string) => new EvidentError(ErrorCode.USAGE, message, { field });
  if (spec.logs.length === 0) throw usage('a key needs at least one log (or * for every log)', 'logs');
  for (const l of spec.logs) {
    if (l !== ALL_LOGS && !isValidLogName(l)) {
      throw usage(`"${l}" is not a log name (1 to 64 of a-z, 0-9, ".", "_", "-"), nor *`, 'logs');
    }
  }
  if (spec.scopes.length === 0)
    throw usage(`a key needs at least one scope (${SCOPES.join(', ')})`, 'scopes');
  for (const s of spec.scopes) {
    if (!(SCOPES as readonly string[]).includes(s)) {
      throw usage(`"${s}" is not a scope (${SCOPES.join(', ')})`, 'scopes');
    }
  }
  if (spec.description !== undefined && !/^[^\u0000-\u001f\u007f]{1,256}$/.test(spec.description)) {
    throw usage('a description is 1 to 256 characters on one line', 'description');
  }
  return { logs: [...new Set(spec.logs)], scopes: [...new Set(spec.scopes)] as Scope[] };
}

export interface RevokeOptions {
  now?: () => Date;
  /** Who revokes the key, recorded as the revocation event's actor (default: the system). */
  by?: KeyEventActor;
}

/**
 * Revokes a key, after appending its revocation event to every log it reaches. Returns the
 * key as it was before, or undefined when there is no such key; a key already revoked is left
 * as it is (and no event is written again).
 */
export async function revokeApiKey(
  store: Store & ApiKeyStore,
  id: string,
  o: RevokeOptions = {},
): Promise<ApiKeyRecord | undefined> {
  const before = await store.getApiKey(id);
  if (!before || before.revokedAt !== undefined) return before;
  await mayManageKeys(store);
  const now = o.now ?? (() => new Date());
  const at = now().toISOString();
  await recordKeyEvent(
    store,
    'revoked',
    { ...before, revokedAt: at },
    { now, ...(o.by ? { by: o.by } : {}) },
  );
  await store.revokeApiKey(id, at);
  return before;
}

/** Refuses before any event is written when this connection cannot change keys. */
async function mayManageKeys(store: ApiKeyStore): Promise<void> {
  if (!(await store.apiKeysWritable())) {
    throw new EvidentError(
      ErrorCode.USAGE,
      'this database connection may not create or revoke API keys: on PostgreSQL, connect as the schema owner (the service role only reads keys)',
      { field: 'db' },
    );
  }
}
