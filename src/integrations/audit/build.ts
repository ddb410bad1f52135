/**
 * Turns one finished request into one event. Only what is listed here is read from the
 * request: never its body, cookies or authorization header, and other headers only when named
 * in `captureHeaders`.
 */

import { normaliseIp } from '../../core/event/ip.ts';
import { LIMITS } from '../../core/event/schema.ts';
import type { AuditConfig } from './config.ts';
import { ANONYMOUS, resultFromStatus, UNMATCHED } from './defaults.ts';
import type { RequestAudit } from './request-audit.ts';
import type { ResourceRef, RouteInfo } from './types.ts';

/** What the framework tells about a request once its status is known. */
export interface RequestFacts extends RouteInfo {
  status: number;
  headers: Readonly<Record<string, string | string[] | undefined>>;
  /** The client went away before the response was complete. */
  aborted?: boolean;
}

const CONTROL = /[\u0000-\u001f\u007f]/g;

/**
 * Values taken from the wire (user agent, route parameters) are made to fit the schema rather
 * than losing the whole event: control characters become U+FFFD and over-long text is cut, and
 * `metadata.truncated` names every field so changed.
 */
function fit(value: string, max: number, field: string, changed: string[]): string {
  let out = value.replace(CONTROL, '\uFFFD');
  if (out.length > max) out = out.slice(0, max);
  if (out !== value) changed.push(field);
  return out;
}

export function buildEvent<Req>(
  cfg: AuditConfig<Req>,
  state: RequestAudit<Req>,
  req: Req,
  facts: RequestFacts,
): Record<string, unknown> {
  const changed: string[] = [];
  const f = state.fields;
  const route = state.route;
  const actorId = f.actor_id ?? cfg.actor(req);
  const actorType = f.actor_type ?? cfg.actorType(req, actorId);
  const action = f.action ?? route?.action ?? `${facts.method.toLowerCase()} ${facts.pattern ?? UNMATCHED}`;
  const resource = resolveResource(cfg, req, facts, route?.resource);
  const event: Record<string, unknown> = {
    id: state.eventId,
    timestamp: state.timestamp,
    actor_id: fit(actorId ?? ANONYMOUS, LIMITS.shortText, 'actor_id', changed),
    actor_type: actorType,
    action: fit(action, LIMITS.name, 'action', changed),
    resource_type: fit(f.resource_type ?? resource.type, LIMITS.name, 'resource_type', changed),
    resource_id: fit(f.resource_id ?? resource.id, LIMITS.shortText, 'resource_id', changed),
    result: facts.aborted && facts.status < 400 ? 'failure' : resultFromStatus(facts.status),
  };
  const ip = state.ip === undefined ? undefined : normaliseIp(unmapIpv4(state.ip));
  if (ip !== undefined) event['ip_address'] = ip;
  if (state.userAgent) event['user_agent'] = fit(state.userAgent, LIMITS.userAgent, 'user_agent', changed);
  const session = cfg.session(req);
  if (session) event['session_id'] = fit(session, LIMITS.shortText, 'session_id', changed);
  const reason = f.reason ?? route?.reason;
  if (reason !== undefined) event['reason'] = reason;
  if (f.changed_fields !== undefined) event['changed_fields'] = f.changed_fields;
  if (f.old_values !== undefined) event['old_values'] = f.old_values;
  if (f.new_values !== undefined) event['new_values'] = f.new_values;

  const metadata: Record<string, unknown> = {
    ...f.metadata,
    method: facts.method,
    route: facts.pattern ?? UNMATCHED,
    status: facts.status,
    duration_ms: Math.round((performance.now() - state.startedAt) * 1000) / 1000,
  };
  const requestId = cfg.requestId(req);
  if (requestId !== undefined)
    metadata['request_id'] = fit(requestId, LIMITS.shortText, 'request_id', changed);
  if (facts.aborted) metadata['aborted'] = true;
  const headers = captured(cfg.captureHeaders, facts.headers, changed);
  if (headers) metadata['headers'] = headers;
  if (changed.length > 0) metadata['truncated'] = changed;
  event['metadata'] = metadata;
  return event;
}

/**
 * A dual-stack server sees IPv4 clients as `::ffff:a.b.c.d` (RFC 4291 §2.5.5.2): the same
 * address, written the way every other system logs it, so that queries by IP find it.
 */
function unmapIpv4(ip: string): string {
  return /^::ffff:\d+\.\d+\.\d+\.\d+$/i.test(ip) ? ip.slice(7) : ip;
}

function resolveResource<Req>(
  cfg: AuditConfig<Req>,
  req: Req,
  facts: RequestFacts,
  override: ResourceRef | ((req: Req) => ResourceRef | undefined) | undefined,
): ResourceRef {
  const fromRoute = typeof override === 'function' ? override(req) : override;
  return fromRoute ?? cfg.resource(req, facts) ?? { type: 'route', id: facts.pattern ?? UNMATCHED };
}

function captured(
  names: readonly string[],
  headers: RequestFacts['headers'],
  changed: string[],
): Record<string, string> | undefined {
  if (names.length === 0) return undefined;
  const out: Record<string, string> = {};
  for (const name of names) {
    const v = headers[name];
    if (v === undefined) continue;
    out[name] = fit(Array.isArray(v) ? v.join(', ') : v, LIMITS.userAgent, `headers.${name}`, changed);
  }
  return Object.keys(out).length > 0 ? out : undefined;
}
