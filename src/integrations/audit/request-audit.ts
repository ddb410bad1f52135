/**
 * One request's audit state: the handle a handler writes to (`req.audit`), the route's
 * overrides, and the flags that make sure the event is recorded once.
 */
import { uuidv7 } from '../../core/event/uuid.ts';
import type { AuditIntent } from '../sink.ts';
import type { AuditFields, AuditHandle, RouteAudit } from './types.ts';

export class RequestAudit<Req> implements AuditHandle {
  readonly eventId: string;
  readonly timestamp: string;
  readonly startedAt = performance.now();
  /** What handlers added, merged. */
  readonly fields: AuditFields = {};
  route: RouteAudit<Req> | undefined;
  /** Fail-closed protection is in place (preflight passed, response held until recorded). */
  failClosed = false;
  /** The durable write-ahead intent of a fail-closed request, once `begin` succeeded. */
  intent: AuditIntent | undefined;
  /** The event was built (or the request refused): nothing more is recorded for it. */
  done = false;

  constructor(
    /** The client address and agent, read when the request arrived, while the socket is open. */
    readonly ip: string | undefined,
    readonly userAgent: string | undefined,
  ) {
    const now = Date.now();
    this.eventId = uuidv7(now);
    this.timestamp = new Date(now).toISOString();
  }

  set(fields: AuditFields): void {
    const { metadata, ...rest } = fields;
    Object.assign(this.fields, rest);
    if (metadata) this.fields.metadata = { ...this.fields.metadata, ...metadata };
  }

  /** Applies a route's settings; a later route-level `audit()` refines an earlier one. */
  applyRoute(route: RouteAudit<Req>): void {
    this.route = { ...this.route, ...route };
  }
}

/** The handle of a request that is not audited: writes go nowhere, by design of the skip rule. */
export const SKIPPED: AuditHandle = Object.freeze({
  eventId: '',
  set: () => {},
});
