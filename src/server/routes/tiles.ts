/**
 * The log as C2SP tlog-tiles (https://c2sp.org/tlog-tiles), under the prefix
 * `/v1/logs/{log}/tlog/`: `checkpoint`, hash tiles `tile/<L>/<N>[.p/<W>]`, entry bundles
 * `tile/entries/<N>[.p/<W>]`, and bundles with an entry over 65,535 bytes at
 * `entries-u32/<N>[.p/<W>]` (uint32 lengths; see ../../ledger/tiles.ts). Every byte comes from
 * ../../ledger/tiles.ts, which `evident export --tiles` also writes from.
 *
 * Scopes: the checkpoint and hash tiles reveal no entry: scope verify (public with
 * publicVerify), not recorded (like the checkpoint route). Entry bundles carry the entries:
 * scope read, and each read is recorded as an audit_log.entries event before it is answered.
 *
 * Caching: full tiles never change (`max-age=31536000, immutable`); partial tiles and the
 * checkpoint are short-lived. `public` only where the log is public for that route; a key's
 * answers are `private`, so no shared cache hands them to someone without the key.
 */
import { gzipSync } from 'node:zlib';
import type { FastifyReply } from 'fastify';
import { ErrorCode, EvidentError } from '../../core/errors.ts';
import type { LengthBytes } from '../../core/tlog/entry-bundle.ts';
import { parseTilePath, TILE_WIDTH, type TileId } from '../../core/tlog/tile-path.ts';
import type { Ledger } from '../../ledger/ledger.ts';
import { bundleBytes, publishedCheckpoint, readBundleLeaves, readHashTile } from '../../ledger/tiles.ts';
import { auditedRead } from '../access-audit.ts';
import { ledgerOf, type ServerContext } from '../context.ts';
import { Binary, errors, LogParams, Text, TileParams } from '../schemas.ts';
import type { App } from '../type-provider.ts';

const IMMUTABLE = 'max-age=31536000, immutable';
const SHORT = 'max-age=60';
const CHECKPOINT = 'max-age=5';

async function servedSize(ledger: Ledger): Promise<number> {
  const cp = await publishedCheckpoint(ledger);
  if (!cp)
    throw new EvidentError(ErrorCode.NOT_FOUND, 'no checkpoint has been signed yet', { field: 'path' });
  return cp.size;
}

export function tileRoutes(app: App, ctx: ServerContext): void {
  const prefix = '/v1/logs/:log/tlog';
  const visibility = (log: string, scope: 'verify' | 'read') =>
    scope === 'verify' && ctx.options.publicVerify.includes(log) ? 'public' : 'private';

  app.get(
    `${prefix}/checkpoint`,
    {
      schema: {
        summary: 'tlog-tiles checkpoint',
        description:
          'The checkpoint the tiles are cut at (C2SP tlog-tiles "Checkpoints"): the latest signed one, ' +
          'byte-exact, text/plain; cached for 5 seconds at most. Scope: verify.',
        tags: ['tiles'],
        params: LogParams,
        response: { 200: Text('The signed note.'), ...errors(400, 401, 403, 404, 429) },
      },
      config: { access: { scope: 'verify', action: 'audit_log.checkpoint' } },
    },
    async (req, reply) => {
      const ledger = ledgerOf(req);
      const cp = await publishedCheckpoint(ledger);
      if (!cp)
        throw new EvidentError(ErrorCode.NOT_FOUND, 'no checkpoint has been signed yet', { field: 'path' });
      return reply
        .type('text/plain; charset=utf-8')
        .header('cache-control', `${visibility(req.params.log, 'verify')}, ${CHECKPOINT}`)
        .send(cp.note);
    },
  );

  app.get(
    `${prefix}/tile/*`,
    {
      schema: {
        summary: 'tlog-tiles hash tile',
        description:
          'tile/<L>/<N>[.p/<W>]: the W (256 for a full tile) Merkle tree hashes of level 8L, indexes ' +
          '256N to 256N+W-1, concatenated (C2SP tlog-tiles). 404 beyond the checkpoint; 400 for a ' +
          'malformed path (rule level, index, width, canonical or format). Scope: verify.',
        tags: ['tiles'],
        params: TileParams,
        response: { 200: Binary('The hashes, 32 bytes each.'), ...errors(400, 401, 403, 404, 429, 500) },
      },
      config: { access: { scope: 'verify', action: 'audit_log.tile' } },
    },
    async (req, reply) => {
      const ledger = ledgerOf(req);
      const t = parseTilePath(req.params['*']);
      if (t.level === 'entries') throw new TypeError('unreachable: tile/entries/ has its own route');
      const bytes = await readHashTile(ledger, t, await servedSize(ledger));
      return sendTile(reply, t, bytes, visibility(req.params.log, 'verify'));
    },
  );

  const bundleRoute = (path: string, lengthBytes: LengthBytes, summary: string, description: string) =>
    app.get(
      path,
      {
        schema: {
          summary,
          description,
          tags: ['tiles'],
          params: TileParams,
          response: { 200: Binary('The entry bundle.'), ...errors(400, 401, 403, 404, 429, 500, 503) },
        },
        config: { access: { scope: 'read', action: 'audit_log.entries' } },
      },
      async (req, reply) => {
        const ledger = ledgerOf(req);
        const rest = req.params['*'];
        const t = parseTilePath(`entries/${rest}`);
        const bytes = await auditedRead(
          ctx,
          req,
          ledger,
          'audit_log.entries',
          { bundle: t.index, width: t.width, format: lengthBytes === 2 ? 'tlog-tiles' : 'u32' },
          async () =>
            bundleBytes(await readBundleLeaves(ledger, t, await servedSize(ledger)), t, lengthBytes),
        );
        // tlog-tiles: entry bundles SHOULD be compressed at the HTTP layer.
        const gzip = /\bgzip\b/.test(String(req.headers['accept-encoding'] ?? ''));
        reply.header('vary', 'accept-encoding');
        if (gzip) reply.header('content-encoding', 'gzip');
        return sendTile(reply, t, gzip ? gzipSync(bytes) : bytes, 'private');
      },
    );

  bundleRoute(
    `${prefix}/tile/entries/*`,
    2,
    'tlog-tiles entry bundle',
    'tile/entries/<N>[.p/<W>]: the leaf bytes of entries 256N to 256N+W-1, each prefixed with its ' +
      'length as a big-endian uint16 (C2SP tlog-tiles). Leaf bytes hold the commitments of erasable ' +
      'fields, never their values. A bundle with an entry over 65,535 bytes is TILE_ENTRY_TOO_LARGE ' +
      '(404): read it from entries-u32/. Gzip-compressed when asked. Scope: read; recorded as an ' +
      'audit_log.entries event.',
  );
  bundleRoute(
    `${prefix}/entries-u32/*`,
    4,
    'Entry bundle with uint32 lengths',
    'entries-u32/<N>[.p/<W>]: the same entries as tile/entries/<N>[.p/<W>], each prefixed with its ' +
      'length as a big-endian uint32: for bundles holding an entry over 65,535 bytes. Scope: read; ' +
      'recorded as an audit_log.entries event.',
  );
}

function sendTile(reply: FastifyReply, t: TileId, bytes: Uint8Array, visibility: 'public' | 'private') {
  return reply
    .type('application/octet-stream')
    .header('cache-control', `${visibility}, ${t.width === TILE_WIDTH ? IMMUTABLE : SHORT}`)
    .send(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
}
