/**
 * C2SP tlog-tiles paths (https://c2sp.org/tlog-tiles, "Merkle Tree" and "Log entries"):
 *
 *   tile/<L>/<N>[.p/<W>]        hash tile: level L (0..63), index N, width W (1..255) if partial
 *   tile/entries/<N>[.p/<W>]    entry bundle with the same N and W as the level-0 tile
 *
 * N is written in zero-padded 3-digit path elements, all but the last prefixed with `x`
 * (1234067 is `x001/x234/067`). The tile height is always 8: a full tile holds 256 hashes.
 * Parsing is strict: a path is accepted only if formatting what it names gives the same text
 * back (no `x000/` lead, no `.p/256`, no leading zeros), as golang.org/x/mod/sumdb/tlog does.
 */
import { ValidationError } from '../errors.ts';

/** Tile height (C2SP tlog-tiles): each tile spans 8 levels of the tree. */
export const TILE_HEIGHT = 8;
/** Hashes in a full tile: 2^TILE_HEIGHT. */
export const TILE_WIDTH = 256;
/** The largest level a path may name (tlog-tiles: "between 0 and 63"). */
export const MAX_TILE_LEVEL = 63;

/** A hash tile (`level` 0..63) or an entry bundle (`level` 'entries'); `width` 1..256. */
export interface TileId {
  level: number | 'entries';
  index: number;
  width: number;
}

const DIGITS3 = /^[0-9]{3}$/;
const DECIMAL = /^(?:0|[1-9][0-9]*)$/;

function bad(rule: string, message: string): ValidationError {
  return new ValidationError([{ field: 'path', rule, message }]);
}

/** `N` as tlog-tiles writes it: `x001/x234/067`. */
export function formatTileIndex(index: number): string {
  if (!Number.isSafeInteger(index) || index < 0) throw bad('index', 'a tile index is a non-negative integer');
  let n = index;
  let out = String(n % 1000).padStart(3, '0');
  while (n >= 1000) {
    n = Math.floor(n / 1000);
    out = `x${String(n % 1000).padStart(3, '0')}/${out}`;
  }
  return out;
}

/** The path of a tile, relative to the log's prefix: `tile/0/x001/234.p/5`. */
export function tilePath(t: TileId): string {
  const level = t.level === 'entries' ? 'entries' : String(t.level);
  if (t.level !== 'entries' && (!Number.isInteger(t.level) || t.level < 0 || t.level > MAX_TILE_LEVEL)) {
    throw bad('level', `a tile level is an integer from 0 to ${MAX_TILE_LEVEL}`);
  }
  if (!Number.isInteger(t.width) || t.width < 1 || t.width > TILE_WIDTH) {
    throw bad('width', `a tile width is an integer from 1 to ${TILE_WIDTH}`);
  }
  const partial = t.width === TILE_WIDTH ? '' : `.p/${t.width}`;
  return `tile/${level}/${formatTileIndex(t.index)}${partial}`;
}

/**
 * Parses the part of a tile path after `tile/` (`0/x001/234.p/5`, `entries/000`). Throws
 * VALIDATION_FAILED, field `path`, with the rule broken: `level`, `index`, `width`, `canonical`.
 */
export function parseTilePath(rest: string): TileId {
  if (typeof rest !== 'string' || rest.length > 200)
    throw bad('format', 'a tile path is at most 200 characters');
  const f = rest.split('/');
  if (f.length < 2) throw bad('format', 'a tile path is tile/<L>/<N>[.p/<W>] or tile/entries/<N>[.p/<W>]');
  const l = f[0]!;
  let level: number | 'entries';
  if (l === 'entries') level = 'entries';
  else {
    if (!DECIMAL.test(l) || Number(l) > MAX_TILE_LEVEL) {
      throw bad(
        'level',
        `the tile level must be a decimal integer from 0 to ${MAX_TILE_LEVEL}, without leading zeros`,
      );
    }
    level = Number(l);
  }
  let width = TILE_WIDTH;
  let parts = f.slice(1);
  const last = parts[parts.length - 2];
  if (parts.length >= 2 && last !== undefined && last.endsWith('.p')) {
    const w = parts[parts.length - 1]!;
    if (!DECIMAL.test(w) || Number(w) < 1 || Number(w) >= TILE_WIDTH) {
      throw bad('width', `a partial tile's width must be a decimal integer from 1 to ${TILE_WIDTH - 1}`);
    }
    width = Number(w);
    parts = [...parts.slice(0, -2), last.slice(0, -2)];
  }
  let index = 0;
  for (const [i, s] of parts.entries()) {
    const isLast = i === parts.length - 1;
    const digits = isLast ? s : s.startsWith('x') ? s.slice(1) : undefined;
    if (digits === undefined || !DIGITS3.test(digits)) {
      throw bad(
        'index',
        'the tile index must be 3-digit path elements, every one but the last prefixed with x (x001/x234/067)',
      );
    }
    index = index * 1000 + Number(digits);
    if (!Number.isSafeInteger(index)) throw bad('index', 'the tile index is too large');
  }
  const t: TileId = { level, index, width };
  if (tilePath(t) !== `tile/${rest}`) {
    throw bad(
      'canonical',
      `the canonical path of this tile is ${tilePath(t)} (no x000 lead, no leading zeros)`,
    );
  }
  return t;
}

/**
 * The tile a tree node belongs to: tile level floor(level / 8) holds tree levels 8L to 8L + 7,
 * the hashes of level 8L it stores and the levels up to 8L + 7 computed from them; a node of
 * level l and index i lies in its tile floor(i / 2^(8 − l mod 8)). Arithmetic, not shifts:
 * indexes go beyond 32 bits. (The SQLite store keys its tree nodes by it.)
 */
export function nodeTile(level: number, index: number): [tileLevel: number, tileIndex: number] {
  return [Math.floor(level / TILE_HEIGHT), Math.floor(index / 2 ** (TILE_HEIGHT - (level % TILE_HEIGHT)))];
}

/**
 * The hashes available in tile (level, index) of a tree of `size`: 256 for a full tile, 1..255
 * for the partial one at the right edge, 0 when it does not exist (tlog-tiles, "Partial Tiles":
 * floor(size / 256^level) hashes on that tile level, 256 per tile).
 */
export function tileWidthAt(level: number, index: number, size: number): number {
  const onLevel = Math.floor(size / TILE_WIDTH ** level);
  return Math.max(0, Math.min(TILE_WIDTH, onLevel - index * TILE_WIDTH));
}

/** The number of tile levels of a tree of `size`: levels with at least one hash (0 for the empty tree). */
export function tileLevels(size: number): number {
  let levels = 0;
  while (Math.floor(size / TILE_WIDTH ** levels) >= 1) levels++;
  return levels;
}
