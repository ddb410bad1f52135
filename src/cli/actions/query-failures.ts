/** evident query failures: actors with repeated failures or denials in a recent window. */
import type { Context } from '../command.ts';
import { str } from '../globals.ts';
import { openReadOnly, withLedger } from '../open-log.ts';
import { note, print, table } from '../output.ts';
import { optionalCount } from '../values.ts';

export async function run(ctx: Context): Promise<number> {
  const hours = optionalCount('hours', str(ctx, 'hours'), { min: 1, max: 2_400_000 }) ?? 24;
  const min = optionalCount('min', str(ctx, 'min')) ?? 5;
  const since = new Date(ctx.now().getTime() - hours * 3_600_000).toISOString();
  const rows = await withLedger(await openReadOnly(ctx), (l) => l.failuresByActor(since, min));
  if (ctx.json) {
    ctx.io.stdout.write(rows.map((r) => `${JSON.stringify(r)}\n`).join(''));
    return 0;
  }
  if (rows.length === 0) {
    note(ctx, `no actor has more than ${min} failures or denials since ${since}`);
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
