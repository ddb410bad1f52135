/** What evident/express and evident/fastify both export: the defaults, counters, types and sinks. */

export { type AuditSink, type EmbeddedLedger, ledgerSink } from '../sink.ts';
export {
  ANONYMOUS,
  defaultActor,
  defaultResource,
  NO_ID,
  resultFromStatus,
  UNMATCHED,
} from './defaults.ts';
export { AuditCounters } from './report.ts';
export type {
  ActorType,
  AuditFailure,
  AuditFields,
  AuditHandle,
  AuditOptions,
  ResourceRef,
  RouteAudit,
  RouteInfo,
} from './types.ts';
