/** evident query: entries matching filters, oldest first (or newest with --desc). */
import type { Entry } from '../../core/event/entry.ts';
import { normaliseIp } from '../../core/event/ip.ts';
import { ACTOR_TYPES, RESULTS } from '../../core/event/schema.ts';
import type { EntryFilter } from '../../store/types.ts';
import type { Context } from '../command.ts';
import { usageError } from '../errors.ts';
import { flag, str, strs } from '../globals.ts';
import { openReadOnly, withLedger } from '../open-log.ts';
import { note, print, table } from '../output.ts';
import { optionalCount, parseChoice, parseList, parseTime } from '../values.ts';

/** The store returns at most this many entries per call; longer results are paged. */
const PAGE = 5000;

const FIELD_FLAGS = {
  'actor-id': 'actor_id',
  action: 'action',
  'resource-type': 'resource_type',
  'resource-id': 'resource_id',
  'session-id': 'session_id',
} as const;

export function filterFrom(ctx: Context): EntryFilter {
  const f: EntryFilter = {};
  for (const [flagName, field] of Object.entries(FIELD_FLAGS)) {
    const v = str(ctx, flagName);
    if (v !== undefined) f[field] = v;
  }
  const actorType = str(ctx, 'actor-type');
  if (actorType !== undefined) f.actor_type = parseChoice('actor-type', actorType, ACTOR_TYPES);
  const result = str(ctx, 'result');
  if (result !== undefined) f.result = parseList('result', result, RESULTS);
  const ip = str(ctx, 'ip');
  if (ip !== undefined) {
    const n = normaliseIp(ip);
    if (n === undefined)
      throw usageError(`--ip must be an IPv4 or IPv6 address, not "${ip}"`, '--ip', { rule: 'format' });
    f.ip_address = n;
  }
  const since = str(ctx, 'since');
  const days = optionalCount('last-days', str(ctx, 'last-days'), { min: 1, max: 100_000 });
  const hours = optionalCount('last-hours', str(ctx, 'last-hours'), { min: 1, max: 2_400_000 });
  if ([since, days, hours].filter((x) => x !== undefined).length > 1) {
    throw usageError('give only one of --since, --last-days, --last-hours', '--since');
  }
  if (since !== undefined) f.since = parseTime('since', since);
  const back = days !== undefined ? days * 24 : hours;
  if (back !== undefined) f.since = new Date(ctx.now().getTime() - back * 3_600_000).toISOString();
  const until = str(ctx, 'until');
  if (until !== undefined) f.until = parseTime('until', until);
  const fromIndex = optionalCount('from-index', str(ctx, 'from-index'));
  if (fromIndex !== undefined) f.fromIndex = fromIndex;
  if (flag(ctx, 'desc')) f.descending = true;
  return f;
}

export async function run(ctx: Context): Promise<number> {
  const filter = filterFrom(ctx);
  const limit = optionalCount('limit', str(ctx, 'limit'), { min: 1 }) ?? 100;
  if (flag(ctx, 'verified')) return (await import('./query-verified.ts')).run(ctx, filter, limit);
  for (const f of ['vkey', 'trusted-checkpoint']) {
    if (strs(ctx, f).length > 0) throw usageError(`--${f} goes with --verified`, `--${f}`);
  }
  const ledger = await openReadOnly(ctx);
  const rows: Entry[] = [];
  await withLedger(ledger, async (l) => {
    let left = limit;
    let from = filter.fromIndex;
    while (left > 0) {
      const page = await l.query({
        ...filter,
        ...(from !== undefined ? { fromIndex: from } : {}),
        limit: Math.min(left, PAGE),
      });
      if (ctx.json) ctx.io.stdout.write(page.map((e) => `${JSON.stringify(e)}\n`).join(''));
      else rows.push(...page);
      left -= page.length;
      if (page.length < Math.min(PAGE, left + page.length)) break;
      const last = page[page.length - 1]!.index;
      if (filter.descending && last === 0) break;
      from = filter.descending ? last - 1 : last + 1;
    }
  });
  if (ctx.json) return 0;
  if (rows.length === 0) {
    note(ctx, 'no entries match');
    return 0;
  }
  print(
    ctx,
    table(
      ['INDEX', 'TIMESTAMP', 'ACTOR', 'ACTION', 'RESOURCE', 'RESULT', 'IP'],
      rows.map((e) => [
        String(e.index),
        e.timestamp,
        `${e.actor_type}:${e.actor_id}`,
        e.action,
        `${e.resource_type}/${e.resource_id}`,
        e.result,
        e.ip_address ?? (e.erased?.includes('ip_address') ? '(erased)' : '-'),
      ]),
    ),
  );
  return 0;
}
