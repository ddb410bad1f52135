/**
 * GET /v1/logs/{log}/export: the export bundle (header line, then one entry per line) streamed
 * as application/x-ndjson, entry by entry from the store, at the pace the client reads: the
 * next page is read only once the socket has taken the previous lines (backpressure), so
 * neither side holds the log in memory. Scope: read.
 *
 * The export is recorded (audit_log.export, with its filters) before the first byte is sent,
 * and the bundle's fresh checkpoint covers that record too. An export that fails once the 200
 * is sent cannot change its status: it ends with one error line `{"error":{"code","message"}}`
 * and then the connection is cut without the final chunk, so every HTTP client reports an
 * incomplete body and no reader can take the bundle for whole; a second access event, result
 * failure, records the code and how many entries were sent (docs/http-api.md, Export). A
 * client that goes away midway gets such a record too (`aborted_by_client`).
 */
import type { ServerResponse } from 'node:http';
import { exportBundle } from '../../ledger/export.ts';
import { exportRecords } from '../../ledger/record-export.ts';
import { RECORD_FORMATS } from '../../ledger/siem/index.ts';
import { recordAccess } from '../access-audit.ts';
import { ledgerOf, type ServerContext } from '../context.ts';
import { toHttpError } from '../errors.ts';
import { parseTime } from '../query-values.ts';
import { ExportQuery, errors, LogParams } from '../schemas.ts';
import type { App } from '../type-provider.ts';
import { packageVersion } from '../version.ts';

export function exportRoutes(app: App, ctx: ServerContext): void {
  app.get(
    '/v1/logs/:log/export',
    {
      schema: {
        summary: 'Export a bundle',
        description:
          'A bundle verifiable offline (evident verify-bundle, or any RFC 9162 and C2SP implementation): a ' +
          'header line (origin, verifier key, signed checkpoint, subtree hashes), then one entry per line. ' +
          'since/until select by received_at; the bundle then carries the entries just outside the range with ' +
          'inclusion proofs (completeness). format=ocsf|cef|syslog|csv streams records for a SIEM instead ' +
          '(docs/exports.md). Scope: read. ' +
          'Recorded as an audit_log.export event before the bundle is sent. An export that fails midway ' +
          'ends with a line {"error":{"code","message"}} and a cut connection (no final chunk).',
        tags: ['read'],
        params: LogParams,
        querystring: ExportQuery,
        response: {
          200: {
            description:
              'The bundle or the OCSF records, JSON Lines; CEF and syslog as text, one record a line; CSV.',
            content: {
              'application/x-ndjson': { schema: { type: 'string' } },
              'text/plain': { schema: { type: 'string' } },
              'text/csv': { schema: { type: 'string' } },
            },
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
      const format = req.query.format ?? 'bundle';
      const records = format === 'bundle' ? undefined : RECORD_FORMATS[format]!;
      await recordAccess(ctx, req, ledger, {
        action: 'audit_log.export',
        result: 'success',
        metadata: { filters, format },
      });
      const lines = (
        records
          ? exportRecords(ledger, {
              ...filters,
              format,
              productVersion: packageVersion(),
              bom: req.query.bom === 'true',
            })
          : exportBundle(ledger, filters)
      )[Symbol.asyncIterator]();
      // The header is computed before answering, so that a failure there is still a proper error.
      const first = await lines.next();
      reply.hijack();
      const res = reply.raw;
      res.writeHead(200, {
        'content-type': records?.contentType ?? 'application/x-ndjson; charset=utf-8',
        'content-disposition': `attachment; filename="${ledger.log.name}.${records?.extension ?? 'bundle'}"`,
        ...(ctx.lifecycle.closing ? { connection: 'close' } : {}),
      });
      let entries = 0;
      try {
        for (let r = first; !r.done; r = await lines.next()) {
          if (!(await send(res, r.value))) {
            await lines.return?.(undefined);
            // The client went away: nothing more to tell it, but the record says the export is partial.
            await recordAccess(ctx, req, ledger, {
              action: 'audit_log.export',
              result: 'failure',
              reason: 'the client closed the connection before the export ended',
              metadata: { filters, format, aborted_by_client: true, entries_sent: entries },
            }).catch(() => {});
            return;
          }
          // the first line is the bundle's header or CSV's header row; other formats have none
          if (r !== first || (records && records.header({ bom: false }) === '')) entries++;
        }
      } catch (e) {
        const h = toHttpError(e);
        ctx.metrics.errors.inc({ code: h.body.code });
        req.log.error({ err: e, log: ledger.log.name, entries }, 'export failed midway');
        await recordAccess(ctx, req, ledger, {
          action: 'audit_log.export',
          result: 'failure',
          reason: 'the export failed after it began; the client got an error line and a cut connection',
          metadata: { filters, format, code: h.body.code, entries_sent: entries },
        }).catch(() => {}); // logged and counted by recordAccess; the client is told either way
        await sendLast(res, `${JSON.stringify({ error: h.body })}\n`);
        res.destroy(); // no final chunk: the body is visibly incomplete
        return;
      }
      res.end();
    },
  );
}

/**
 * Writes one line; when the socket's buffer is full, waits for 'drain' before going on: at
 * most one page of the bundle is ever held. False if the client went away.
 */
async function send(res: ServerResponse, line: string): Promise<boolean> {
  if (res.destroyed || !res.writable) return false;
  if (res.write(line)) return true;
  return new Promise((resolve) => {
    const done = (ok: boolean) => () => {
      res.off('drain', onDrain);
      res.off('close', onClose);
      resolve(ok);
    };
    const onDrain = done(true);
    const onClose = done(false);
    res.once('drain', onDrain);
    res.once('close', onClose);
  });
}

/** Writes the last line and waits until the socket has taken it, so that it is sent before the cut. */
function sendLast(res: ServerResponse, line: string): Promise<void> {
  if (res.destroyed || !res.writable) return Promise.resolve();
  return new Promise((resolve) => {
    res.once('close', () => resolve());
    res.write(line, () => resolve());
  });
}
