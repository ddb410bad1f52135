/** evident/fastify: the audit plugin for Fastify 5. */
export * from '../audit/public.ts';
export { evidentFastify, type FastifyAuditOptions, type FastifyRouteAudit } from './plugin.ts';
