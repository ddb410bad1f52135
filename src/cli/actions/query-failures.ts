/**
 * evident query failures: actors with at least MIN failures or denials in a recent window.
 * Every such actor is listed: the answer has no limit, so it is never cut.
 */
import type { Context } from '../command.ts';
import { FAILURES_DEFAULT_HOURS, FAILURES_DEFAULT_MIN } from '../defaults.ts';
import { str } from '../globals.ts';
import { openReadOnly, withLedger } from '../open-log.ts';
import { note, print, table } from '../output.ts';
import { optionalCount } from '../values.ts';

export async function run(ctx: Context): Promise<number> {
  const hours =
    optionalCount('hours', str(ctx, 'hours'), { min: 1, max: 2_400_000 }) ?? FAILURES_DEFAULT_HOURS;
  const min = optionalCount('min', str(ctx, 'min'), { min: 1 }) ?? FAILURES_DEFAULT_MIN;
  const since = new Date(ctx.now().getTime() - hours * 3_600_000).toISOString();
  // --min is inclusive ("at least"); the ledger's threshold is exclusive ("more than").
  const rows = await withLedger(await openReadOnly(ctx), (l) => l.failuresByActor(since, min - 1));
  if (ctx.json) {
    ctx.io.stdout.write(rows.map((r) => `${JSON.stringify(r)}\n`).join(''));
    return 0;
  }
  if (rows.length === 0) {
    note(ctx, `no actor has ${min} or more failures or denials since ${since}`);
    return 0;
  }
  print(
    ctx,
    table(
      ['ACTOR', 'FAILURES', 'LAST'],
      rows.map((r) => [r.actor_id, String(r.failures), r.last_timestamp]),
    ),
  );
  return 0;
}
