/** evident/express: audit middleware for Express 4 and 5. */
export {
  ANONYMOUS,
  defaultActor,
  defaultResource,
  NO_ID,
  resultFromStatus,
  UNMATCHED,
} from '../audit/defaults.ts';
export { AuditCounters } from '../audit/report.ts';
export type {
  ActorType,
  AuditFailure,
  AuditFields,
  AuditHandle,
  AuditOptions,
  ResourceRef,
  RouteAudit,
  RouteInfo,
} from '../audit/types.ts';
export { type AuditSink, ledgerSink } from '../sink.ts';
export {
  audit,
  type ExpressAudit,
  type ExpressOptions,
  type ExpressRouteAudit,
  evidentExpress,
} from './middleware.ts';
