/**
 * evident append: events from stdin, all validated before any is written, then appended in
 * chunks (each chunk one atomic, durable commit). One receipt per event on stdout.
 */
import { EvidentError, isEvidentError } from '../../core/errors.ts';
import { redactUrls } from '../../core/redact.ts';
import type { Receipt } from '../../ledger/integrate.ts';
import type { Context } from '../command.ts';
import { type Position, readEvents } from '../events.ts';
import { dbPath } from '../globals.ts';
import { openForWriting, openReadOnly, signerFor, withLedger } from '../open-log.ts';
import { note } from '../output.ts';
import { progress } from '../progress.ts';
import { readStdin } from '../stdin.ts';

/** Events per appendMany call: one commit, one line of progress. */
export const CHUNK = 5000;

export async function run(ctx: Context): Promise<number> {
  // Refuse a missing key or database before waiting for input.
  const signer = await signerFor(ctx);
  await (await openReadOnly(ctx)).close();
  if (ctx.io.stdin.isTTY) note(ctx, 'reading events from stdin (end with Ctrl-D)');
  const { events, positions } = readEvents(await readStdin(ctx.io), ctx.now);

  const ledger = await openForWriting(ctx, signer, { maxBatch: CHUNK, maxPending: CHUNK * 2 });
  const bar = progress(ctx, 'appended', { total: events.length, minTotal: CHUNK + 1 });
  let written = 0;
  await withLedger(ledger, async (l) => {
    for (let at = 0; at < events.length; at += CHUNK) {
      let receipts: Receipt[];
      try {
        receipts = await l.appendMany(events.slice(at, at + CHUNK));
      } catch (e) {
        bar.end();
        throw isEvidentError(e) ? located(e, at, events.slice(at, at + CHUNK), positions.slice(at)) : e;
      }
      ctx.io.stdout.write(receipts.map((r) => formatReceipt(ctx, r)).join(''));
      written += receipts.length;
      bar.update(written, events.length);
    }
    bar.end();
  });
  if (!ctx.json && !ctx.io.stdout.isTTY && ctx.io.stderr.isTTY) {
    note(ctx, `appended ${written} events to ${redactUrls(dbPath(ctx))}`);
  }
  return 0;
}

export function formatReceipt(ctx: Context, r: Receipt): string {
  if (ctx.json) {
    return `${JSON.stringify({ id: r.id, index: r.index, hash: r.hash, ...(r.duplicate ? { duplicate: true } : {}) })}\n`;
  }
  return `#${r.index} ${r.id} ${r.hash}${r.duplicate ? ' (duplicate)' : ''}\n`;
}

/**
 * A chunk was refused (an id already used by another event, say): names the event's place in
 * the input, and how many events of earlier chunks were committed (their receipts are printed).
 */
function located(
  e: EvidentError,
  appended: number,
  chunk: readonly unknown[],
  at: readonly Position[],
): EvidentError {
  const i =
    typeof e.details['id'] === 'string'
      ? chunk.findIndex((ev) => (ev as { id?: unknown }).id === e.details['id'])
      : -1;
  const where = i >= 0 ? at[i]! : {};
  const prefix = 'line' in where ? `line ${where.line}: ` : 'item' in where ? `item ${where.item}: ` : '';
  const suffix =
    appended > 0
      ? `; the ${appended} events before it were appended (receipts above), none after`
      : '; nothing was appended';
  return new EvidentError(e.code, `${prefix}${e.message}${suffix}`, { ...e.details, ...where, appended });
}
