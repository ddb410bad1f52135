/**
 * The two delivery disciplines. Fail-open: the event is built after the response and handed to
 * the sink without anyone waiting; a rejection is reported. Fail-closed (write-ahead): a
 * provisional event is made durable (`begin`) before the handler runs, and the final event
 * replaces it (`complete`) before the response leaves; when that fails the provisional event is
 * released to the log and the response becomes a 503. No handler runs without a durable record.
 */
import type { EvidentError } from '../../core/errors.ts';
import type { AuditIntent } from '../sink.ts';
import type { AuditConfig } from './config.ts';
import type { RequestAudit } from './request-audit.ts';

/** Builds and records without blocking anything; never throws, never rejects. */
export function recordOpen<Req>(
  cfg: AuditConfig<Req>,
  state: RequestAudit<Req>,
  build: () => Record<string, unknown>,
): void {
  if (state.done) return;
  state.done = true;
  let event: Record<string, unknown>;
  try {
    event = build();
  } catch (e) {
    cfg.report(e, { stage: 'build', event_id: state.eventId, action: state.route?.action });
    if (state.intent) void release(cfg, state.intent, state.route?.action);
    return;
  }
  let pending: Promise<unknown>;
  try {
    // A fail-closed request whose client left before the answer: its intent is completed here.
    pending = state.intent ? finish(cfg, state.intent, event) : cfg.sink.record(event);
  } catch (e) {
    pending = Promise.reject(e);
  }
  pending.then(
    () => {
      cfg.counters.recorded++;
    },
    (e: unknown) => {
      cfg.report(e, { stage: 'record', event_id: state.eventId, action: actionOf(event) });
    },
  );
}

/** Builds and records, resolving once durable; resolves with the reported error when not. */
export async function recordClosed<Req>(
  cfg: AuditConfig<Req>,
  state: RequestAudit<Req>,
  build: () => Record<string, unknown>,
): Promise<EvidentError | undefined> {
  state.done = true;
  let event: Record<string, unknown> | undefined;
  try {
    event = build();
  } catch (e) {
    cfg.counters.refused++;
    const error = cfg.report(e, { stage: 'build', event_id: state.eventId, action: state.route?.action });
    if (state.intent) await release(cfg, state.intent, state.route?.action);
    return error;
  }
  try {
    await (state.intent ? finish(cfg, state.intent, event) : cfg.sink.record(event));
    cfg.counters.recorded++;
    return undefined;
  } catch (e) {
    cfg.counters.refused++;
    return cfg.report(e, { stage: 'record', event_id: state.eventId, action: actionOf(event) });
  }
}

/**
 * Completes an intent with the final event; when that fails, releases the provisional event
 * (already durable) to the log and rethrows, so the caller answers 503.
 */
async function finish<Req>(
  cfg: AuditConfig<Req>,
  intent: AuditIntent,
  event: Record<string, unknown>,
): Promise<unknown> {
  try {
    return await cfg.sink.complete(intent, event);
  } catch (e) {
    await release(cfg, intent, actionOf(event));
    throw e;
  }
}

/** Releases a provisional event; a failure leaves it durable, recorded when the sink next opens. */
async function release<Req>(cfg: AuditConfig<Req>, intent: AuditIntent, action: string | undefined) {
  try {
    await cfg.sink.release(intent);
  } catch (e) {
    cfg.report(e, { stage: 'release', event_id: intent.eventId, action });
  }
}

/** The reason a provisional event gives: true of every intent that is never completed. */
export const OUTCOME_UNKNOWN_REASON = 'the process ended before the outcome was recorded';

/**
 * The provisional event of a fail-closed request, from its event as built when the request
 * arrived: result `failure` (nothing says it succeeded), `metadata.evident_outcome: "unknown"`,
 * and no status or duration, which are not known yet.
 */
export function provisional(event: Record<string, unknown>): Record<string, unknown> {
  const { status: _s, duration_ms: _d, ...metadata } = (event['metadata'] ?? {}) as Record<string, unknown>;
  return {
    ...event,
    result: 'failure',
    reason: OUTCOME_UNKNOWN_REASON,
    metadata: { ...metadata, evident_outcome: 'unknown' },
  };
}

/**
 * The fail-closed write-ahead: makes the request's provisional event durable before the handler
 * runs. Resolves with the reported error when the sink cannot keep it (the caller answers 503).
 */
export async function beginClosed<Req>(
  cfg: AuditConfig<Req>,
  state: RequestAudit<Req>,
  build: () => Record<string, unknown>,
  action: string | undefined,
): Promise<EvidentError | undefined> {
  let event: Record<string, unknown> | undefined;
  try {
    event = provisional(build());
    state.intent = await cfg.sink.begin(event);
    return undefined;
  } catch (e) {
    state.done = true;
    cfg.counters.refused++;
    return cfg.report(e, {
      stage: 'preflight',
      event_id: state.eventId,
      action: event ? actionOf(event) : action,
    });
  }
}

const actionOf = (event: Record<string, unknown>) =>
  typeof event['action'] === 'string' ? event['action'] : undefined;
