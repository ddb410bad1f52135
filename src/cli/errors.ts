/**
 * Error reporting. The exit code of each error code is in ./exit-codes.ts. An EvidentError is
 * one line on stderr (every issue of a validation error on its own line), never a stack trace;
 * with --json it is the error's JSON object.
 */
import { ErrorCode, EvidentError, isEvidentError } from '../core/errors.ts';
import { redactUrls } from '../core/redact.ts';
import { exitCodeOf } from './exit-codes.ts';
import type { Io } from './io.ts';

export { EXIT_INTERNAL, EXIT_OK, EXIT_TAMPERED, EXIT_USAGE } from './exit-codes.ts';

export function usageError(
  message: string,
  field?: string,
  details: Record<string, unknown> = {},
): EvidentError {
  return new EvidentError(ErrorCode.USAGE, message, { ...(field ? { field } : {}), ...details });
}

export function exitCodeFor(e: unknown): number {
  return exitCodeOf(isEvidentError(e) ? e.code : undefined);
}

/** An issue of an input, located by line (JSON Lines), item (array) or neither. */
interface Issue {
  line?: unknown;
  column?: unknown;
  item?: unknown;
  field?: unknown;
  rule?: unknown;
  message?: unknown;
}

export function describeIssue(i: Issue): string {
  const at: string[] = [];
  if (typeof i.line === 'number') at.push(`line ${i.line}`);
  if (typeof i.column === 'number') at.push(`column ${i.column}`);
  if (typeof i.item === 'number') at.push(`item ${i.item}`);
  const where = at.length > 0 ? `${at.join(', ')}: ` : '';
  const field = typeof i.field === 'string' && i.field !== '' ? `${i.field}: ` : '';
  return `${where}${field}${String(i.message)} (${String(i.rule)})`;
}

/** Writes the error to stderr; returns the exit code. */
export function reportError(io: Io, json: boolean, e: unknown, command: string): number {
  const code = exitCodeFor(e);
  // An error may quote a database URL (a driver's message, the --db value): never its password.
  const write = (s: string) => io.stderr.write(redactUrls(s));
  if (isEvidentError(e)) {
    if (json) {
      write(`${JSON.stringify(e.toJSON())}\n`);
      return code;
    }
    const issues = e.details['issues'];
    if (Array.isArray(issues)) for (const i of issues) write(`${describeIssue(i as Issue)}\n`);
    write(`${command}: ${oneLine(e.message)} (${e.code})\n`);
    return code;
  }
  const message = e instanceof Error ? e.message : String(e);
  if (json) write(`${JSON.stringify({ code: 'INTERNAL', message })}\n`);
  else write(`${command}: internal error: ${oneLine(message)}\n`);
  if (io.env['EVIDENT_DEBUG'] && e instanceof Error && e.stack) write(`${e.stack}\n`);
  return code;
}

function oneLine(s: string): string {
  return s.replace(/\s*\n\s*/g, ' ');
}
