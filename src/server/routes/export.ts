/**
 * GET /v1/logs/{log}/export: the export bundle (header line, then one entry per line) streamed
 * as application/x-ndjson, page by page from the store: neither side holds the log in memory.
 * Scope: read. The export is recorded (audit_log.export, with its filters) before the first
 * byte is sent, and the bundle's fresh checkpoint covers that record too.
 */
import { Readable } from 'node:stream';
import { exportBundle } from '../../ledger/export.ts';
import { recordAccess } from '../access-audit.ts';
import { ledgerOf, type ServerContext } from '../context.ts';
import { parseTime } from '../query-values.ts';
import { ExportQuery, errors, LogParams } from '../schemas.ts';
import type { App } from '../type-provider.ts';

export function exportRoutes(app: App, ctx: ServerContext): void {
  app.get(
    '/v1/logs/:log/export',
    {
      schema: {
        summary: 'Export a bundle',
        description:
          'A bundle verifiable offline (evident verify-bundle, or any RFC 9162 and C2SP implementation): a ' +
          'header line (origin, verifier key, signed checkpoint, subtree hashes), then one entry per line. ' +
          'With since/until it holds the whole index range between the first and last match. Scope: read. ' +
          'Recorded as an audit_log.export event before the bundle is sent.',
        tags: ['read'],
        params: LogParams,
        querystring: ExportQuery,
        response: {
          200: {
            description: 'The bundle, JSON Lines.',
            content: { 'application/x-ndjson': { schema: { type: 'string' } } },
          },
          ...errors(400, 401, 403, 404, 429, 503),
        },
      },
      config: { access: { scope: 'read', action: 'audit_log.export' } },
    },
    async (req, reply) => {
      const ledger = ledgerOf(req);
      const since = req.query.since !== undefined ? parseTime('since', req.query.since) : undefined;
      const until = req.query.until !== undefined ? parseTime('until', req.query.until) : undefined;
      const filters = { ...(since ? { since } : {}), ...(until ? { until } : {}) };
      await recordAccess(ctx, req, ledger, {
        action: 'audit_log.export',
        result: 'success',
        metadata: { filters },
      });
      const lines = exportBundle(ledger, filters)[Symbol.asyncIterator]();
      // The header is computed before answering, so that a failure there is still a proper error.
      const first = await lines.next();
      async function* rest() {
        if (!first.done) yield first.value;
        for (let r = await lines.next(); !r.done; r = await lines.next()) yield r.value;
      }
      return reply
        .type('application/x-ndjson; charset=utf-8')
        .header('content-disposition', `attachment; filename="${ledger.log.name}.bundle"`)
        .send(Readable.from(rest(), { objectMode: false }));
    },
  );
}
