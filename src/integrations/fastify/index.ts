/** evident/fastify: the audit plugin for Fastify 5. */
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
export { evidentFastify, type FastifyAuditOptions, type FastifyRouteAudit } from './plugin.ts';
