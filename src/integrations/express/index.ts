/** evident/express: audit middleware for Express 4 and 5. */
export * from '../audit/public.ts';
export {
  audit,
  type ExpressAudit,
  type ExpressOptions,
  type ExpressRouteAudit,
  evidentExpress,
} from './middleware.ts';
