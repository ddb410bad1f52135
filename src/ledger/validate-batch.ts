/** Validating the events of one append call together: all of them, or none. */
import { type FieldIssue, ValidationError } from '../core/errors.ts';
import type { AuditEvent } from '../core/event/schema.ts';
import { validateEvent } from '../core/event/validate.ts';

/**
 * Every event validated; else one ValidationError listing every fault of every event, each
 * with its position (`item`) when there are several, so that nothing is half-written.
 */
export function validateBatch(events: readonly unknown[], now: () => Date): AuditEvent[] {
  const out: AuditEvent[] = [];
  const issues: FieldIssue[] = [];
  events.forEach((ev, i) => {
    try {
      out.push(validateEvent(ev, { now }));
    } catch (e) {
      if (!(e instanceof ValidationError)) throw e;
      for (const x of e.issues) issues.push(events.length > 1 ? { item: i, ...x } : x);
    }
  });
  if (issues.length > 0) throw new ValidationError(issues);
  return out;
}
