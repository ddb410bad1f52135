/** Options with their defaults filled in, checked once when the middleware is made. */
import { ErrorCode, EvidentError } from '../../core/errors.ts';
import type { AuditSink } from '../sink.ts';
import { defaultActor, defaultActorType, defaultResource, defaultSession } from './defaults.ts';
import { AuditCounters, makeReporter, type Reporter, stderrReport } from './report.ts';
import type { ActorType, AuditOptions, ResourceRef, RouteInfo } from './types.ts';

export interface AuditConfig<Req> {
  sink: AuditSink;
  actor: (req: Req) => string | undefined;
  actorType: (req: Req, actorId: string | undefined) => ActorType;
  resource: (req: Req, route: RouteInfo) => ResourceRef | undefined;
  session: (req: Req) => string | undefined;
  requestId: (req: Req) => string | undefined;
  skipPaths: ReadonlySet<string>;
  skip: ((req: Req) => boolean) | undefined;
  failClosed: boolean;
  captureHeaders: readonly string[];
  retryAfterSeconds: number;
  counters: AuditCounters;
  report: Reporter;
}

export function resolveConfig<Req>(
  o: AuditOptions<Req>,
  defaultRequestId: (req: Req) => string | undefined,
): AuditConfig<Req> {
  const sink = o?.sink as Partial<AuditSink> | undefined;
  if (typeof sink?.record !== 'function' || typeof sink.ensureWritable !== 'function') {
    throw new EvidentError(
      ErrorCode.USAGE,
      'options.sink must be an AuditSink (ledgerSink(ledger) or an EvidentClient)',
      {
        field: 'sink',
      },
    );
  }
  const retry = o.retryAfterSeconds ?? 1;
  if (!Number.isInteger(retry) || retry < 1) {
    throw new EvidentError(ErrorCode.USAGE, 'options.retryAfterSeconds must be a positive integer', {
      field: 'retryAfterSeconds',
    });
  }
  const counters = new AuditCounters();
  return {
    sink: o.sink,
    actor: o.actor ?? defaultActor,
    actorType: o.actorType ?? defaultActorType,
    resource: o.resource ?? ((_req, route) => defaultResource(route)),
    session: o.session ?? defaultSession,
    requestId: o.requestId ?? defaultRequestId,
    skipPaths: new Set(o.skipPaths ?? []),
    skip: o.skip,
    failClosed: o.failClosed ?? false,
    captureHeaders: (o.captureHeaders ?? []).map((h) => h.toLowerCase()),
    retryAfterSeconds: retry,
    counters,
    report: makeReporter(counters, o.onError ?? stderrReport),
  };
}
