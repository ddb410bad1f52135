/**
 * Progress on stderr: a self-rewriting line on a terminal; with --progress and no terminal,
 * a plain line at most once a second. Nothing otherwise, so that logs stay clean.
 */
import type { Context } from './command.ts';
import { flag } from './globals.ts';

export interface Progress {
  update(done: number, total: number): void;
  end(): void;
}

const SILENT: Progress = { update() {}, end() {} };

export function progress(
  ctx: Context,
  label: string,
  o: { minTotal?: number; total?: number } = {},
): Progress {
  const tty = ctx.io.stderr.isTTY === true;
  const forced = flag(ctx, 'progress');
  if (!forced && (!tty || (o.total !== undefined && o.total < (o.minTotal ?? 0)))) return SILENT;
  const interval = tty ? 100 : 1000;
  let last = 0;
  let shown: [number, number] | undefined;
  let latest: [number, number] | undefined;
  const line = (done: number, total: number) =>
    `${label}: ${done}/${total}${total > 0 ? ` (${Math.floor((done * 100) / total)}%)` : ''}`;
  const show = (done: number, total: number) => {
    shown = [done, total];
    ctx.io.stderr.write(tty ? `\r${line(done, total)}\u001b[K` : `evident: ${line(done, total)}\n`);
  };
  return {
    update(done, total) {
      latest = [done, total];
      const now = Date.now();
      if (now - last < interval && done < total) return;
      last = now;
      show(done, total);
    },
    end() {
      if (tty) {
        if (shown) ctx.io.stderr.write('\r\u001b[K');
      } else if (latest && (shown?.[0] !== latest[0] || shown[1] !== latest[1])) {
        show(...latest);
      }
    },
  };
}
