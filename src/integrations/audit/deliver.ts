/**
 * The two delivery disciplines. Fail-open: the event is built after the response and handed to
 * the sink without anyone waiting; a rejection is reported. Fail-closed: the sink must be
 * writable before the handler runs, and the event must be durable before the response leaves.
 */
import type { EvidentError } from '../../core/errors.ts';
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
    return;
  }
  let pending: Promise<unknown>;
  try {
    pending = cfg.sink.record(event);
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
    await cfg.sink.record(event);
    cfg.counters.recorded++;
    return undefined;
  } catch (e) {
    cfg.counters.refused++;
    const stage = event === undefined ? 'build' : 'record';
    return cfg.report(e, { stage, event_id: state.eventId, action: event ? actionOf(event) : undefined });
  }
}

/** The fail-closed preflight; resolves with the reported error when the sink cannot take an event. */
export async function preflight<Req>(
  cfg: AuditConfig<Req>,
  state: RequestAudit<Req>,
  action: string | undefined,
): Promise<EvidentError | undefined> {
  try {
    await cfg.sink.ensureWritable();
    return undefined;
  } catch (e) {
    state.done = true;
    cfg.counters.refused++;
    return cfg.report(e, { stage: 'preflight', event_id: state.eventId, action });
  }
}

const actionOf = (event: Record<string, unknown>) =>
  typeof event['action'] === 'string' ? event['action'] : undefined;
