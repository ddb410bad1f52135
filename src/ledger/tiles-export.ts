/**
 * `evident export --tiles DIR`: the log as a tree of static files, the same bytes the server
 * answers under `/v1/logs/{log}/tlog/` (./tiles.ts builds both), so any web server or bucket
 * serves the log read-only, and goes on serving it while evident is down.
 *
 * - Incremental: a full tile or bundle already in DIR is never rewritten (it cannot change);
 *   partial ones are named by their width, so a new width is a new file.
 * - Durable and atomic: each file is written beside its place, fsynced, renamed into place, and
 *   its directory fsynced; the checkpoint is replaced last, so a reader never sees a checkpoint
 *   whose tiles are not all there, and a crash never leaves a half-written tile behind.
 * - Streaming: one tile in memory at a time, whatever the size of the log.
 * - One log per DIR: a DIR holding another origin's checkpoint, or a larger one of this log
 *   (a rollback of the published copy), is refused.
 */
import { promises as fs } from 'node:fs';
import { dirname, join } from 'node:path';
import { parseCheckpoint } from '../core/checkpoint.ts';
import { ErrorCode, EvidentError } from '../core/errors.ts';
import { parseNote } from '../core/note.ts';
import { TILE_WIDTH, type TileId, tileLevels, tilePath, tileWidthAt } from '../core/tlog/tile-path.ts';
import { fsyncDir, writeSynced } from './durable.ts';
import type { Ledger } from './ledger.ts';
import {
  bundleBytes,
  largeBundlePath,
  needsLargeBundle,
  publishedCheckpoint,
  readBundleLeaves,
  readHashTile,
} from './tiles.ts';

export interface TileExportResult {
  /** The tree size of the checkpoint written. */
  size: number;
  /** Files written by this run (tiles, bundles, the checkpoint). */
  written: number;
  /** Tiles and bundles already present (full, or partial of the same width), left as they were. */
  kept: number;
  bytes: number;
}

export interface TileExportOptions {
  onProgress?: (filesDone: number) => void;
}

function usage(message: string, details: Record<string, unknown>): EvidentError {
  return new EvidentError(ErrorCode.USAGE, message, { field: '--tiles', ...details });
}

async function exists(path: string): Promise<boolean> {
  try {
    await fs.stat(path);
    return true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw e;
  }
}

/** Writes a file atomically and durably (its directory is fsynced later, by the caller). */
async function writeAtomic(path: string, bytes: Uint8Array | string): Promise<void> {
  await fs.mkdir(dirname(path), { recursive: true });
  const tmp = `${path}.${process.pid}.tmp`;
  await writeSynced(tmp, bytes, 'w', 0o644);
  await fs.rename(tmp, path);
}

/** Refuses a DIR that holds another log's checkpoint, or a larger one of this log. */
async function checkDir(dir: string, origin: string, size: number): Promise<void> {
  let old: string;
  try {
    old = await fs.readFile(join(dir, 'checkpoint'), 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw usage(`cannot read ${join(dir, 'checkpoint')}: ${(e as Error).message}`, { path: dir });
  }
  let cp: ReturnType<typeof parseCheckpoint>;
  try {
    cp = parseCheckpoint(parseNote(old).text);
  } catch {
    throw usage(`${join(dir, 'checkpoint')} is not a checkpoint: not a tiles directory of this log`, {
      path: dir,
      rule: 'not-tiles',
    });
  }
  if (cp.origin !== origin) {
    throw usage(`${dir} holds the tiles of ${cp.origin}, not of ${origin}`, { path: dir, rule: 'other-log' });
  }
  if (cp.size > size) {
    throw usage(
      `${dir} already holds a checkpoint of size ${cp.size}, larger than this log's ${size}: refusing to roll it back`,
      { path: dir, rule: 'rollback', size: cp.size },
    );
  }
}

export async function exportTiles(
  ledger: Ledger,
  dir: string,
  o: TileExportOptions = {},
): Promise<TileExportResult> {
  const cp = await publishedCheckpoint(ledger);
  if (!cp)
    throw new EvidentError(ErrorCode.NOT_FOUND, 'no checkpoint has been signed yet: run evident checkpoint');
  const size = cp.size;
  await fs.mkdir(dir, { recursive: true });
  await checkDir(dir, ledger.log.origin, size);
  const result: TileExportResult = { size, written: 0, kept: 0, bytes: 0 };
  const dirty = new Set<string>();
  const put = async (rel: string, bytes: Uint8Array | string) => {
    const path = join(dir, rel);
    await writeAtomic(path, bytes);
    // The new file's directory, and every directory mkdir may have created above it.
    for (let d = dirname(path); d.length >= dir.length && !dirty.has(d); d = dirname(d)) dirty.add(d);
    result.written++;
    result.bytes += typeof bytes === 'string' ? Buffer.byteLength(bytes) : bytes.length;
    o.onProgress?.(result.written + result.kept);
  };

  for (let level = 0; level < tileLevels(size); level++) {
    const onLevel = Math.floor(size / TILE_WIDTH ** level);
    const tiles = Math.ceil(onLevel / TILE_WIDTH);
    for (let index = 0; index < tiles; index++) {
      const t: TileId = { level, index, width: tileWidthAt(level, index, size) };
      const rel = tilePath(t);
      if (await exists(join(dir, rel))) result.kept++;
      else await put(rel, await readHashTile(ledger, t, size));
      if (level !== 0) continue;
      // The entries of the same range: in the C2SP bundle, or in the uint32 one if an entry is too large.
      const b: TileId = { ...t, level: 'entries' };
      const small = tilePath(b);
      const large = largeBundlePath(b);
      if ((await exists(join(dir, small))) || (await exists(join(dir, large)))) {
        result.kept++;
        continue;
      }
      const leaves = await readBundleLeaves(ledger, b, size);
      if (needsLargeBundle(leaves)) await put(large, bundleBytes(leaves, b, 4));
      else await put(small, bundleBytes(leaves, b, 2));
    }
  }
  // Every tile durable before the checkpoint that points at them is.
  for (const d of [...dirty].sort((a, b) => b.length - a.length)) await fsyncDir(d);
  dirty.clear();
  await writeAtomic(join(dir, 'checkpoint'), cp.note);
  await fsyncDir(dir);
  result.written++;
  result.bytes += Buffer.byteLength(cp.note);
  return result;
}
