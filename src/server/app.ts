/**
 * buildServer: the audit service as a Fastify app, ready for inject() (no socket) or listen().
 * Everything a route needs is set up here, in this order: strict JSON bodies, TypeBox
 * validation, the OpenAPI document, the rate limiter, the access guard, then the routes.
 */
import type { Socket } from 'node:net';
import type { FastifyReply, FastifyRequest, FastifyServerOptions } from 'fastify';
import { RecentEntries } from '../alerts/recent.ts';
import { AlertRunner } from '../alerts/runner.ts';
import { readTargets } from '../archive/config.ts';
import { ArchiveScheduler } from '../archive/scheduler.ts';
import { ErrorCode, EvidentError } from '../core/errors.ts';
import type { Ledger } from '../ledger/ledger.ts';
import type { AlertStore } from '../store/types.ts';
import { accessGuard, rateLimitKey } from './access.ts';
import { AccessTally } from './access-tally.ts';
import { registerJsonBody } from './body.ts';
import type { ServerContext } from './context.ts';
import { corsHook } from './cors.ts';
import { type OpenApiDoc, renderDocsPage } from './docs-page.ts';
import { integrityAlarm, toHttpError } from './errors.ts';
import { loadFramework } from './framework.ts';
import { trackIdleConnections } from './idle-connections.ts';
import { instrumentStore } from './instrument.ts';
import { LogRegistry } from './logs.ts';
import { ServerMetrics } from './metrics.ts';
import { DEFAULTS, resolveOptions, type ServerOptions } from './options.ts';
import { entryRoutes } from './routes/entry.ts';
import { exportRoutes } from './routes/export.ts';
import { healthRoutes } from './routes/health.ts';
import { ingestRoutes } from './routes/ingest.ts';
import { queryRoutes } from './routes/query.ts';
import { tileRoutes } from './routes/tiles.ts';
import { verifyRoutes } from './routes/verify.ts';
import type { App, TypeBoxTypeProvider } from './type-provider.ts';
import { validatorCompiler } from './validation.ts';
import { packageVersion } from './version.ts';
import { loadViewerPage } from './viewer-page.ts';
import { Witnessing } from './witnessing.ts';

export async function buildServer(options: ServerOptions): Promise<App> {
  const { Fastify, LogController, swagger, rateLimit } = await loadFramework();
  const o = resolveOptions(options);
  const metrics = new ServerMetrics();
  const store = instrumentStore(o.store, metrics);
  const fastifyOptions: FastifyServerOptions = {
    logger: o.logger ?? false,
    // One line per request (the onResponse hook below) instead of Fastify's two.
    logController: new LogController({ disableRequestLogging: true }),
    trustProxy: o.trustProxy,
    bodyLimit: o.maxBodyBytes,
    // A backstop behind the body deadline (./body.ts): Node cuts off a request that takes longer.
    requestTimeout: o.bodyTimeoutMs + 30_000,
    // Our own 503 instead (below): the JSON error shape, with Retry-After.
    return503OnClosing: false,
    forceCloseConnections: 'idle',
    clientErrorHandler,
    // A malformed URL or an overlong path segment, refused by the router before any route runs.
    frameworkErrors: (err, req, reply) => sendError(err, req, reply),
  };
  const sendError = (err: unknown, req: FastifyRequest, reply: FastifyReply) => {
    const h = toHttpError(err);
    metrics.errors.inc({ code: h.body.code });
    const alarm = integrityAlarm(err);
    if (alarm) {
      metrics.integrityAlarms.inc(alarm);
      const log = (req.params as { log?: unknown } | undefined)?.log;
      void alerts
        ?.integrityFailure(typeof log === 'string' ? log : '*', alarm.code, {
          ...alarm,
          route: req.routeOptions.url,
        })
        .catch((e: unknown) => req.log.error({ err: e }, 'could not raise the integrity alert'));
    }
    // A 503 is pushback the client retries (the store is busy or away): a warning, not a bug.
    if (h.status === 503) req.log.warn({ code: h.body.code }, 'request refused: pushback');
    else if (h.status >= 500) req.log.error({ err }, 'request failed');
    return reply.code(h.status).headers(h.headers).send(h.body);
  };
  const app = Fastify({
    ...fastifyOptions,
    ...(o.https ? { https: { cert: o.https.cert, key: o.https.key } } : {}),
  }).withTypeProvider<TypeBoxTypeProvider>() as unknown as App;

  app.setValidatorCompiler(validatorCompiler);
  // Response schemas document; they never filter: an entry is sent with every field it has.
  app.setSerializerCompiler(() => (data) => JSON.stringify(data));
  registerJsonBody(app as never, { maxBytes: o.maxBodyBytes, timeoutMs: o.bodyTimeoutMs });

  const witnessing = o.witnesses
    ? new Witnessing({
        policy: o.witnesses.policy,
        store,
        intervalMs: o.witnesses.intervalMs ?? DEFAULTS.witnessIntervalMs,
        timeoutMs: o.witnesses.timeoutMs ?? DEFAULTS.witnessTimeoutMs,
        minBackoffMs: o.witnesses.minBackoffMs ?? DEFAULTS.witnessMinBackoffMs,
        maxBackoffMs: o.witnesses.maxBackoffMs ?? DEFAULTS.witnessMaxBackoffMs,
        metrics,
        log: app.log,
      })
    : undefined;
  const alertStore = store as typeof store & Partial<AlertStore>;
  const alerting = o.alerts !== undefined && typeof alertStore.raiseAlert === 'function';
  // What this process appends, handed to its alert runner instead of read back from the database.
  const recent = alerting ? new RecentEntries() : undefined;
  const registry = new LogRegistry({
    store,
    keyRing: o.keyRing,
    originHost: o.originHost,
    ledger: {
      maxBatch: o.maxBatch,
      ...(o.signerState !== undefined ? { signerState: o.signerState } : {}),
      ...o.ledger,
    },
    ...recent?.listeners(),
    checkpointIntervalMs: o.checkpointIntervalMs,
    log: app.log,
    onFence: (log, f) => metrics.logsFenced.inc({ log, source: f.source, rule: f.rule }),
    ...(o.now ? { now: o.now } : {}),
    ...(witnessing ? { witnessing } : {}),
    // The archive's floor, then the witnesses', read before a log's first use (not first at the
    // next archive tick or witnessing round).
    beforeUse: [
      (l) => archive.probe(l),
      ...(witnessing
        ? [
            (l: Ledger) =>
              witnessing
                .probe(l)
                .catch((e: unknown) => app.log.warn({ log: l.log.name, err: e }, 'witness probe failed')),
          ]
        : []),
    ],
  });
  const tally = new AccessTally(o.anonymousAudit, metrics, app.log, o.now);
  const archive = new ArchiveScheduler({
    intervalMs: o.archiveIntervalMs,
    checkpointIntervalMs: o.archiveCheckpointIntervalMs,
    ledgers: async () => {
      const out = [];
      for (const info of await store.listLogs()) {
        // Only logs with a target are opened here: opening a ledger recovers its intents.
        if ((await readTargets(store, info)).length === 0) continue;
        const l = await registry.get(info.name);
        if (l?.canSign) out.push(l);
      }
      return out;
    },
    log: app.log,
    ...(o.now ? { now: o.now } : {}),
    onPass: (_log, r, e) => metrics.archivePass(r, e),
  });
  const alerts =
    o.alerts && alerting
      ? new AlertRunner({
          store: alertStore as typeof store & AlertStore,
          config: o.alerts,
          ...(recent ? { recent } : {}),
          log: app.log,
          ...(o.now ? { now: o.now } : {}),
          ...(o.alertRetryMs !== undefined ? { retryMs: o.alertRetryMs } : {}),
          onRaised: (rule) => metrics.alertsRaised.inc({ rule }),
          onDelivery: (sink, outcome) => metrics.alertDeliveries.inc({ sink, outcome }),
          onQueueDepth: (n) => metrics.alertQueueDepth.set({}, n),
          fenced: (log) => registry.fenced().some((f) => f.log === log),
          failures: () => [
            ...(witnessing?.states() ?? [])
              .filter((w) => !w.up && w.failures > 0)
              .map((w) => ({
                rule: 'witness_failure' as const,
                log: '*',
                subject: w.name,
                details: { witness: w.name, url: w.url, failures: w.failures, last_error: w.lastError },
              })),
            ...archive.failing().map((f) => ({
              rule: 'archive_failure' as const,
              log: f.log,
              subject: f.log,
              details: { failures: f.failures, ...(f.error ? { error: f.error } : {}) },
            })),
          ],
        })
      : undefined;
  const ctx: ServerContext = {
    options: o,
    store,
    registry,
    metrics,
    tally,
    lifecycle: { closing: false },
    ...(witnessing ? { witnessing } : {}),
    archive,
    ...(alerts ? { alerts } : {}),
  };
  app.decorate('flushAccessTally', () => tally.flush());
  app.decorate('runArchivePass', () => archive.runNow());
  app.decorate('alerts', alerts);
  app.decorate('forgetLogs', (names: readonly string[]) => registry.forget(names));

  app.decorateRequest('evident', null as never);
  await app.register(swagger, {
    openapi: {
      openapi: '3.0.3',
      info: {
        title: 'evident audit service',
        version: packageVersion(),
        description:
          'A tamper-evident audit log: append events, query them, and prove them against signed ' +
          'checkpoints (RFC 9162 Merkle tree, C2SP signed notes). Every read is itself audited.',
      },
      components: {
        securitySchemes: {
          apiKey: { type: 'http', scheme: 'bearer', description: 'An API key: evk_<id>_<secret>.' },
        },
      },
      security: [{ apiKey: [] }],
      tags: [
        { name: 'ingest', description: 'Scope ingest.' },
        { name: 'read', description: 'Scope read; every call is recorded as an access event.' },
        { name: 'verify', description: 'Scope verify (or public, if so configured).' },
        {
          name: 'tiles',
          description:
            'The log as C2SP tlog-tiles: checkpoint and hash tiles scope verify (or public), entry bundles scope read.',
        },
        { name: 'operations', description: 'No key.' },
      ],
    },
  });

  let limiter: Parameters<typeof accessGuard>[1];
  if (o.rateLimit) {
    await app.register(rateLimit, { global: false });
    const { max, anonymousMax } = o.rateLimit;
    limiter = app.createRateLimit({
      // Without a valid key a request costs nothing to send: a much lower limit per address.
      max: (_req, key) => (key.startsWith('ip:') ? anonymousMax : max),
      timeWindow: o.rateLimit.timeWindowMs,
      keyGenerator: rateLimitKey,
    });
  }
  app.addHook('onRequest', async () => {
    if (ctx.lifecycle.closing) {
      throw new EvidentError(ErrorCode.LEDGER_CLOSED, 'the server is shutting down: retry (elsewhere)');
    }
  });
  if (o.corsOrigin.length > 0) app.addHook('onRequest', corsHook(o.corsOrigin));
  app.addHook('onRequest', accessGuard(ctx, limiter));

  /** What a request's log line says of it, answered or not. */
  const requestFields = (req: FastifyRequest) => ({
    method: req.method,
    path: req.url.split('?')[0],
    route: req.routeOptions.url ?? 'unmatched',
    ip: req.ip,
    ...(req.evident?.key ? { key_id: req.evident.key.id } : {}),
  });
  app.addHook('onResponse', async (req, reply) => {
    const fields = requestFields(req);
    metrics.httpRequests.inc({ method: req.method, route: fields.route, status: reply.statusCode });
    metrics.httpSeconds.observe(reply.elapsedTime / 1000, { route: fields.route });
    req.log.info(
      { ...fields, status: reply.statusCode, ms: Math.round(reply.elapsedTime * 10) / 10 },
      'request',
    );
  });

  // A client gone before its answer gets no answer and so no line above: say so here, as a fact of the
  // request, not an error of ours (a killed client process, a proxy timing out).
  app.addHook('onRequestAbort', async (req) => {
    req.log.info(requestFields(req), 'request aborted by the client');
  });

  app.setErrorHandler((err, req, reply) => sendError(err, req, reply));
  app.setNotFoundHandler((req, reply) => {
    metrics.errors.inc({ code: ErrorCode.NOT_FOUND });
    return reply
      .code(404)
      .send({ code: ErrorCode.NOT_FOUND, message: `no route ${req.method} ${req.url.split('?')[0]}` });
  });

  ingestRoutes(app, ctx);
  queryRoutes(app, ctx);
  entryRoutes(app, ctx);
  verifyRoutes(app, ctx);
  exportRoutes(app, ctx);
  tileRoutes(app, ctx);
  healthRoutes(app, ctx);
  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());
  app.get('/docs', { schema: { hide: true } }, async (_req, reply) =>
    reply
      .type('text/html; charset=utf-8')
      .header('content-security-policy', "default-src 'none'; style-src 'unsafe-inline'")
      .send(renderDocsPage(app.swagger() as OpenApiDoc)),
  );

  const viewer = loadViewerPage();
  app.get('/', { schema: { hide: true } }, async (_req, reply) => {
    if (!viewer) {
      return reply
        .code(404)
        .send({ code: ErrorCode.NOT_FOUND, message: 'the viewer was not built (npm run build)' });
    }
    return reply
      .type('text/html; charset=utf-8')
      .header('content-security-policy', viewer.csp)
      .header('x-content-type-options', 'nosniff')
      .header('referrer-policy', 'no-referrer')
      .send(viewer.html);
  });

  const idle = trackIdleConnections(app.server);
  app.addHook('preClose', async () => {
    ctx.lifecycle.closing = true;
    // Before Fastify closes the server: only the requests in flight are waited for.
    idle.close();
  });
  // During shutdown each answer closes its connection: a keep-alive socket that was busy when
  // close began would otherwise hold the process open until its idle timeout.
  app.addHook('onSend', async (_req, reply, payload) => {
    if (ctx.lifecycle.closing) reply.header('connection', 'close');
    return payload;
  });
  // Runs once in-flight requests are done: commit what is pending, sign, close.
  app.addHook('onReady', async () => {
    archive.start();
    alerts?.start();
  });
  app.addHook('onClose', async () => {
    await archive.stop();
    await alerts?.stop();
    ctx.lifecycle.closing = true;
    await tally.close();
    await registry.close();
    if (o.ownsStore ?? true) await o.store.close();
  });
  return app;
}

/** Errors Node sees before Fastify does (a malformed request line, a header timeout): same JSON shape. */
function clientErrorHandler(err: NodeJS.ErrnoException, socket: Socket): void {
  if (err.code === 'ECONNRESET' || !socket.writable) {
    socket.destroy();
    return;
  }
  const timeout = err.code === 'ERR_HTTP_REQUEST_TIMEOUT';
  const body = JSON.stringify({
    code: timeout ? ErrorCode.REQUEST_TIMEOUT : ErrorCode.BAD_REQUEST,
    message: timeout ? 'the request did not arrive in time' : 'malformed HTTP request',
  });
  socket.end(
    `HTTP/1.1 ${timeout ? '408 Request Timeout' : '400 Bad Request'}\r\nContent-Type: application/json\r\n` +
      `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
  );
}
