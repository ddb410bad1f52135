/**
 * The log as C2SP tlog-tiles (https://c2sp.org/tlog-tiles): the checkpoint, hash tiles and
 * entry bundles, read from the store. The HTTP routes and `evident export --tiles` both build
 * every byte they serve here, so a static copy equals what the server answers.
 *
 * Where the hashes come from: a hash tile at tile level L, index N, width W is the nodes of
 * tree level 8L, indexes 256N to 256N + W − 1. Every one of them is the root of a perfect
 * subtree of 256^L leaves, and the store keeps each such node once it is complete (level 0:
 * the entries' own hashes; above: tree_nodes, one row per node, on SQLite keyed by the tile
 * it belongs to), so a tile is one range read (Store.nodeRange), never a computation.
 *
 * Nothing beyond the served checkpoint is ever answered: tiles are cut at its tree size.
 */

import { fromBase64, toHex } from '../core/bytes.ts';
import { ErrorCode, EvidentError } from '../core/errors.ts';
import { leafBytes } from '../core/event/entry.ts';
import { leafHash } from '../core/hash.ts';
import { encodeEntryBundle, type LengthBytes, MAX_BUNDLE_ENTRY } from '../core/tlog/entry-bundle.ts';
import { formatTlogProof } from '../core/tlog/proof-file.ts';
import { TILE_HEIGHT, TILE_WIDTH, type TileId, tilePath, tileWidthAt } from '../core/tlog/tile-path.ts';
import type { StoredCheckpoint } from '../store/types.ts';
import { cosignedNote } from './cosigned.ts';
import type { Ledger } from './ledger.ts';

/** Where entry bundles that hold an entry over 65,535 bytes are served, beside `tile/`. */
export const LARGE_BUNDLE_DIR = 'entries-u32';

/**
 * The checkpoint evident publishes: served at `<prefix>/checkpoint`, written by `export --tiles`,
 * embedded in tlog-proof files, and the tree size that bounds every tile. The ONE place that
 * picks it (the latest signed checkpoint's note, byte-exact), so that whatever it should carry
 * (cosignatures) reaches every copy. With `size`, the checkpoint signed at that size.
 */
export async function publishedCheckpoint(
  ledger: Ledger,
  size?: number,
): Promise<StoredCheckpoint | undefined> {
  const cp = await (size === undefined ? ledger.latestCheckpoint() : ledger.checkpointAt(size));
  // With the witness cosignatures gathered so far (C2SP tlog-cosignature): each copy of the
  // checkpoint (tiles, export --tiles, tlog-proof files) then carries what a verifier's
  // witness policy asks for.
  return cp && { ...cp, note: await cosignedNote(ledger.store, ledger.log.id, cp) };
}

function notFound(t: TileId, size: number): EvidentError {
  return new EvidentError(
    ErrorCode.NOT_FOUND,
    `${tilePath(t)} does not exist in the tree of size ${size} (the published checkpoint's)`,
    { field: 'path', size },
  );
}

/** Throws NOT_FOUND unless the tile exists, with at least its width, in the tree of `size`. */
function checkExists(t: TileId, size: number): void {
  const level = t.level === 'entries' ? 0 : t.level;
  if (t.width > tileWidthAt(level, t.index, size)) throw notFound(t, size);
}

/** The bytes of a hash tile: its W hashes concatenated (W × 32 bytes). */
export async function readHashTile(ledger: Ledger, t: TileId, size: number): Promise<Uint8Array> {
  if (t.level === 'entries') throw new TypeError('an entry bundle is not a hash tile');
  checkExists(t, size);
  const from = t.index * TILE_WIDTH;
  const hashes = await ledger.store.nodeRange(ledger.log.id, t.level * TILE_HEIGHT, from, from + t.width);
  if (hashes.length !== t.width) {
    // Inside the signed tree every node is stored: one missing is a damaged or edited store.
    throw new EvidentError(
      ErrorCode.TAMPER_DETECTED,
      `integrity alarm: tree node level ${t.level * TILE_HEIGHT} index ${from + hashes.length} is missing; run evident verify`,
      { rule: 'tile_mismatch', level: t.level * TILE_HEIGHT, node_index: from + hashes.length },
    );
  }
  const out = new Uint8Array(t.width * 32);
  for (const [i, h] of hashes.entries()) out.set(h, i * 32);
  return out;
}

/** The leaf bytes of the entries of bundle `t`, each checked against its recorded hash. */
export async function readBundleLeaves(ledger: Ledger, t: TileId, size: number): Promise<Uint8Array[]> {
  checkExists(t, size);
  const from = t.index * TILE_WIDTH;
  const entries = await ledger.store.entries(ledger.log.id, from, from + t.width, t.width);
  const leaves: Uint8Array[] = [];
  for (const [i, e] of entries.entries()) {
    // Leaf bytes carry the commitments of erasable fields, never their values (docs/formats.md).
    const bytes = leafBytes(e);
    if (e.index !== from + i || toHex(leafHash(bytes)) !== e.hash) break;
    leaves.push(bytes);
  }
  if (leaves.length !== t.width) {
    throw new EvidentError(
      ErrorCode.TAMPER_DETECTED,
      `integrity alarm: entry ${from + leaves.length} is missing or does not hash to its recorded hash; run evident verify`,
      { rule: 'tile_mismatch', index: from + leaves.length },
    );
  }
  return leaves;
}

/**
 * An entry bundle, C2SP (uint16 lengths) or evident's large-entry format (uint32): the C2SP
 * one is TILE_ENTRY_TOO_LARGE when an entry is over 65,535 bytes, with the other's path.
 */
export function bundleBytes(leaves: readonly Uint8Array[], t: TileId, lengthBytes: LengthBytes): Uint8Array {
  if (lengthBytes === 2) {
    const at = leaves.findIndex((l) => l.length > MAX_BUNDLE_ENTRY);
    if (at >= 0) {
      throw new EvidentError(
        ErrorCode.TILE_ENTRY_TOO_LARGE,
        `entry ${t.index * TILE_WIDTH + at} is ${leaves[at]!.length} bytes, over the ${MAX_BUNDLE_ENTRY} a tlog-tiles entry bundle holds: read ${largeBundlePath(t)}`,
        {
          index: t.index * TILE_WIDTH + at,
          position: at,
          bytes: leaves[at]!.length,
          max: MAX_BUNDLE_ENTRY,
          alternative: largeBundlePath(t),
        },
      );
    }
  }
  return encodeEntryBundle(leaves, lengthBytes);
}

/** `entries-u32/<N>[.p/<W>]`: the same tiling as `tile/entries/`. */
export function largeBundlePath(t: TileId): string {
  return `${LARGE_BUNDLE_DIR}/${tilePath({ ...t, level: 'entries' }).slice('tile/entries/'.length)}`;
}

/** Whether any of these leaves is too large for a C2SP entry bundle. */
export function needsLargeBundle(leaves: readonly Uint8Array[]): boolean {
  return leaves.some((l) => l.length > MAX_BUNDLE_ENTRY);
}

/**
 * A C2SP tlog-proof file for entry `index`: its inclusion proof in the tree of the published
 * checkpoint (or of the one signed at `size`), with that checkpoint verbatim. With `leaf`, the
 * entry's leaf bytes go in the `extra` line, so the file proves itself without the entry.
 */
export async function tlogProofFile(
  ledger: Ledger,
  index: number,
  o: { size?: number; leaf: boolean },
): Promise<string> {
  const cp = await publishedCheckpoint(ledger, o.size);
  if (!cp) {
    throw new EvidentError(
      ErrorCode.NOT_FOUND,
      o.size === undefined
        ? 'no checkpoint has been signed yet'
        : `no checkpoint was signed at tree size ${o.size}`,
      { field: 'size' },
    );
  }
  if (index >= cp.size) {
    throw new EvidentError(ErrorCode.PROOF_RANGE, `leaf index ${index} is not below tree size ${cp.size}`, {
      field: 'index',
      index,
      size: cp.size,
    });
  }
  const p = await ledger.proveInclusion(index, cp.size);
  return formatTlogProof({
    index,
    hashes: p.hashes.map((h) => fromBase64(h)),
    checkpoint: cp.note,
    ...(o.leaf ? { extra: fromBase64(p.leaf) } : {}),
  });
}
