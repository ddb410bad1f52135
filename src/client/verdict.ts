/**
 * What a refused batch means. Only a refusal that names an event, or that a single-event batch
 * got, is permanent for that event: a misconfigured key, URL or log (401, 403, 404), overload
 * (429, 503) and server faults (5xx) are retried forever, since setting events aside for them
 * would empty the spool into the rejected file.
 */
import { ErrorCode, type EvidentError, type FieldIssue } from '../core/errors.ts';

export type Verdict =
  /** Retry the same batch after a delay. */
  | { kind: 'retry' }
  /** These positions of the batch are refused for good; the rest is sent again. */
  | { kind: 'reject'; items: Map<number, FieldIssue[]> }
  /** Something in the batch is refused but not which: send its events one by one. */
  | { kind: 'isolate' };

/** Codes that judge an event's content: permanent for the event they concern. */
const CONTENT = new Set<string>([
  ErrorCode.VALIDATION_FAILED,
  ErrorCode.JSON_INVALID,
  ErrorCode.CANONICAL_INVALID,
  ErrorCode.ENCODING_INVALID,
  ErrorCode.ID_CONFLICT,
  ErrorCode.PAYLOAD_TOO_LARGE,
]);

export function judge(error: EvidentError, ids: readonly string[]): Verdict {
  const status = error.details['status'];
  if (
    typeof status !== 'number' ||
    !CONTENT.has(error.code) ||
    (status !== 400 && status !== 409 && status !== 413)
  ) {
    return { kind: 'retry' };
  }
  if (error.code === ErrorCode.VALIDATION_FAILED) {
    const issues = error.details['issues'];
    // Issues without positions concern the request (the log name, say), not an event.
    if (!Array.isArray(issues) || issues.length === 0) return { kind: 'retry' };
    const items = new Map<number, FieldIssue[]>();
    for (const i of issues as FieldIssue[]) {
      if (typeof i.item !== 'number' || i.item < 0 || i.item >= ids.length) return { kind: 'retry' };
      items.set(i.item, [...(items.get(i.item) ?? []), i]);
    }
    return { kind: 'reject', items };
  }
  if (error.code === ErrorCode.ID_CONFLICT) {
    const id = String(error.details['id']);
    const at = ids.indexOf(id);
    // The id twice in the batch (recorded twice with other content): the batch was refused for
    // the pair, not for the first one. Sent apart, the one recorded first lands and a later one
    // is refused on its own.
    if (at >= 0 && ids.indexOf(id, at + 1) < 0) return { kind: 'reject', items: new Map([[at, []]]) };
  }
  return ids.length === 1 ? { kind: 'reject', items: new Map([[0, []]]) } : { kind: 'isolate' };
}
