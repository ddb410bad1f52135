/** evident query: entries matching filters, oldest first (or newest with --newest-first); never cut silently. */
import type { Entry } from '../../core/event/entry.ts';
import { normaliseIp } from '../../core/event/ip.ts';
import { ACTOR_TYPES, RESULTS } from '../../core/event/schema.ts';
import type { Ledger } from '../../ledger/ledger.ts';
import type { EntryFilter } from '../../store/types.ts';
import type { Context } from '../command.ts';
import { QUERY_DEFAULT_LIMIT } from '../defaults.ts';
import { usageError } from '../errors.ts';
import { flag, str, strs } from '../globals.ts';
import type { OutStream } from '../io.ts';
import { openReadOnly, withLedger } from '../open-log.ts';
import { note, printJson, table } from '../output.ts';
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
  if (flag(ctx, 'newest-first') || flag(ctx, 'desc')) f.descending = true;
  return f;
}

export async function run(ctx: Context): Promise<number> {
  const filter = filterFrom(ctx);
  const all = flag(ctx, 'all');
  const limitArg = str(ctx, 'limit');
  if (all && limitArg !== undefined) throw usageError('give either --all or --limit, not both', '--all');
  const limit = all
    ? Number.POSITIVE_INFINITY
    : (optionalCount('limit', limitArg, { min: 1 }) ?? QUERY_DEFAULT_LIMIT);
  if (flag(ctx, 'verified')) {
    // A verified answer is held until the whole log has verified: bounded by --limit, never --all.
    if (all)
      throw usageError(
        '--verified holds its answer until the log verifies: give --limit N, not --all',
        '--all',
      );
    return (await import('./query-verified.ts')).run(ctx, filter, limit);
  }
  for (const f of ['vkey', 'trusted-checkpoint']) {
    if (strs(ctx, f).length > 0) throw usageError(`--${f} goes with --verified`, `--${f}`);
  }
  const ledger = await openReadOnly(ctx);
  let shown = 0;
  const next = await withLedger(ledger, (l) =>
    pages(l, filter, limit, async (page) => {
      const text = ctx.json
        ? page.map((e) => `${JSON.stringify(e)}\n`).join('')
        : `${rowsTable(page, shown === 0)}\n`;
      shown += page.length;
      await writeDrained(ctx.io.stdout, text);
    }),
  );
  if (next !== undefined) {
    // A cut answer is never silent: an auditor reading "all access to p-9" must know it is not.
    if (ctx.json) printJson(ctx, { truncated: true, next_cursor: next });
    else {
      ctx.io.stderr.write(
        `evident: ${shown} entries shown; more match. Go on with --from-index ${next}, or give --all for every match.\n`,
      );
    }
  } else if (shown === 0) note(ctx, 'no entries match');
  return 0;
}

/**
 * Hands the matches to `emit` a page at a time (constant memory, however many match), at most
 * `limit` of them; returns the index of the first match left out, or undefined if none was.
 * One entry more than needed is asked for, so that a cut is known without an empty last page.
 */
async function pages(
  l: Ledger,
  filter: EntryFilter,
  limit: number,
  emit: (page: Entry[]) => Promise<void>,
): Promise<number | undefined> {
  let left = limit;
  let from = filter.fromIndex;
  for (;;) {
    const want = Math.min(left, PAGE);
    const last = want === left;
    const got = await l.query({
      ...filter,
      ...(from !== undefined ? { fromIndex: from } : {}),
      limit: last ? want + 1 : want,
    });
    const page = got.length > want ? got.slice(0, want) : got;
    if (page.length > 0) await emit(page);
    if (got.length > want) return got[want]!.index;
    if (last || page.length < want) return undefined;
    left -= page.length;
    const end = page[page.length - 1]!.index;
    if (filter.descending && end === 0) return undefined;
    from = filter.descending ? end - 1 : end + 1;
  }
}

/**
 * Writes, then waits while the stream's buffer is full (a slow reader of a pipe): what is held
 * in memory stays one page, however many entries --all streams.
 */
async function writeDrained(out: OutStream, text: string): Promise<void> {
  const s = out as OutStream & { once?: (event: 'drain', fn: () => void) => unknown };
  if (out.write(text) === false && typeof s.once === 'function') {
    await new Promise<void>((resolve) => s.once!('drain', resolve));
  }
}

/** One page as table rows; the header only above the first. */
function rowsTable(page: readonly Entry[], header: boolean): string {
  const t = table(
    ['INDEX', 'TIMESTAMP', 'ACTOR', 'ACTION', 'RESOURCE', 'RESULT', 'IP'],
    page.map((e) => [
      String(e.index),
      e.timestamp,
      `${e.actor_type}:${e.actor_id}`,
      e.action,
      `${e.resource_type}/${e.resource_id}`,
      e.result,
      e.ip_address ?? (e.erased?.includes('ip_address') ? '(erased)' : '-'),
    ]),
  );
  return header ? t : t.slice(t.indexOf('\n') + 1);
}
