/**
 * GET /v1/logs/{log}/events/{ref}: one entry, by id or leaf index, with its inclusion proof
 * against a signed checkpoint that covers it (signed on demand when the latest does not yet).
 * Scope: read. Recorded as an audit_log.read event.
 */
import { fromHex, toBase64 } from '../../core/bytes.ts';
import { ErrorCode, EvidentError, ValidationError } from '../../core/errors.ts';
import type { Entry } from '../../core/event/entry.ts';
import type { Ledger } from '../../ledger/ledger.ts';
import type { StoredCheckpoint } from '../../store/types.ts';
import { auditedRead } from '../access-audit.ts';
import { ledgerOf, type ServerContext } from '../context.ts';
import { EntryParams, EntryWithProof, errors } from '../schemas.ts';
import type { App } from '../type-provider.ts';

/** The latest checkpoint if it covers leaf `index`, else a new one (the tree already holds the leaf). */
export async function checkpointCovering(ledger: Ledger, index: number): Promise<StoredCheckpoint> {
  const latest = await ledger.latestCheckpoint();
  if (latest && latest.size > index) return latest;
  if (!ledger.canSign) {
    throw new EvidentError(ErrorCode.NOT_FOUND, 'no signed checkpoint covers this entry yet', {
      field: 'index',
    });
  }
  return ledger.checkpoint();
}

export function entryRoutes(app: App, ctx: ServerContext): void {
  app.get(
    '/v1/logs/:log/events/:ref',
    {
      schema: {
        summary: 'Read one entry with its inclusion proof',
        description:
          'The entry (by event id or leaf index), an RFC 9162 inclusion proof, and the signed checkpoint it ' +
          'leads to. Verify: leaf hash = SHA-256(0x00 || base64-decoded leaf); the proof from it must give ' +
          "the checkpoint's root hash; the checkpoint must carry a valid signature by the log's verifier key. " +
          'Scope: read. Recorded as an audit_log.read event.',
        tags: ['read'],
        params: EntryParams,
        response: { 200: EntryWithProof, ...errors(400, 401, 403, 404, 429, 503) },
      },
      config: { access: { scope: 'read', action: 'audit_log.read' } },
    },
    async (req) => {
      const { ref } = req.params;
      const ledger = ledgerOf(req);
      const byIndex = /^[0-9]+$/.test(ref);
      // A leaf index past 2^53 - 1 has no exact JS number (nor a place in a log): a precise 400,
      // recorded like any other failed read, with the index as the text it was sent as.
      const exact = !byIndex || Number.isSafeInteger(Number(ref));
      return auditedRead(
        ctx,
        req,
        ledger,
        'audit_log.read',
        byIndex ? (exact ? { index: Number(ref) } : { ref }) : { id: ref },
        async () => {
          if (!exact) {
            throw new ValidationError([
              {
                field: 'ref',
                rule: 'maximum',
                message: `a leaf index is at most ${Number.MAX_SAFE_INTEGER}`,
              },
            ]);
          }
          const entry: Entry | undefined = byIndex
            ? await ledger.entryAt(Number(ref))
            : await ledger.entry(ref);
          if (!entry)
            throw new EvidentError(ErrorCode.NOT_FOUND, `no entry ${ref} in this log`, { field: 'ref' });
          const cp = await checkpointCovering(ledger, entry.index);
          const proof = await ledger.proveInclusion(entry.index, cp.size);
          return {
            entry,
            proof: { ...proof, leaf_hash: toBase64(fromHex(entry.hash)) },
            checkpoint: cp.note,
          };
        },
        (r) => ({ index: r.entry.index, id: r.entry.id }),
      );
    },
  );
}
