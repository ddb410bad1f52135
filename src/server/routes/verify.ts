/**
 * What an outside auditor needs, scope verify (public with publicVerify): the signed
 * checkpoint (latest or by size, byte-exact as signed), inclusion and consistency proofs
 * (RFC 9162 §2.1.3, §2.1.4, hashes in standard base64) and the verifier key.
 *
 * An inclusion proof carries the leaf bytes (the entry itself) only for keys that may read:
 * the verify scope proves entries the auditor already holds, it does not reveal them.
 */
import { Type } from '@sinclair/typebox';
import { fromHex, toBase64 } from '../../core/bytes.ts';
import { ErrorCode, EvidentError } from '../../core/errors.ts';
import { TLOG_PROOF_MEDIA_TYPE } from '../../core/tlog/proof-file.ts';
import { tlogProofFile } from '../../ledger/tiles.ts';
import { auditedRead } from '../access-audit.ts';
import { keyHasScope } from '../api-keys.ts';
import { ledgerOf, type ServerContext } from '../context.ts';
import {
  CheckpointQuery,
  ConsistencyProof,
  ConsistencyQuery,
  errors,
  InclusionProof,
  InclusionQuery,
  LogParams,
  Text,
} from '../schemas.ts';
import type { App } from '../type-provider.ts';

/** Whether the Accept header asks for a C2SP tlog-proof file (its media type, at any q above 0). */
function wantsTlogProof(accept: string | undefined): boolean {
  if (accept === undefined) return false;
  return accept.split(',').some((part) => {
    const [type, ...params] = part.trim().split(';');
    if (type?.trim().toLowerCase() !== TLOG_PROOF_MEDIA_TYPE) return false;
    const q = params.map((p) => p.trim()).find((p) => p.startsWith('q='));
    return q === undefined || Number(q.slice(2)) > 0;
  });
}

const verifyAccess = { access: { scope: 'verify' as const, action: 'audit_log.proof' } };

export function verifyRoutes(app: App, ctx: ServerContext): void {
  app.get(
    '/v1/logs/:log/checkpoint',
    {
      schema: {
        summary: 'Signed checkpoint',
        description:
          'The latest signed checkpoint (a C2SP signed note, text/plain, byte-exact), signing a fresh one ' +
          'first if the tree has grown (for a caller with a key; an anonymous caller gets the latest one ' +
          'the server signed on its schedule); or with ?size=N the checkpoint of that tree size (404 if none was ' +
          'signed at that size). Scope: verify.',
        tags: ['verify'],
        params: LogParams,
        querystring: CheckpointQuery,
        response: { 200: Text('The signed note.'), ...errors(400, 401, 403, 404, 429, 503) },
      },
      config: { access: { scope: 'verify', action: 'audit_log.checkpoint' } },
    },
    async (req, reply) => {
      const ledger = ledgerOf(req);
      const size = req.query.size;
      let cp = size === undefined ? await ledger.latestCheckpoint() : await ledger.checkpointAt(size);
      // Only a key may make the server sign: an anonymous fetch gets the latest checkpoint, which
      // the background timer keeps within checkpointIntervalMs of the tree.
      const maySign = req.evident.key !== undefined;
      if (
        size === undefined &&
        maySign &&
        ledger.canSign &&
        (cp === undefined || (await ledger.size()) > cp.size)
      ) {
        cp = await ledger.checkpoint();
      }
      if (!cp) {
        throw new EvidentError(
          ErrorCode.NOT_FOUND,
          size === undefined
            ? 'no checkpoint has been signed yet'
            : `no checkpoint was signed at tree size ${size}`,
          { field: 'size' },
        );
      }
      let note = cp.note;
      if (ctx.witnessing) {
        // Every cosignature gathered so far, and whether the policy's quorum is met: a checkpoint
        // is served either way, but one not yet witnessed says so.
        const w = await ctx.witnessing.withCosignatures(ledger.log.id, cp);
        note = w.note;
        reply.header('evident-witness-quorum', w.met ? 'met' : 'unmet');
        reply.header('evident-witness-cosigned', w.cosigned.join(','));
        if (!w.met) ctx.metrics.checkpointsUnwitnessed.inc();
      }
      return (
        reply
          .type('text/plain; charset=utf-8')
          // The cosignatures of a checkpoint grow as witnesses answer: a fixed size is cached briefly.
          .header('cache-control', size === undefined || ctx.witnessing ? 'no-cache' : 'max-age=86400')
          .send(note)
      );
    },
  );

  app.get(
    '/v1/logs/:log/proof/inclusion',
    {
      schema: {
        summary: 'Inclusion proof',
        description:
          'Proves that leaf `index` is in the tree of `size` (default: the latest checkpoint). `leaf` (the ' +
          'entry bytes) is included only for keys with read scope. With `Accept: text/x.tlog.proof`, a C2SP ' +
          'tlog-proof file instead (index, proof, the checkpoint signed at that size; the leaf bytes as its ' +
          '`extra` line for keys with read scope; 404 if no checkpoint was signed at `size`). Scope: verify. ' +
          'Recorded as an audit_log.proof event.',
        tags: ['verify'],
        params: LogParams,
        querystring: InclusionQuery,
        response: {
          200: {
            description: 'The proof, JSON; or a C2SP tlog-proof file (text/x.tlog.proof) when asked.',
            content: {
              'application/json': { schema: InclusionProof },
              [TLOG_PROOF_MEDIA_TYPE]: { schema: Type.String() },
            },
          },
          ...errors(400, 401, 403, 404, 429, 503),
        },
      },
      config: verifyAccess,
    },
    async (req, reply) => {
      const ledger = ledgerOf(req);
      const { index, size } = req.query;
      const mayRead = req.evident.key !== undefined && keyHasScope(req.evident.key, 'read');
      if (wantsTlogProof(req.headers.accept)) {
        // C2SP tlog-proof: against the published checkpoint (or the one signed at `size`).
        const text = await auditedRead(
          ctx,
          req,
          ledger,
          'audit_log.proof',
          { proof: 'inclusion', format: 'tlog-proof', index, ...(size !== undefined ? { size } : {}) },
          () => tlogProofFile(ledger, index, { ...(size !== undefined ? { size } : {}), leaf: mayRead }),
        );
        return reply.type(TLOG_PROOF_MEDIA_TYPE).header('cache-control', 'no-store').send(text);
      }
      return auditedRead(
        ctx,
        req,
        ledger,
        'audit_log.proof',
        { proof: 'inclusion', index, ...(size !== undefined ? { size } : {}) },
        async () => {
          const n = size ?? (await ledger.latestCheckpoint())?.size ?? 0;
          if (index >= n) {
            throw new EvidentError(ErrorCode.PROOF_RANGE, `leaf index ${index} is not below tree size ${n}`, {
              field: 'index',
              size: n,
            });
          }
          const p = await ledger.proveInclusion(index, n);
          const entry = await ledger.entryAt(index);
          return {
            index: p.index,
            size: p.size,
            leaf_hash: toBase64(fromHex(entry!.hash)),
            ...(mayRead ? { leaf: p.leaf } : {}),
            hashes: p.hashes,
          };
        },
        (r) => ({ size: r.size }),
      );
    },
  );

  app.get(
    '/v1/logs/:log/proof/consistency',
    {
      schema: {
        summary: 'Consistency proof',
        description:
          'Proves that the tree of size `to` extends the tree of size `from` (RFC 9162 §2.1.4). Scope: verify. ' +
          'Recorded as an audit_log.proof event.',
        tags: ['verify'],
        params: LogParams,
        querystring: ConsistencyQuery,
        response: { 200: ConsistencyProof, ...errors(400, 401, 403, 404, 429, 503) },
      },
      config: verifyAccess,
    },
    async (req) => {
      const ledger = ledgerOf(req);
      const { from, to } = req.query;
      if (from > to) {
        throw new EvidentError(ErrorCode.PROOF_RANGE, `from (${from}) must not exceed to (${to})`, {
          field: 'from',
        });
      }
      return auditedRead(
        ctx,
        req,
        ledger,
        'audit_log.proof',
        { proof: 'consistency', from, to },
        async () => ({
          from,
          to,
          hashes: await ledger.proveConsistency(from, to),
        }),
      );
    },
  );

  app.get(
    '/v1/logs/:log/key',
    {
      schema: {
        summary: 'Verifier key',
        description:
          "The log's note verifier key (<name>+<key id>+<base64>), text/plain. Compare it with the key " +
          'published out of band before trusting it. Scope: verify.',
        tags: ['verify'],
        params: LogParams,
        response: { 200: Text('The verifier key, one line.'), ...errors(400, 401, 403, 404, 429) },
      },
      config: { access: { scope: 'verify', action: 'audit_log.key' } },
    },
    async (req, reply) => reply.type('text/plain; charset=utf-8').send(`${ledgerOf(req).log.vkey}\n`),
  );
}
