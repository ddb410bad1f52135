/**
 * C2SP tlog-tiles paths and entry bundles, and C2SP tlog-proof files (src/core/tlog): the
 * spec's own examples, strict parsing, hostile bytes.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { utf8 } from '../../src/core/bytes.ts';
import { signCheckpoint } from '../../src/core/checkpoint.ts';
import { ErrorCode, isEvidentError } from '../../src/core/errors.ts';
import { leafHash } from '../../src/core/hash.ts';
import { referenceInclusionProof, referenceRoot } from '../../src/core/merkle/index.ts';
import { generateSigner, verifierFromKey } from '../../src/core/note-keys.ts';
import { encodeEntryBundle, parseEntryBundle } from '../../src/core/tlog/entry-bundle.ts';
import { formatTlogProof, parseTlogProof, verifyTlogProof } from '../../src/core/tlog/proof-file.ts';
import {
  formatTileIndex,
  parseTilePath,
  tileLevels,
  tilePath,
  tileWidthAt,
} from '../../src/core/tlog/tile-path.ts';

const code = (c: string) => (e: unknown) => isEvidentError(e) && e.code === c;

describe('tlog-tiles paths', () => {
  it('writes the index in x-prefixed 3-digit elements (the spec: 1234067 is x001/x234/067)', () => {
    assert.equal(formatTileIndex(1_234_067), 'x001/x234/067');
    assert.equal(formatTileIndex(0), '000');
    assert.equal(formatTileIndex(999), '999');
    assert.equal(formatTileIndex(1000), 'x001/000');
    assert.equal(tilePath({ level: 0, index: 1_234_067, width: 256 }), 'tile/0/x001/x234/067');
    assert.equal(tilePath({ level: 2, index: 5, width: 17 }), 'tile/2/005.p/17');
    assert.equal(tilePath({ level: 'entries', index: 1000, width: 1 }), 'tile/entries/x001/000.p/1');
  });

  it('parses what it writes, and only that', () => {
    for (const t of [
      { level: 0, index: 0, width: 256 },
      { level: 63, index: 2 ** 50, width: 255 },
      { level: 'entries' as const, index: 1_234_067, width: 3 },
    ]) {
      assert.deepEqual(parseTilePath(tilePath(t).slice('tile/'.length)), t);
    }
    for (const [rest, rule] of [
      ['0/x000/001', 'canonical'],
      ['0/000.p/256', 'width'],
      ['01/000', 'level'],
      ['0/01', 'index'],
      ['0/x1/000', 'index'],
      ['0/001.P/5', 'index'],
      ['entries', 'format'],
    ]) {
      assert.throws(
        () => parseTilePath(rest!),
        (e) =>
          isEvidentError(e, ErrorCode.VALIDATION_FAILED) &&
          (e.details['issues'] as { rule: string }[])[0]!.rule === rule,
        rest,
      );
    }
  });

  it('sizes tiles as the spec does: 70,000 leaves', () => {
    // "273 full level 0 tiles, one partial level 0 tile of width 112, one full level 1 tile, one
    // partial level 1 tile of width 17, and one partial level 2 tile of width 1"
    assert.equal(tileWidthAt(0, 272, 70_000), 256);
    assert.equal(tileWidthAt(0, 273, 70_000), 112);
    assert.equal(tileWidthAt(0, 274, 70_000), 0);
    assert.equal(tileWidthAt(1, 0, 70_000), 256);
    assert.equal(tileWidthAt(1, 1, 70_000), 17);
    assert.equal(tileWidthAt(2, 0, 70_000), 1);
    assert.equal(tileLevels(70_000), 3);
    // "a tree of size 256 will be represented by a full level 0 tile and a partial level 1 tile of width 1"
    assert.deepEqual([tileWidthAt(0, 0, 256), tileWidthAt(1, 0, 256), tileLevels(256)], [256, 1, 2]);
    assert.equal(tileLevels(0), 0);
  });
});

describe('entry bundles', () => {
  it('round-trips uint16 and uint32 length prefixes', () => {
    const leaves = [utf8('a'), new Uint8Array(0), utf8('{"x":1}')];
    const b = encodeEntryBundle(leaves);
    assert.deepEqual([...b.subarray(0, 3)], [0, 1, 0x61]);
    assert.deepEqual(parseEntryBundle(b), leaves);
    assert.deepEqual(parseEntryBundle(encodeEntryBundle(leaves, 4), 4), leaves);
  });

  it('refuses an entry over 65,535 bytes in a C2SP bundle, and hostile bundles', () => {
    assert.throws(() => encodeEntryBundle([new Uint8Array(65_536)]), code(ErrorCode.TILE_ENTRY_TOO_LARGE));
    assert.equal(encodeEntryBundle([new Uint8Array(65_535)]).length, 65_537);
    assert.throws(() => parseEntryBundle(new Uint8Array([0, 5, 1, 2])), code(ErrorCode.BUNDLE_INVALID));
    assert.throws(() => parseEntryBundle(new Uint8Array([0])), code(ErrorCode.BUNDLE_INVALID));
    assert.throws(() => parseEntryBundle(new Uint8Array(257 * 2)), code(ErrorCode.BUNDLE_INVALID));
  });
});

describe('tlog-proof files', () => {
  const s = generateSigner('example.com/log');
  const leaves = Array.from({ length: 13 }, (_, i) => utf8(`entry ${i}`));
  const hashes = leaves.map(leafHash);
  const note = signCheckpoint(
    { origin: 'example.com/log', size: 13, rootHash: referenceRoot(hashes) },
    s.signer,
  );
  const verifiers = [verifierFromKey(s.verifierKey)];
  const file = formatTlogProof({
    index: 5,
    hashes: referenceInclusionProof(5, hashes),
    checkpoint: note,
    extra: leaves[5]!,
  });

  it('formats as the spec shows and verifies', () => {
    const lines = file.split('\n');
    assert.equal(lines[0], 'c2sp.org/tlog-proof@v1');
    assert.match(lines[1]!, /^extra [A-Za-z0-9+/]+=*$/);
    assert.equal(lines[2], 'index 5');
    assert.ok(file.endsWith(note));
    assert.deepEqual(parseTlogProof(file).extra, leaves[5]);
    assert.equal(verifyTlogProof(file, { verifiers }).index, 5);
    assert.equal(verifyTlogProof(file, { verifiers, leaf: leaves[5]! }).leafFromExtra, false);
    // a tree of one leaf: no proof lines at all
    const one = signCheckpoint({ origin: 'example.com/log', size: 1, rootHash: hashes[0]! }, s.signer);
    const single = formatTlogProof({ index: 0, hashes: [], checkpoint: one });
    assert.equal(single, `c2sp.org/tlog-proof@v1\nindex 0\n\n${one}`);
    verifyTlogProof(single, { verifiers, leaf: leaves[0]! });
  });

  it('rejects another leaf, another origin, a proof of another log', () => {
    const rejected = (cause: string) => (e: unknown) =>
      isEvidentError(e, ErrorCode.TLOG_PROOF_REJECTED) && e.details['cause'] === cause;
    assert.throws(
      () => verifyTlogProof(file, { verifiers, leaf: leaves[6]! }),
      rejected('PROOF_ROOT_MISMATCH'),
    );
    assert.throws(
      () => verifyTlogProof(file, { verifiers, origin: 'example.com/other' }),
      rejected('CHECKPOINT_MALFORMED'),
    );
    const impostor = generateSigner('example.com/log');
    assert.throws(
      () => verifyTlogProof(file, { verifiers: [verifierFromKey(impostor.verifierKey)] }),
      rejected('NOTE_UNVERIFIED'),
    );
  });

  it('refuses malformed files with TLOG_PROOF_MALFORMED and the reason', () => {
    const bad: [string, string][] = [
      ['', 'structure'],
      [file.replace('index 5', 'index -5'), 'index'],
      [file.replace('index 5', 'index 5 '), 'index'],
      [file.replace(/^extra .*$/m, 'extra ***'), 'extra'],
      [file.replace('\n\n', '\nnot-a-hash\n\n'), 'hash'],
      [file.replace('c2sp.org/tlog-proof@v1', 'C2SP.org/tlog-proof@v1'), 'header'],
      [`${file.split('\n\n')[0]}\n\nexample.com/log\n13\n`, 'checkpoint'],
      [file.replace(/\n/g, '\r\n'), 'carriage-return'],
    ];
    for (const [text, reason] of bad) {
      assert.throws(
        () => parseTlogProof(text),
        (e) => isEvidentError(e, ErrorCode.TLOG_PROOF_MALFORMED) && e.details['reason'] === reason,
        reason,
      );
    }
    assert.throws(() => parseTlogProof(new Uint8Array([0xff, 0xfe])), code(ErrorCode.TLOG_PROOF_MALFORMED));
  });
});
