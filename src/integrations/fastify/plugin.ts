/**
 * `app.register(evidentFastify, options)`: one audit event per request, for Fastify 5. The plugin
 * breaks encapsulation (as fastify-plugin would, via `skip-override`) so its hooks see every
 * route of the app. A route sets `config: { audit: {...} }` to override its event or to be
 * fail-closed; handlers add to their event with `request.audit.set({...})`.
 */
import type { FastifyInstance, FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import type { EvidentError } from '../../core/errors.ts';
import { buildEvent, type RequestFacts } from '../audit/build.ts';
import { type AuditConfig, resolveConfig } from '../audit/config.ts';
import { UNMATCHED } from '../audit/defaults.ts';
import { beginClosed, recordClosed, recordOpen } from '../audit/deliver.ts';
import { pathOf } from '../audit/pattern.ts';
import { type AuditCounters, refusalBody, retryAfterSeconds } from '../audit/report.ts';
import { RequestAudit, SKIPPED } from '../audit/request-audit.ts';
import type { AuditHandle, AuditOptions, RouteAudit } from '../audit/types.ts';

export type FastifyAuditOptions = AuditOptions<FastifyRequest>;
export type FastifyRouteAudit = RouteAudit<FastifyRequest>;

declare module 'fastify' {
  interface FastifyRequest {
    /** This request's audit event: add to it with `request.audit.set({...})`. Set by evidentFastify. */
    audit: AuditHandle;
  }
  interface FastifyContextConfig {
    /** This route's audit settings. */
    audit?: FastifyRouteAudit;
  }
  interface FastifyInstance {
    /** The running totals of the evidentFastify plugin. */
    evident: { counters: AuditCounters };
  }
}

async function plugin(fastify: FastifyInstance, options: FastifyAuditOptions): Promise<void> {
  const cfg = resolveConfig<FastifyRequest>(options, (request) => request.id);
  const states = new WeakMap<FastifyRequest, RequestAudit<FastifyRequest>>();
  // Declared null so every request object keeps one shape; onRequest sets it before any handler.
  fastify.decorateRequest('audit', null as unknown as AuditHandle);
  fastify.decorate('evident', { counters: cfg.counters });

  fastify.addHook('onRequest', async (request, reply) => {
    const route = request.routeOptions.config?.audit;
    if (route?.skip || isSkipped(cfg, request)) {
      cfg.counters.skipped++;
      request.audit = SKIPPED;
      return;
    }
    const ua = request.headers['user-agent'];
    const state = new RequestAudit<FastifyRequest>(request.ip, typeof ua === 'string' ? ua : undefined);
    if (route) state.applyRoute(route);
    states.set(request, state);
    request.audit = state;
    if (!(cfg.failClosed || route?.failClosed)) return;
    state.failClosed = true;
    const refused = await beginClosed(
      cfg,
      state,
      () => buildEvent(cfg, state, request, facts(request, reply)),
      route?.action ?? `${request.method.toLowerCase()} ${patternOf(request)}`,
    );
    if (refused) {
      setRefusal(reply, refused, cfg.retryAfterSeconds);
      return reply.send(JSON.stringify(refusalBody(refused)));
    }
  });

  // Fail-closed: the event is made durable here, before Fastify writes the response, and a
  // failure replaces the response with a 503 (onSend may change status, headers and payload).
  fastify.addHook('onSend', async (request, reply, payload) => {
    const state = states.get(request);
    if (!state?.failClosed || state.done) return payload;
    const error = await recordClosed(cfg, state, () =>
      buildEvent(cfg, state, request, facts(request, reply)),
    );
    if (!error) return payload;
    discard(payload);
    for (const name of Object.keys(reply.getHeaders())) reply.removeHeader(name);
    setRefusal(reply, error, cfg.retryAfterSeconds);
    return JSON.stringify(refusalBody(error));
  });

  // Fail-open: after the response has gone, so nothing waits on the sink.
  fastify.addHook('onResponse', async (request, reply) => {
    const state = states.get(request);
    if (state) recordOpen(cfg, state, () => buildEvent(cfg, state, request, facts(request, reply)));
  });

  fastify.addHook('onRequestAbort', async (request) => {
    const state = states.get(request);
    if (state) recordOpen(cfg, state, () => buildEvent(cfg, state, request, facts(request, undefined)));
  });
}

function setRefusal(reply: FastifyReply, error: EvidentError, retry: number): void {
  reply
    .code(503)
    .header('content-type', 'application/json; charset=utf-8')
    .header('retry-after', String(retryAfterSeconds(error, retry)))
    .header('cache-control', 'no-store');
}

function discard(payload: unknown): void {
  const stream = payload as { destroy?: () => void; pipe?: unknown } | null;
  if (stream && typeof stream.pipe === 'function' && typeof stream.destroy === 'function') stream.destroy();
}

function patternOf(request: FastifyRequest): string {
  return request.is404 ? UNMATCHED : (request.routeOptions.url ?? UNMATCHED);
}

/** `reply` is undefined when the client went away before an answer. */
function facts(request: FastifyRequest, reply: FastifyReply | undefined): RequestFacts {
  const url = request.is404 ? undefined : request.routeOptions.url;
  const params: Record<string, string> = {};
  const raw = request.params;
  if (raw && typeof raw === 'object') {
    for (const [k, v] of Object.entries(raw as Record<string, unknown>))
      if (typeof v === 'string') params[k] = v;
  }
  return {
    method: request.method,
    pattern: url,
    params,
    status: reply?.statusCode ?? 200,
    headers: request.headers,
    aborted: reply === undefined,
  };
}

function isSkipped(cfg: AuditConfig<FastifyRequest>, request: FastifyRequest): boolean {
  if (cfg.skipPaths.size > 0 && cfg.skipPaths.has(pathOf(request.url))) return true;
  if (!cfg.skip) return false;
  try {
    return cfg.skip(request);
  } catch {
    return false; // a broken predicate audits the request rather than losing it
  }
}

/** The plugin. `skip-override` makes its hooks apply to the whole app, not only its own scope. */
export const evidentFastify: FastifyPluginAsync<FastifyAuditOptions> = Object.assign(plugin, {
  [Symbol.for('skip-override')]: true,
  [Symbol.for('fastify.display-name')]: 'evident',
});
