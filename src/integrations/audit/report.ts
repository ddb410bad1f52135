/**
 * Failures are never swallowed: every event that was not recorded, and every request refused
 * because the sink could not take one, is counted and handed to `onError`, whose default
 * writes one JSON line to stderr that a log pipeline can alert on.
 */
import { ErrorCode, EvidentError } from '../../core/errors.ts';
import type { AuditFailure } from './types.ts';

/** Running totals of one middleware or plugin instance. */
export class AuditCounters {
  /** Events the sink acknowledged as durable. */
  recorded = 0;
  /** Events built but not kept (the sink rejected or the event could not be built). */
  failed = 0;
  /** Fail-closed requests answered 503 (preflight refused, or record failed before release). */
  refused = 0;
  /** Requests not audited by a skip rule. */
  skipped = 0;
}

export function toEvidentError(e: unknown): EvidentError {
  if (e instanceof EvidentError) return e;
  const message = e instanceof Error ? e.message : String(e);
  return new EvidentError(ErrorCode.INTERNAL, message);
}

/** The default `onError`: one JSON line on stderr, with the code and the event id. */
export function stderrReport(error: EvidentError, failure: AuditFailure): void {
  const line = {
    level: 'error',
    source: 'evident',
    msg:
      failure.stage === 'preflight' ? 'request refused: audit sink not writable' : 'audit event not recorded',
    code: error.code,
    stage: failure.stage,
    event_id: failure.event_id,
    action: failure.action,
    error: error.message,
  };
  process.stderr.write(`${JSON.stringify(line)}\n`);
}

export type Reporter = (error: unknown, failure: AuditFailure) => EvidentError;

/** Counts and reports a failure; an `onError` that throws is itself reported on stderr, not lost. */
export function makeReporter(
  counters: AuditCounters,
  onError: (error: EvidentError, failure: AuditFailure) => void,
): Reporter {
  return (e, failure) => {
    const error = toEvidentError(e);
    counters.failed += failure.stage === 'preflight' ? 0 : 1;
    try {
      onError(error, failure);
    } catch (inner) {
      stderrReport(error, failure);
      stderrReport(toEvidentError(inner), { ...failure, stage: failure.stage });
    }
    return error;
  };
}

/** Seconds for Retry-After: the sink's own hint (`retry_after_ms`) when it gives one. */
export function retryAfterSeconds(error: EvidentError, fallback: number): number {
  const ms = error.details['retry_after_ms'];
  if (typeof ms === 'number' && Number.isFinite(ms) && ms > 0) return Math.max(1, Math.ceil(ms / 1000));
  return fallback;
}

/** The body of a fail-closed 503: the sink's code, and a message that leaks nothing of the request. */
export function refusalBody(error: EvidentError): { code: string; message: string } {
  return { code: error.code, message: 'the audit log cannot record this request now: retry later' };
}
