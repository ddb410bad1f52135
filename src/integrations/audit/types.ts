/**
 * The shapes shared by the Express middleware and the Fastify plugin: what a handler may add to
 * its request's event, what a route may override, and the options both factories take.
 */
import type { EvidentError } from '../../core/errors.ts';
import type { ACTOR_TYPES } from '../../core/event/vocabulary.ts';
import type { AuditSink } from '../sink.ts';

export type ActorType = (typeof ACTOR_TYPES)[number];

/** What a resource is: `resource_type` and `resource_id` of the event. */
export interface ResourceRef {
  type: string;
  id: string;
}

/** The route a request matched, as the resource extractor sees it. */
export interface RouteInfo {
  method: string;
  /** The route pattern (`/patients/:id`), or undefined when no route matched. */
  pattern: string | undefined;
  /** Route parameters by name, decoded. */
  params: Readonly<Record<string, string>>;
}

/** Fields a handler (or a route override) may set on its request's event. */
export interface AuditFields {
  action?: string;
  actor_id?: string;
  actor_type?: ActorType;
  resource_type?: string;
  resource_id?: string;
  reason?: string;
  changed_fields?: string[];
  old_values?: Record<string, unknown>;
  new_values?: Record<string, unknown>;
  /** Merged into the event's metadata; the middleware's own keys (status, duration_ms ...) win. */
  metadata?: Record<string, unknown>;
}

/** The per-request handle: `req.audit` (Express) and `request.audit` (Fastify). */
export interface AuditHandle {
  /** The id the event will carry (UUIDv7), e.g. to quote in a support ticket. */
  readonly eventId: string;
  /** Adds to this request's event; later calls win field by field, metadata is merged. */
  set(fields: AuditFields): void;
}

/** A route's own audit settings: `audit({...})` in Express, `config: { audit: {...} }` in Fastify. */
export interface RouteAudit<Req> {
  action?: string;
  /** A fixed resource, or a function of the request. */
  resource?: ResourceRef | ((req: Req) => ResourceRef | undefined);
  reason?: string;
  /**
   * Make a provisional event durable before the handler runs (503 when it cannot), and the final
   * event before the response leaves (503, with the provisional event kept, when it cannot).
   */
  failClosed?: boolean;
  /** Record nothing for this route. */
  skip?: boolean;
}

/** What `onError` is told besides the error. */
export interface AuditFailure {
  /**
   * `record`: the event was built but not kept; `preflight`: a fail-closed request was refused
   * (its provisional event could not be made durable); `release`: a provisional event could not
   * be given to the log now (it stays durable and is recorded when the sink next opens).
   */
  stage: 'record' | 'preflight' | 'build' | 'release';
  event_id: string;
  action: string | undefined;
}

export interface AuditOptions<Req> {
  /** Where events go: `ledgerSink(ledger)` (embedded) or an `EvidentClient` (remote). Required. */
  sink: AuditSink;
  /** Who acted. Default: `req.user.id`, `req.user.sub`, `req.auth.userId`, `req.auth.sub`, `req.auth.payload.sub`. */
  actor?: (req: Req) => string | undefined;
  /** Kind of actor. Default: `user` when an actor was found, else `anonymous`. */
  actorType?: (req: Req, actorId: string | undefined) => ActorType;
  /** Which resource. Default: see `defaultResource` (last route parameter). */
  resource?: (req: Req, route: RouteInfo) => ResourceRef | undefined;
  /** Session id. Default: `req.sessionID` (express-session), `req.session.id`, `req.session.sessionId` (@fastify/session). */
  session?: (req: Req) => string | undefined;
  /** Request id for metadata. Default: Fastify's `request.id`; Express: `req.id`, else none. */
  requestId?: (req: Req) => string | undefined;
  /** Paths (exact, without the query string) that are never audited, e.g. `['/health']`. */
  skipPaths?: readonly string[];
  /** Requests for which this returns true are not audited. */
  skip?: (req: Req) => boolean;
  /** Every route fail-closed (default false: fail-open, routes opt in one by one). */
  failClosed?: boolean;
  /** Request headers copied into `metadata.headers` (lower case). Default none. */
  captureHeaders?: readonly string[];
  /** Told of every event not recorded and every refused request. Default: a JSON line on stderr. */
  onError?: (error: EvidentError, failure: AuditFailure) => void;
  /** Retry-After of a fail-closed 503, in seconds, when the sink's error suggests none (default 1). */
  retryAfterSeconds?: number;
}
