/** Writing results: human text or JSON (one document, or JSON Lines) on stdout; notes on stderr. */
import type { Context } from './command.ts';

export function print(ctx: Context, text: string): void {
  ctx.io.stdout.write(text.endsWith('\n') ? text : `${text}\n`);
}

export function printJson(ctx: Context, value: unknown): void {
  ctx.io.stdout.write(`${JSON.stringify(value)}\n`);
}

/** A remark for the person at the terminal (stderr); with --json, a JSON object on stderr. */
export function warn(ctx: Context, message: string, o: { loud?: boolean } = {}): void {
  if (ctx.json) ctx.io.stderr.write(`${JSON.stringify({ warning: message })}\n`);
  else ctx.io.stderr.write(`evident: ${o.loud ? 'WARNING' : 'warning'}: ${message}\n`);
}

/** Informational text on stderr, human mode only. */
export function note(ctx: Context, message: string): void {
  if (!ctx.json) ctx.io.stderr.write(`evident: ${message}\n`);
}

/** Lays rows out in columns separated by two spaces; the last column is not padded. */
export function table(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const all = [header, ...rows].map((r) => r.map(cell));
  const widths = header.map((_, c) => Math.max(...all.map((r) => r[c]!.length)));
  return all
    .map((r) =>
      r
        .map((v, c) => (c === r.length - 1 ? v : v.padEnd(widths[c]!)))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

/** A table cell: control characters (which validation refuses anyway) shown, not obeyed. */
function cell(s: string): string {
  return s.replace(/[\u0000-\u001f\u007f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
}
