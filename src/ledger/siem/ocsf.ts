/**
 * OCSF 1.3.0 (https://schema.ocsf.io/1.3.0): an entry becomes an API Activity (class_uid 6003,
 * category 6 Application Activity), or an Authentication (class_uid 3002, category 3 Identity &
 * Access Management) when its action is a login (isLoginAction). One JSON object per line.
 * docs/exports.md holds the mapping table; test/vectors/ocsf holds the JSON Schemas the output
 * is validated against.
 */
import type { Entry } from '../../core/event/entry.ts';
import { epochMs, type RecordContext, type RecordFormat, shownValue } from './fields.ts';

export const OCSF_VERSION = '1.3.0';

export const API_ACTIVITY = {
  class_uid: 6003,
  class_name: 'API Activity',
  category_uid: 6,
  category_name: 'Application Activity',
};
export const AUTHENTICATION = {
  class_uid: 3002,
  class_name: 'Authentication',
  category_uid: 3,
  category_name: 'Identity & Access Management',
};

/** The words of an action: split on `.`, `_`, `-`, `:`, `/` and camel case, lower case. */
function words(action: string): string[] {
  return action
    .replace(/([a-z0-9])([A-Z])/g, '$1 $2')
    .toLowerCase()
    .split(/[^a-z0-9]+/)
    .filter((w) => w.length > 0);
}

const LOGIN = new Set(['login', 'logon', 'signin', 'authenticate', 'authentication']);
const LOGOUT = new Set(['logout', 'logoff', 'signout']);
const SESSION_END = new Set([
  'end',
  'ended',
  'close',
  'closed',
  'expire',
  'expired',
  'revoke',
  'revoked',
  'destroy',
  'destroyed',
  'terminate',
  'terminated',
]);

/**
 * An action is a login, and its entry an OCSF Authentication, when one of its words is login,
 * logon, signin, authenticate, logout, logoff or signout (`sign.in` and `log.in` count too), or
 * when its first word is `auth` or `session`. Logoff (activity 2) for logout, logoff, signout,
 * and `session.*` that ends a session (end, close, expire, revoke, destroy, terminate); Logon
 * (activity 1) otherwise. Reserved `evident.*` actions are never logins.
 */
export function loginActivity(action: string): 1 | 2 | undefined {
  const w = words(action);
  if (w[0] === 'evident') return undefined;
  const joined = w.map((x, i) =>
    w[i + 1] === 'in' || w[i + 1] === 'out' || w[i + 1] === 'on' || w[i + 1] === 'off' ? x + w[i + 1] : x,
  );
  const has = (set: Set<string>) => joined.some((x) => set.has(x));
  if (has(LOGOUT)) return 2;
  if (has(LOGIN)) return 1;
  if (w[0] === 'session') return w.slice(1).some((x) => SESSION_END.has(x)) ? 2 : 1;
  if (w[0] === 'auth') return 1;
  return undefined;
}

const CREATE = new Set([
  'create',
  'created',
  'add',
  'added',
  'insert',
  'inserted',
  'new',
  'register',
  'registered',
  'upload',
  'uploaded',
  'post',
  'invite',
  'invited',
]);
const READ = new Set([
  'read',
  'get',
  'list',
  'view',
  'viewed',
  'show',
  'query',
  'search',
  'export',
  'download',
  'downloaded',
  'access',
  'accessed',
  'open',
  'opened',
  'fetch',
  'describe',
]);
const UPDATE = new Set([
  'update',
  'updated',
  'edit',
  'edited',
  'change',
  'changed',
  'modify',
  'modified',
  'set',
  'patch',
  'put',
  'rename',
  'renamed',
  'grant',
  'granted',
  'assign',
  'assigned',
  'enable',
  'enabled',
  'disable',
  'disabled',
  'rotate',
  'rotated',
  'approve',
  'approved',
]);
const DELETE = new Set([
  'delete',
  'deleted',
  'remove',
  'removed',
  'destroy',
  'destroyed',
  'erase',
  'erased',
  'purge',
  'purged',
  'revoke',
  'revoked',
  'prune',
  'pruned',
]);

/** API Activity activity_id from the action's last word that names one: 1 Create, 2 Read, 3 Update, 4 Delete, else 99 Other. */
export function apiActivity(action: string): 1 | 2 | 3 | 4 | 99 {
  const w = words(action);
  for (let i = w.length - 1; i >= 0; i--) {
    const x = w[i]!;
    if (CREATE.has(x)) return 1;
    if (READ.has(x)) return 2;
    if (UPDATE.has(x)) return 3;
    if (DELETE.has(x)) return 4;
  }
  return 99;
}

const API_NAMES: Record<number, string> = { 1: 'Create', 2: 'Read', 3: 'Update', 4: 'Delete', 99: 'Other' };
const AUTH_NAMES: Record<number, string> = { 1: 'Logon', 2: 'Logoff' };

/** result → status_id (1 Success, 2 Failure) and severity_id (1 Informational, 2 Low, 3 Medium). */
const STATUS = {
  success: { status_id: 1, status: 'Success', severity_id: 1, severity: 'Informational' },
  failure: { status_id: 2, status: 'Failure', severity_id: 2, severity: 'Low' },
  denied: { status_id: 2, status: 'Failure', severity_id: 3, severity: 'Medium' },
} as const;

/** actor_type → OCSF user type_id (0 Unknown, 1 User, 2 Admin, 3 System, 99 Other). */
const USER_TYPES: Record<string, { type_id: number; type: string }> = {
  user: { type_id: 1, type: 'User' },
  admin: { type_id: 2, type: 'Admin' },
  system: { type_id: 3, type: 'System' },
  service: { type_id: 99, type: 'Service' },
  anonymous: { type_id: 99, type: 'Anonymous' },
};

/** Activities by action: a log holds few distinct actions, so each is classified once (bounded). */
const classified = new Map<string, { login: 1 | 2 | undefined; api: 1 | 2 | 3 | 4 | 99 }>();

function classify(action: string): { login: 1 | 2 | undefined; api: 1 | 2 | 3 | 4 | 99 } {
  let c = classified.get(action);
  if (!c) {
    if (classified.size >= 10_000) classified.clear();
    c = { login: loginActivity(action), api: apiActivity(action) };
    classified.set(action, c);
  }
  return c;
}

export function toOcsf(entry: Entry, ctx: RecordContext): Record<string, unknown> {
  const { login, api } = classify(entry.action);
  const cls = login ? AUTHENTICATION : API_ACTIVITY;
  const activity_id = login ?? api;
  const status = STATUS[entry.result as keyof typeof STATUS] ?? {
    status_id: 99,
    status: entry.result,
    severity_id: 0,
    severity: 'Unknown',
  };
  const user = {
    uid: entry.actor_id,
    ...(USER_TYPES[entry.actor_type] ?? { type_id: 99, type: entry.actor_type }),
  };
  const ip = shownValue(entry, 'ip_address');
  const userAgent = shownValue(entry, 'user_agent');
  const session = shownValue(entry, 'session_id');
  const reason = shownValue(entry, 'reason');
  const unmapped: Record<string, unknown> = {
    evident_origin: ctx.origin,
    evident_index: entry.index,
    evident_leaf_hash: entry.hash,
    received_at: entry.received_at,
  };
  for (const f of ['changed_fields', 'old_values', 'new_values', 'metadata'] as const) {
    const v = shownValue(entry, f);
    if (v !== undefined) unmapped[f] = v;
  }
  if (entry.erased) unmapped['erased'] = entry.erased;
  const names = login ? AUTH_NAMES : API_NAMES;
  const out: Record<string, unknown> = {
    activity_id,
    activity_name: names[activity_id],
    category_uid: cls.category_uid,
    category_name: cls.category_name,
    class_uid: cls.class_uid,
    class_name: cls.class_name,
    type_uid: cls.class_uid * 100 + activity_id,
    type_name: `${cls.class_name}: ${names[activity_id]}`,
    time: epochMs(entry.timestamp),
    severity_id: status.severity_id,
    severity: status.severity,
    status_id: status.status_id,
    status: status.status,
    ...(entry.result !== 'success' ? { status_code: entry.result } : {}),
    ...(typeof reason === 'string' ? { status_detail: reason } : {}),
    message: `${entry.actor_id} ${entry.action} ${entry.resource_type}/${entry.resource_id}: ${entry.result}`,
    metadata: {
      version: OCSF_VERSION,
      product: { name: 'evident', vendor_name: 'evident', version: ctx.productVersion },
      uid: entry.id,
      log_name: ctx.origin,
      sequence: entry.index,
      original_time: entry.timestamp,
      logged_time: epochMs(entry.received_at),
    },
    actor: {
      user,
      ...(typeof session === 'string' ? { session: { uid: session } } : {}),
    },
    // API Activity requires src_endpoint; without an address the event says so by name.
    src_endpoint: typeof ip === 'string' && ip !== '[erased]' ? { ip } : { name: 'unknown' },
    ...(typeof userAgent === 'string' ? { http_request: { user_agent: userAgent } } : {}),
    unmapped,
  };
  if (login) {
    out['user'] = user;
    out['service'] = { name: entry.resource_type, uid: entry.resource_id };
    out['logon_type_id'] = 0;
    out['auth_protocol_id'] = 0;
  } else {
    out['api'] = { operation: entry.action };
    out['resources'] = [{ type: entry.resource_type, uid: entry.resource_id }];
  }
  return out;
}

export const ocsfFormat: RecordFormat = {
  name: 'ocsf',
  contentType: 'application/x-ndjson; charset=utf-8',
  extension: 'ocsf.jsonl',
  header: () => '',
  record: (entry, ctx) => `${JSON.stringify(toOcsf(entry, ctx))}\n`,
};
