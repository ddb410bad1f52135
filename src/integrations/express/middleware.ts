/**
 * `evidentExpress(options)`: one audit event per request, for Express 4 and 5. Install it before
 * the routes; `audit({...})` in a route's handler list overrides that route's event or makes it
 * fail-closed; handlers add to their event with `req.audit.set({...})`.
 */
import type { ServerResponse } from 'node:http';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { ErrorCode, EvidentError } from '../../core/errors.ts';
import { buildEvent, type RequestFacts } from '../audit/build.ts';
import { type AuditConfig, resolveConfig } from '../audit/config.ts';
import { beginClosed, recordClosed, recordOpen } from '../audit/deliver.ts';
import { matchPattern, pathOf } from '../audit/pattern.ts';
import { type AuditCounters, refusalBody, retryAfterSeconds } from '../audit/report.ts';
import { RequestAudit, SKIPPED } from '../audit/request-audit.ts';
import type { AuditHandle, AuditOptions, RouteAudit } from '../audit/types.ts';
import { holdResponse } from './hold.ts';
import { expressRoutePattern } from './route.ts';

declare global {
  namespace Express {
    interface Request {
      /** This request's audit event: add to it with `req.audit.set({...})`. Set by evidentExpress(). */
      audit: AuditHandle;
    }
  }
}

export type ExpressOptions = AuditOptions<Request>;
export type ExpressRouteAudit = RouteAudit<Request>;

/** The middleware, with the running totals of what it recorded, failed, refused and skipped. */
export interface ExpressAudit extends RequestHandler {
  readonly counters: AuditCounters;
}

interface Context {
  cfg: AuditConfig<Request>;
  /** Undefined when a skip rule excluded the request. */
  state: RequestAudit<Request> | undefined;
}

const contexts = new WeakMap<Request, Context>();

export function evidentExpress(options: ExpressOptions): ExpressAudit {
  const cfg = resolveConfig<Request>(options, expressRequestId);
  const middleware = (req: Request, res: Response, next: NextFunction): void => {
    if (isSkipped(cfg, req)) {
      cfg.counters.skipped++;
      req.audit = SKIPPED;
      contexts.set(req, { cfg, state: undefined });
      next();
      return;
    }
    const state = new RequestAudit<Request>(req.ip ?? req.socket.remoteAddress, req.get('user-agent'));
    req.audit = state;
    contexts.set(req, { cfg, state });
    const finish = (aborted: boolean) =>
      recordOpen(cfg, state, () => buildEvent(cfg, state, req, facts(req, res, aborted)));
    res.once('finish', () => finish(false));
    res.once('close', () => finish(!res.writableFinished));
    if (cfg.failClosed) protect(cfg, state, req, res, next);
    else next();
  };
  return Object.assign(middleware, { counters: cfg.counters });
}

/**
 * A route's audit settings, as a middleware placed before its handler:
 * `router.get('/patients/:id', audit({ action: 'patient.read', failClosed: true }), handler)`.
 */
export function audit(route: ExpressRouteAudit = {}): RequestHandler {
  return (req, res, next) => {
    const ctx = contexts.get(req);
    if (!ctx) {
      // A fail-closed route must not run unaudited because the middleware was left out.
      if (route.failClosed) {
        next(
          new EvidentError(
            ErrorCode.USAGE,
            'audit({ failClosed: true }) needs evidentExpress() installed first',
          ),
        );
      } else next();
      return;
    }
    const state = ctx.state;
    if (!state || state.done) {
      next();
      return;
    }
    state.applyRoute(route);
    if (route.skip) {
      state.done = true;
      ctx.cfg.counters.skipped++;
      next();
    } else if (route.failClosed && !state.failClosed) protect(ctx.cfg, state, req, res, next);
    else next();
  };
}

function protect(
  cfg: AuditConfig<Request>,
  state: RequestAudit<Request>,
  req: Request,
  res: Response,
  next: NextFunction,
): void {
  state.failClosed = true;
  const build = () => buildEvent(cfg, state, req, facts(req, res, false));
  void beginClosed(cfg, state, build, state.route?.action).then((refused) => {
    if (refused) {
      refuse(res, refused, cfg.retryAfterSeconds);
      return;
    }
    holdResponse(res, async () => {
      // Already recorded as aborted: the client left before the handler answered.
      if (state.done) return { release: true };
      const error = await recordClosed(cfg, state, build);
      return error
        ? { release: false, replace: (r) => refuse(r, error, cfg.retryAfterSeconds) }
        : { release: true };
    });
    next();
  });
}

function refuse(res: ServerResponse, error: EvidentError, retry: number): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  for (const name of res.getHeaderNames()) res.removeHeader(name);
  res.statusCode = 503;
  res.setHeader('content-type', 'application/json; charset=utf-8');
  res.setHeader('retry-after', String(retryAfterSeconds(error, retry)));
  res.setHeader('cache-control', 'no-store');
  res.end(JSON.stringify(refusalBody(error)));
}

function facts(req: Request, res: Response, aborted: boolean): RequestFacts {
  const pattern = expressRoutePattern(req);
  const path = pathOf(req.originalUrl ?? req.url);
  const fromPath = pattern === undefined ? undefined : matchPattern(pattern, path);
  const params: Record<string, string> = { ...fromPath };
  for (const [k, v] of Object.entries((req.params ?? {}) as Record<string, unknown>)) {
    if (typeof v === 'string') params[k] = v;
    else if (Array.isArray(v)) params[k] = v.join('/'); // Express 5 `*splat`
  }
  return { method: req.method, pattern, params, status: res.statusCode, headers: req.headers, aborted };
}

function isSkipped(cfg: AuditConfig<Request>, req: Request): boolean {
  if (cfg.skipPaths.size > 0 && cfg.skipPaths.has(pathOf(req.originalUrl ?? req.url))) return true;
  if (!cfg.skip) return false;
  try {
    return cfg.skip(req);
  } catch {
    return false; // a broken predicate audits the request rather than losing it
  }
}

function expressRequestId(req: Request): string | undefined {
  const id = (req as unknown as { id?: unknown }).id;
  return typeof id === 'string' && id.length > 0 ? id : typeof id === 'number' ? String(id) : undefined;
}
