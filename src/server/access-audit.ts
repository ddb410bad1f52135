/**
 * Access audit: reading audit data is itself an audited act. Every query, export, entry read
 * and proof request through the API, and every refused attempt on a known log, is appended as
 * an event to the log it concerns: the reader's key id as actor, `audit_log.*` as action,
 * the log as resource, the client address, and the filters as metadata.
 *
 * A read waits for its own access event to be durable before it answers, and is refused if the
 * event cannot be written (fail closed): an unrecorded read of audit data is worse than a
 * refused one. The wait is one group commit, shared with whatever else is being appended.
 *
 * Anonymous reads (public verification data, with publicVerify) are counted per address and
 * window instead (./access-tally.ts): they reveal no entry, and one permanent entry per free
 * request would let anyone grow the log without bound.
 */
import type { FastifyRequest } from 'fastify';
import { isEvidentError } from '../core/errors.ts';
import { normaliseIp } from '../core/event/ip.ts';
import type { Ledger } from '../ledger/ledger.ts';
import { keyHasScope } from './api-keys.ts';
import type { ServerContext } from './context.ts';

export type AccessResult = 'success' | 'failure' | 'denied';

export interface AccessRecord {
  action: string;
  result: AccessResult;
  reason?: string;
  metadata?: Record<string, unknown>;
}

export function accessEvent(req: FastifyRequest, log: string, r: AccessRecord): Record<string, unknown> {
  const key = req.evident?.key;
  const claimed = req.evident?.claimedKeyId;
  const ua = userAgent(req.headers['user-agent']);
  return {
    actor_id: key ? key.id : 'anonymous',
    actor_type: key ? (keyHasScope(key, 'admin') ? 'admin' : 'service') : 'anonymous',
    action: r.action,
    resource_type: 'audit_log',
    resource_id: log,
    result: r.result,
    // '::' (the unspecified address) if the socket gave none we can read: never a made-up one.
    ip_address: normaliseIp(req.ip ?? '') ?? '::',
    ...(ua ? { user_agent: ua } : {}),
    ...(r.reason ? { reason: r.reason.slice(0, 4096) } : {}),
    metadata: {
      method: req.method,
      route: req.routeOptions.url ?? req.url.split('?')[0],
      ...(claimed && !key ? { claimed_key_id: claimed } : {}),
      ...r.metadata,
    },
  };
}

function userAgent(v: string | undefined): string | undefined {
  if (v === undefined) return undefined;
  const clean = v
    .replace(/[\u0000-\u001f\u007f]/g, ' ')
    .trim()
    .slice(0, 1024);
  return clean === '' ? undefined : clean;
}

/** Appends the access event and waits until it is durable; throws if it cannot be written. */
export async function recordAccess(
  ctx: ServerContext,
  req: FastifyRequest,
  ledger: Ledger,
  r: AccessRecord,
): Promise<void> {
  try {
    await ledger.append(accessEvent(req, ledger.log.name, r));
    ctx.metrics.accessEvents.inc({ action: r.action, result: r.result });
  } catch (e) {
    ctx.metrics.accessAuditFailures.inc();
    req.log.error({ err: e, action: r.action, log: ledger.log.name }, 'access audit event not written');
    throw e;
  }
}

/**
 * Runs a read and records it: the outcome (with `summary(result)` in the metadata) once the read
 * is done, before anything is sent. A failed read is recorded as `failure` with its code.
 */
export async function auditedRead<T>(
  ctx: ServerContext,
  req: FastifyRequest,
  ledger: Ledger,
  action: string,
  metadata: Record<string, unknown>,
  work: () => Promise<T>,
  summary: (result: T) => Record<string, unknown> = () => ({}),
): Promise<T> {
  let result: T;
  if (!req.evident?.key) {
    try {
      result = await work();
    } catch (e) {
      const code = isEvidentError(e) ? e.code : 'INTERNAL';
      ctx.tally.count(req, ledger, { action, result: 'failure', metadata: { code } });
      throw e;
    }
    // Per-request details (an index, a size) would split the count: only the route is kept.
    ctx.tally.count(req, ledger, { action, result: 'success' });
    return result;
  }
  try {
    result = await work();
  } catch (e) {
    const code = isEvidentError(e) ? e.code : 'INTERNAL';
    await recordAccess(ctx, req, ledger, {
      action,
      result: 'failure',
      metadata: { ...metadata, code },
    }).catch(() => {});
    throw e;
  }
  await recordAccess(ctx, req, ledger, {
    action,
    result: 'success',
    metadata: { ...metadata, ...summary(result) },
  });
  return result;
}
