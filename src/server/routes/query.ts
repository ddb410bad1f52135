/** GET /v1/logs/{log}/events (filters, cursor pages in index order) and /failures. Scope: read. */
import type { Static } from '@sinclair/typebox';
import type { EntryFilter } from '../../store/types.ts';
import { auditedRead } from '../access-audit.ts';
import { ledgerOf, type ServerContext } from '../context.ts';
import { readPage } from '../page.ts';
import {
  decodeCursor,
  decodeFailuresCursor,
  encodeFailuresCursor,
  parseIp,
  parseTime,
} from '../query-values.ts';
import { EntriesPage, EventsQuery, errors, FailuresQuery, FailuresResponse, LogParams } from '../schemas.ts';
import type { App } from '../type-provider.ts';

const DEFAULT_LIMIT = 100;
const TEXT_FILTERS = [
  'actor_id',
  'actor_type',
  'action',
  'resource_type',
  'resource_id',
  'session_id',
] as const;

export function filterOf(q: Static<typeof EventsQuery>): EntryFilter {
  const f: EntryFilter = {};
  for (const k of TEXT_FILTERS) {
    const v = q[k];
    if (v !== undefined) f[k] = v;
  }
  if (q.result !== undefined) f.result = q.result.split(',');
  if (q.ip_address !== undefined) f.ip_address = parseIp('ip_address', q.ip_address);
  if (q.since !== undefined) f.since = parseTime('since', q.since);
  if (q.until !== undefined) f.until = parseTime('until', q.until);
  return f;
}

export function queryRoutes(app: App, ctx: ServerContext): void {
  app.get(
    '/v1/logs/:log/events',
    {
      schema: {
        summary: 'Query entries',
        description:
          'Entries matching every filter given, in index order, a page at a time: pass next_cursor as ' +
          'cursor for the next page. A page stops at `limit` entries or at the byte budget of the server ' +
          '(default 8 MiB of entries), whichever comes first, so next_cursor may come with fewer than ' +
          '`limit` entries. Each entry carries index, hash, prev_hash and every stored field. ' +
          'Scope: read. The query is recorded in the log as an audit_log.query event.',
        tags: ['read'],
        params: LogParams,
        querystring: EventsQuery,
        response: { 200: EntriesPage, ...errors(400, 401, 403, 404, 429, 503) },
      },
      config: { access: { scope: 'read', action: 'audit_log.query' } },
    },
    async (req) => {
      const q = req.query;
      const filter = filterOf(q);
      const from = q.cursor !== undefined ? decodeCursor(q.cursor) : 0;
      const limit = q.limit ?? DEFAULT_LIMIT;
      const ledger = ledgerOf(req);
      const { cursor: _cursor, ...filters } = q;
      const { bytes: _bytes, ...answer } = await auditedRead(
        ctx,
        req,
        ledger,
        'audit_log.query',
        { filters: { ...filters }, from_index: from },
        async () => {
          const page = await readPage(ledger, filter, from, limit, ctx.options.maxPageBytes);
          return { entries: page.entries, next_cursor: page.next_cursor, bytes: page.bytes };
        },
        (r) => ({ returned: r.entries.length, bytes: r.bytes }),
      );
      return answer;
    },
  );

  app.get(
    '/v1/logs/:log/failures',
    {
      schema: {
        summary: 'Actors with repeated failures',
        description:
          'Actors with more than `min` events whose result is failure or denied in the last `hours` hours, ' +
          'most first (then by actor_id), `limit` at a time: pass next_cursor as cursor for the next page. ' +
          'Scope: read. Recorded as an audit_log.query event.',
        tags: ['read'],
        params: LogParams,
        querystring: FailuresQuery,
        response: { 200: FailuresResponse, ...errors(400, 401, 403, 404, 429, 503) },
      },
      config: { access: { scope: 'read', action: 'audit_log.query' } },
    },
    async (req) => {
      const hours = req.query.hours ?? 24;
      const min = req.query.min ?? 5;
      const limit = req.query.limit ?? DEFAULT_LIMIT;
      const after = req.query.cursor !== undefined ? decodeFailuresCursor(req.query.cursor) : undefined;
      const now = ctx.options.now?.() ?? new Date();
      const since = new Date(now.getTime() - hours * 3_600_000).toISOString();
      const ledger = ledgerOf(req);
      return auditedRead(
        ctx,
        req,
        ledger,
        'audit_log.query',
        { query: 'failures', hours, min, limit, ...(after ? { after_actor: after.actorId } : {}) },
        async () => {
          // The store counts every actor in the window; the answer holds one page of them. Sorted
          // here again, by code units, so that the cursor means the same on every store.
          const all = (await ledger.failuresByActor(since, min)).sort(
            (a, b) =>
              b.failures - a.failures || (a.actor_id < b.actor_id ? -1 : a.actor_id > b.actor_id ? 1 : 0),
          );
          const start = after
            ? all.findIndex(
                (a) =>
                  a.failures < after.failures ||
                  (a.failures === after.failures && a.actor_id > after.actorId),
              )
            : 0;
          const actors = start < 0 ? [] : all.slice(start, start + limit);
          const last = actors.at(-1);
          const more = start >= 0 && start + limit < all.length;
          return {
            since,
            actors,
            next_cursor: more && last ? encodeFailuresCursor(last.failures, last.actor_id) : null,
          };
        },
        (r) => ({ returned: r.actors.length }),
      );
    },
  );
}
