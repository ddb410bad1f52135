/** POST /v1/logs/{log}/events: one event or an array, appended all together or not at all. */
import { ErrorCode, EvidentError, ValidationError } from '../../core/errors.ts';
import type { Receipt } from '../../ledger/integrate.ts';
import type { ServerContext } from '../context.ts';
import { ledgerOf } from '../context.ts';
import { errors, IngestResponse, ingestBody, LogParams } from '../schemas.ts';
import type { App } from '../type-provider.ts';

export function ingestRoutes(app: App, ctx: ServerContext): void {
  const { maxBatch } = ctx.options;
  app.post(
    '/v1/logs/:log/events',
    {
      schema: {
        summary: 'Append events',
        description:
          'Appends one event (a JSON object) or many (an array, at most the configured batch size): all of ' +
          'them or none. Answers once the events are durably committed, with one receipt per event in the ' +
          'order sent. A retry with the same ids and content returns the original receipts. Scope: ingest. ' +
          'An admin key creates the log on first use.',
        tags: ['ingest'],
        params: LogParams,
        body: ingestBody(maxBatch),
        response: { 201: IngestResponse, ...errors(400, 401, 403, 404, 408, 409, 413, 415, 429, 503) },
      },
      config: { access: { scope: 'ingest', action: 'audit_log.ingest', createLog: true } },
    },
    async (req, reply) => {
      const body = req.body as unknown;
      if (body === undefined || body === null) {
        throw new ValidationError([
          { field: '(body)', rule: 'required', message: 'send one event (an object) or an array of events' },
        ]);
      }
      const batch = Array.isArray(body);
      const events: unknown[] = batch ? body : [body];
      if (events.length === 0) {
        throw new ValidationError([
          { field: '(body)', rule: 'min_items', message: 'the array of events is empty' },
        ]);
      }
      if (events.length > maxBatch) {
        throw new EvidentError(
          ErrorCode.PAYLOAD_TOO_LARGE,
          `${events.length} events in one request; at most ${maxBatch}`,
          { rule: 'max_items', limit: maxBatch },
        );
      }
      let receipts: Receipt[];
      try {
        receipts = await ledgerOf(req).appendMany(events);
      } catch (e) {
        ctx.metrics.ingestRequests.inc({ outcome: 'refused' });
        // The ledger names positions only for batches of two or more: an array always gets them.
        if (e instanceof ValidationError && batch) {
          throw new ValidationError(e.issues.map((i) => ({ item: i.item ?? 0, ...i })));
        }
        throw e;
      }
      ctx.metrics.ingestRequests.inc({ outcome: 'accepted' });
      ctx.metrics.ingestEvents.inc({}, receipts.length);
      return reply.code(201).send({
        receipts: receipts.map((r) => ({
          id: r.id,
          index: r.index,
          hash: r.hash,
          ...(r.duplicate ? { duplicate: true } : {}),
        })),
      });
    },
  );
}
