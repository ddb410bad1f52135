/**
 * Reading events for `append`: one JSON object, a JSON array of objects, or JSON Lines. Every
 * event is parsed strictly and validated before anything is written; every fault is reported
 * with its line (JSON Lines) or item (array), so a whole file can be fixed in one pass.
 */
import { ErrorCode, EvidentError, isEvidentError, ValidationError } from '../core/errors.ts';
import { sameClientContent } from '../core/event/entry.ts';
import type { AuditEvent } from '../core/event/schema.ts';
import { timestampWasFilled, validateEvent } from '../core/event/validate.ts';
import { type JsonLine, parseJson, parseJsonLines } from '../core/json.ts';
import { usageError } from './errors.ts';

export interface InputIssue {
  line?: number;
  column?: number;
  item?: number;
  field: string;
  rule: string;
  message: string;
}

interface Located {
  at: Position;
  value?: unknown;
  error?: EvidentError;
}

/** Splits the text into located values, without validating them as events. */
function locate(text: string): Located[] {
  const first = /\S/.exec(text);
  if (!first)
    throw usageError(
      'no events on stdin: expected a JSON object, an array of objects, or JSON Lines',
      'stdin',
    );
  if (first[0] === '[') {
    const all = parseJson(text);
    if (!Array.isArray(all)) throw usageError('expected a JSON array of events', 'stdin');
    if (all.length === 0) throw usageError('the array of events is empty', 'stdin');
    return all.map((value, item) => ({ at: { item }, value }));
  }
  let whole: unknown;
  let wholeError: EvidentError | undefined;
  try {
    whole = parseJson(text);
  } catch (e) {
    if (!isEvidentError(e)) throw e;
    wholeError = e;
  }
  if (!wholeError) return [{ at: {}, value: whole }];
  const lines = parseJsonLines(text);
  // A parse error past the first value, or lines that stand on their own: JSON Lines. Otherwise
  // one document (a pretty-printed object, say) with an error in it: report that error alone.
  const looksLikeLines =
    wholeError.details['rule'] === 'trailing_data' ||
    (lines.length > 1 && lines.some((l) => l.error === undefined));
  if (!looksLikeLines) throw wholeError;
  return lines.map((l: JsonLine) => ({
    at: { line: l.line },
    ...(l.error ? { error: l.error } : { value: l.value }),
  }));
}

/** Where an event stood in the input: its line (JSON Lines), its item (array), or nothing (one object). */
export type Position = { line: number } | { item: number } | Record<string, never>;

/**
 * The events as parsed (the ledger validates them again, and must see them as the client
 * wrote them: a timestamp filled in here would count as the client's), with their positions;
 * or an EvidentError listing every issue of the input.
 */
export function readEvents(text: string, now: () => Date): { events: unknown[]; positions: Position[] } {
  const located = locate(text);
  const issues: InputIssue[] = [];
  const events: unknown[] = [];
  const positions: Position[] = [];
  const bad = new Set<number>();
  const byId = new Map<string, { at: Position; event: AuditEvent }>();
  for (const [n, l] of located.entries()) {
    if (l.error) {
      bad.add(n);
      issues.push({
        ...l.at,
        ...(typeof l.error.details['column'] === 'number' ? { column: l.error.details['column'] } : {}),
        field: '(json)',
        rule: String(l.error.details['rule'] ?? 'syntax'),
        message: l.error.message.replace(/ at line \d+, column \d+$/, ''),
      });
      continue;
    }
    let ev: AuditEvent;
    try {
      ev = validateEvent(l.value, { now });
    } catch (e) {
      if (!(e instanceof ValidationError)) throw e;
      bad.add(n);
      for (const i of e.issues) issues.push({ ...l.at, field: i.field, rule: i.rule, message: i.message });
      continue;
    }
    const prior = byId.get(ev.id);
    if (prior && !sameClientContent(prior.event, ev, { timestamp: timestampWasFilled(ev) })) {
      bad.add(n);
      issues.push({
        ...l.at,
        field: 'id',
        rule: 'id_conflict',
        message: `${ev.id} is also the id of ${where(prior.at)}, with other content`,
      });
      continue;
    }
    if (!prior) byId.set(ev.id, { at: l.at, event: ev });
    events.push(l.value);
    positions.push(l.at);
  }
  if (issues.length > 0) {
    const onlyJson = issues.every((i) => i.field === '(json)');
    const total = located.length;
    throw new EvidentError(
      onlyJson ? ErrorCode.JSON_INVALID : ErrorCode.VALIDATION_FAILED,
      total === 1
        ? 'the event is invalid; nothing was appended'
        : `${bad.size} of ${total} events are invalid; nothing was appended`,
      { invalid: bad.size, total, issues },
    );
  }
  return { events, positions };
}

function where(at: Located['at']): string {
  if ('line' in at) return `line ${at.line}`;
  if ('item' in at) return `item ${at.item}`;
  return 'another event';
}
