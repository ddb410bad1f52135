/** GET /healthz (the process answers), /readyz (the store answers), /metrics (Prometheus text). Open: no key. */
import { Type } from '@sinclair/typebox';
import { ErrorCode, isEvidentError } from '../../core/errors.ts';
import { type ClusterHealth, isRoutedStore } from '../../store/clusters/routed.ts';
import type { ServerContext } from '../context.ts';
import { HTTP_STATUS } from '../errors.ts';
import { ErrorBody, Text } from '../schemas.ts';
import type { App } from '../type-provider.ts';

const Status = Type.Object({ status: Type.String() });
const Cluster = Type.Object({
  name: Type.String(),
  up: Type.Boolean(),
  code: Type.Optional(Type.String()),
  message: Type.Optional(Type.String()),
});
const Ready = Type.Object({
  status: Type.String(),
  clusters: Type.Optional(
    Type.Array(Cluster, {
      description:
        'Each PostgreSQL cluster of the cluster map (docs/clusters.md): up, or down with the error code. Only the home cluster down makes the server unready.',
    }),
  ),
  witnesses: Type.Optional(
    Type.Array(
      Type.Object({
        name: Type.String(),
        url: Type.String(),
        up: Type.Boolean(),
        failures: Type.Integer(),
        cosigned_size: Type.Optional(Type.Integer()),
        last_error: Type.Optional(Type.String()),
      }),
    ),
  ),
  fenced: Type.Optional(
    Type.Array(
      Type.Object({
        log: Type.String(),
        source: Type.String(),
        rule: Type.String(),
        published_size: Type.Integer(),
        tree_size: Type.Integer(),
        where: Type.String(),
        since: Type.String(),
      }),
      {
        description:
          'Logs that contradict a checkpoint published outside the database (signer state, archive, witness): ' +
          'appends to them are refused with LOG_FENCED until the database that holds it is put back.',
      },
    ),
  ),
  archive: Type.Optional(
    Type.Array(
      Type.Object({
        log: Type.String(),
        code: Type.Optional(Type.String()),
        message: Type.Optional(Type.String()),
        since: Type.Optional(Type.String()),
        failures: Type.Integer(),
        next_run: Type.Optional(Type.String()),
      }),
      { description: 'Logs whose last archive pass failed: why, since when, and the next retry.' },
    ),
  ),
  alerts: Type.Optional(
    Type.Object(
      {
        failing_sinks: Type.Array(
          Type.Object({ sink: Type.String(), error: Type.String(), since: Type.String() }),
        ),
        evaluation_error: Type.Optional(Type.Object({ message: Type.String(), since: Type.String() })),
      },
      { description: 'Alert sinks whose last delivery failed, and a failing evaluation (docs/alerts.md).' },
    ),
  ),
});

export function healthRoutes(app: App, ctx: ServerContext): void {
  app.get(
    '/healthz',
    { schema: { summary: 'Liveness', tags: ['operations'], response: { 200: Status } } },
    async () => ({ status: 'ok' }),
  );

  app.get(
    '/readyz',
    {
      schema: {
        summary: 'Readiness: the store answers and the server is not shutting down',
        tags: ['operations'],
        response: { 200: Ready, 503: ErrorBody },
      },
    },
    async (req, reply) => {
      if (ctx.lifecycle.closing) {
        return reply
          .code(503)
          .header('retry-after', '1')
          .send({ code: ErrorCode.LEDGER_CLOSED, message: 'the server is shutting down' });
      }
      let clusters: ClusterHealth[] | undefined;
      try {
        if (isRoutedStore(ctx.store)) {
          clusters = await ctx.store.clusterHealth();
          ctx.metrics.clusterHealth(clusters);
          const down = clusters.filter((c) => !c.up);
          if (down.length > 0) req.log.warn({ clusters: down }, 'readiness: clusters down');
          const home = clusters.find((c) => c.name === 'home');
          if (home && !home.up) {
            return reply
              .code(503)
              .header('retry-after', '1')
              .send({
                code: home.code ?? ErrorCode.STORE_FAILED,
                message: 'the home cluster (db) does not answer',
                clusters,
              });
          }
        } else await ctx.store.listLogs();
      } catch (e) {
        // The same code a request would get now: STORE_BUSY while the database is away.
        const code = isEvidentError(e) && HTTP_STATUS[e.code] === 503 ? e.code : ErrorCode.STORE_FAILED;
        req.log.warn({ err: e, code }, 'readiness check: the store did not answer');
        return reply
          .code(503)
          .header('retry-after', '1')
          .send({ code, message: 'the store does not answer' });
      }
      // Neither witnesses that are down nor a failing archive pass make the server unready (it
      // serves and signs without them; ingest goes on, and nothing is lost or pruned meanwhile),
      // but both show here, and in evident_witness_up and evident_archive_passes_total.
      const witnesses = ctx.witnessing?.states().map((w) => ({
        name: w.name,
        url: w.url,
        up: w.up,
        failures: w.failures,
        ...(w.size !== undefined ? { cosigned_size: w.size } : {}),
        ...(w.lastError ? { last_error: w.lastError } : {}),
      }));
      const failing = ctx.archive.failing();
      if (failing.length > 0)
        req.log.warn({ logs: failing.map((f) => f.log) }, 'readiness: archive passes failing');
      // A failing alert sink does not make the server unready either: its alerts wait in the queue.
      const sinks = [
        ...(ctx.alerts?.delivery.failing ?? new Map<string, { error: string; since: string }>()),
      ];
      const evalError = ctx.alerts?.lastError;
      const alerts =
        sinks.length > 0 || evalError
          ? {
              failing_sinks: sinks.map(([sink, f]) => ({ sink, ...f })),
              ...(evalError ? { evaluation_error: evalError } : {}),
            }
          : undefined;
      if (alerts) req.log.warn({ alerts }, 'readiness: alert sinks failing');
      // A fenced log does not make the server unready either (its other logs, its reads and its
      // proofs are served), but it is named here with the rule it broke.
      const fenced = ctx.registry.fenced();
      if (witnesses || failing.length > 0 || alerts || clusters || fenced.length > 0) {
        return {
          status: 'ready',
          ...(clusters ? { clusters } : {}),
          ...(fenced.length > 0 ? { fenced } : {}),
          ...(alerts ? { alerts } : {}),
          ...(witnesses ? { witnesses } : {}),
          ...(failing.length > 0
            ? {
                archive: failing.map((f) => ({
                  log: f.log,
                  ...f.error,
                  failures: f.failures,
                  ...(f.next_run ? { next_run: f.next_run } : {}),
                })),
              }
            : {}),
        };
      }
      return { status: 'ready' };
    },
  );

  app.get(
    '/metrics',
    {
      schema: {
        summary: 'Prometheus metrics',
        tags: ['operations'],
        response: { 200: Text('Prometheus text format 0.0.4.') },
      },
    },
    async (_req, reply) => {
      if (isRoutedStore(ctx.store)) ctx.metrics.clusterHealth(await ctx.store.clusterHealth());
      return reply.type('text/plain; version=0.0.4; charset=utf-8').send(ctx.metrics.render());
    },
  );
}
