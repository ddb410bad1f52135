/**
 * The log as C2SP tlog-tiles over HTTP (src/server/routes/tiles.ts): byte-exact tiles and entry
 * bundles, partial tiles, nothing beyond the checkpoint, precise 400s, scopes and cache
 * headers, large entries, erasable values, one store read per tile, tlog-proof answers, and
 * `export --tiles` writing exactly the bytes the server answers.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { gunzipSync } from 'node:zlib';
import { concatBytes, fromHex, toHex } from '../../src/core/bytes.ts';
import { ErrorCode, isEvidentError } from '../../src/core/errors.ts';
import type { Entry } from '../../src/core/event/entry.ts';
import { leafBytes } from '../../src/core/event/entry.ts';
import { leafHash } from '../../src/core/hash.ts';
import { referenceRoot } from '../../src/core/merkle/index.ts';
import { type NoteVerifier, verifierFromKey } from '../../src/core/note-keys.ts';
import { parseEntryBundle } from '../../src/core/tlog/entry-bundle.ts';
import { parseTlogProof, TLOG_PROOF_MEDIA_TYPE, verifyTlogProof } from '../../src/core/tlog/proof-file.ts';
import { Ledger } from '../../src/ledger/ledger.ts';
import { exportTiles } from '../../src/ledger/tiles-export.ts';
import type { FullStore } from '../../src/store/open.ts';
import { ERASURE_KEY } from '../ledger/support.ts';
import { event, type Fixture, setup } from './helpers.ts';

const SIZE = 600;
const LARGE_AT = 520;
const SECRET_AT = 7;
const P = '/v1/logs/default/tlog';
/** Checkpoints only when a key asks (or at a ledger's first commit): the tests fix the tree's size. */
const FIXED_CHECKPOINT = {
  checkpointIntervalMs: 3_600_000,
  ledger: { checkpointIntervalMs: 3_600_000 },
} as const;

/** Counts calls to each store method (the server's reads), so a test can see what a tile costs. */
function counting(calls: Map<string, number>) {
  return (s: FullStore): FullStore =>
    new Proxy(s, {
      get(target, prop) {
        const v = Reflect.get(target, prop, target);
        if (typeof v !== 'function') return v;
        return (...a: unknown[]) => {
          calls.set(String(prop), (calls.get(String(prop)) ?? 0) + 1);
          return v.apply(target, a);
        };
      },
    });
}

describe('tlog-tiles over HTTP', () => {
  let f: Fixture;
  let entries: Entry[];
  let verifier: NoteVerifier;
  const calls = new Map<string, number>();
  const get = (url: string, key?: string, headers: Record<string, string> = {}) =>
    f.app.inject({ method: 'GET', url, headers: { ...(key ? f.auth(key) : {}), ...headers } });
  const hashes = (from: number, to: number) =>
    concatBytes(...entries.slice(from, to).map((e) => fromHex(e.hash)));

  before(async () => {
    f = await setup({ ...FIXED_CHECKPOINT }, counting(calls));
    // the log already holds the ledger's own events (key creation): fill it up to SIZE
    const base = (await f.entries()).length;
    const evs = Array.from({ length: SIZE - base }, (_, j) => {
      const i = base + j;
      if (i === SECRET_AT) return event({ actor_id: 'subject-7', new_values: { ssn: 'SECRET-078-05-1120' } });
      if (i === LARGE_AT) return event({ metadata: { blob: 'x'.repeat(65_200) } });
      return event();
    });
    for (let i = 0; i < evs.length; i += 100) {
      const r = await f.app.inject({
        method: 'POST',
        url: '/v1/logs/default/events',
        headers: f.auth(f.keys.ingest),
        payload: evs.slice(i, i + 100),
      });
      assert.equal(r.statusCode, 201, r.body);
    }
    // a key's checkpoint request signs the tree as it is: size 600
    const cp = await get('/v1/logs/default/checkpoint', f.keys.verify);
    assert.match(cp.body, /\n600\n/);
    verifier = verifierFromKey((await get('/v1/logs/default/key', f.keys.verify)).body.trim());
    entries = (await f.entries()).slice(0, SIZE);
    assert.ok(leafBytes(entries[LARGE_AT]!).length > 65_535, 'the large entry is over a uint16');
  });
  after(async () => f.close());

  it('serves the published checkpoint, byte-exact and short-lived', async () => {
    const r = await get(`${P}/checkpoint`, f.keys.verify);
    assert.equal(r.statusCode, 200);
    assert.equal(r.body, (await get('/v1/logs/default/checkpoint?size=600', f.keys.verify)).body);
    assert.equal(r.headers['content-type'], 'text/plain; charset=utf-8');
    assert.equal(r.headers['cache-control'], 'private, max-age=5');
  });

  it('hash tiles are the concatenated node hashes: full, partial, and above level 0', async () => {
    const full = await get(`${P}/tile/0/001`, f.keys.verify);
    assert.equal(full.statusCode, 200);
    assert.equal(full.headers['content-type'], 'application/octet-stream');
    assert.equal(full.headers['cache-control'], 'private, max-age=31536000, immutable');
    assert.deepEqual(new Uint8Array(full.rawPayload), hashes(256, 512));
    const partial = await get(`${P}/tile/0/002.p/88`, f.keys.verify);
    assert.equal(partial.statusCode, 200);
    assert.equal(partial.headers['cache-control'], 'private, max-age=60');
    assert.deepEqual(new Uint8Array(partial.rawPayload), hashes(512, 600));
    // a narrower width of a tile that exists is its prefix (what an older checkpoint needed)
    assert.deepEqual(
      new Uint8Array((await get(`${P}/tile/0/000.p/5`, f.keys.verify)).rawPayload),
      hashes(0, 5),
    );
    // level 1: each hash is the root of a full level-0 tile (MTH of 256 leaves)
    const up = await get(`${P}/tile/1/000.p/2`, f.keys.verify);
    assert.equal(up.statusCode, 200);
    const leaves = entries.map((e) => fromHex(e.hash));
    assert.deepEqual(
      new Uint8Array(up.rawPayload),
      concatBytes(referenceRoot(leaves.slice(0, 256)), referenceRoot(leaves.slice(256, 512))),
    );
  });

  it('never serves what lies beyond the checkpoint: 404', async () => {
    for (const path of [
      'tile/0/003',
      'tile/0/002',
      'tile/0/002.p/89',
      'tile/1/000',
      'tile/1/000.p/3',
      'tile/2/000.p/1',
    ]) {
      const r = await get(`${P}/${path}`, f.keys.verify);
      assert.equal(r.statusCode, 404, path);
      assert.equal(r.json().code, ErrorCode.NOT_FOUND, path);
    }
    const r = await get(`${P}/tile/entries/003`, f.keys.read);
    assert.equal(r.statusCode, 404);
  });

  it('refuses malformed paths with 400 and the rule they break', async () => {
    const cases: [string, string][] = [
      ['tile/00/000', 'level'],
      ['tile/64/000', 'level'],
      ['tile/abc/000', 'level'],
      ['tile/0/1', 'index'],
      ['tile/0/0000', 'index'],
      ['tile/0/001/x002', 'index'],
      ['tile/0/-01', 'index'],
      ['tile/0/x000/001', 'canonical'],
      ['tile/0/000.p/256', 'width'],
      ['tile/0/000.p/0', 'width'],
      ['tile/0/000.p/05', 'width'],
      ['tile/0', 'format'],
      ['tile/entries/1', 'index'],
      ['tile/entries/000.p/300', 'width'],
    ];
    for (const [path, rule] of cases) {
      const r = await get(`${P}/${path}`, f.keys.auditor);
      assert.equal(r.statusCode, 400, path);
      const body = r.json();
      assert.equal(body.code, ErrorCode.VALIDATION_FAILED, path);
      assert.equal(body.issues[0].field, 'path', path);
      assert.equal(body.issues[0].rule, rule, path);
    }
  });

  it('scopes: hash tiles and the checkpoint need verify, entry bundles need read', async () => {
    assert.equal((await get(`${P}/tile/0/000`)).statusCode, 401);
    assert.equal((await get(`${P}/checkpoint`)).statusCode, 401);
    const noVerify = await get(`${P}/tile/0/000`, f.keys.read);
    assert.equal(noVerify.statusCode, 403);
    assert.equal(noVerify.json().rule, 'scope_missing');
    assert.equal((await get(`${P}/tile/entries/000`)).statusCode, 401);
    const noRead = await get(`${P}/tile/entries/000`, f.keys.verify);
    assert.equal(noRead.statusCode, 403);
    assert.equal(noRead.json().rule, 'scope_missing');
    const otherLog = await get(`${P}/tile/entries/000`, f.keys.other);
    assert.equal(otherLog.statusCode, 403);
    assert.equal(otherLog.json().rule, 'log_not_allowed');
    assert.equal((await get(`${P}/tile/entries/000`, f.keys.read)).statusCode, 200);
  });

  it('entry bundles hold each leaf, hashing to the level-0 tile; reads are recorded; gzip when asked', async () => {
    const before = (await f.entries()).length;
    const r = await get(`${P}/tile/entries/001`, f.keys.read);
    assert.equal(r.statusCode, 200);
    assert.equal(r.headers['cache-control'], 'private, max-age=31536000, immutable');
    const bytes = new Uint8Array(r.rawPayload);
    const leaves = parseEntryBundle(bytes);
    assert.equal(leaves.length, 256);
    const tile = new Uint8Array((await get(`${P}/tile/0/001`, f.keys.verify)).rawPayload);
    for (const [i, l] of leaves.entries()) {
      assert.equal(toHex(leafHash(l)), toHex(tile.subarray(i * 32, i * 32 + 32)), `entry ${256 + i}`);
    }
    const after = await f.entries();
    assert.equal(after.length, before + 1, 'one access event');
    const ev = after.at(-1)!;
    assert.equal(ev.action, 'audit_log.entries');
    assert.equal((ev.metadata as Record<string, unknown>)['bundle'], 1);
    const gz = await get(`${P}/tile/entries/001`, f.keys.read, { 'accept-encoding': 'gzip, identity' });
    assert.equal(gz.headers['content-encoding'], 'gzip');
    assert.deepEqual(new Uint8Array(gunzipSync(gz.rawPayload)), bytes);
  });

  it('erasable values never reach a bundle: the leaf holds their commitment', async () => {
    const text = Buffer.from((await get(`${P}/tile/entries/000`, f.keys.read)).rawPayload).toString('latin1');
    assert.ok(!text.includes('SECRET-078-05-1120'));
    assert.ok(text.includes(entries[SECRET_AT]!.commitments!.new_values!));
    assert.ok(entries[SECRET_AT]!.new_values !== undefined, 'the value is held, yet not served');
  });

  it('a bundle with an entry over 65,535 bytes is served with uint32 lengths at entries-u32/', async () => {
    const r = await get(`${P}/tile/entries/002.p/88`, f.keys.read);
    assert.equal(r.statusCode, 404);
    assert.equal(r.json().code, ErrorCode.TILE_ENTRY_TOO_LARGE);
    assert.match(r.json().message, new RegExp(`entry ${LARGE_AT} `));
    assert.equal(r.json().alternative, 'entries-u32/002.p/88');
    const big = await get(`${P}/entries-u32/002.p/88`, f.keys.read);
    assert.equal(big.statusCode, 200);
    const leaves = parseEntryBundle(new Uint8Array(big.rawPayload), 4);
    assert.deepEqual(
      concatBytes(...leaves.map((l) => leafHash(l))),
      new Uint8Array((await get(`${P}/tile/0/002.p/88`, f.keys.verify)).rawPayload),
    );
    // the entries before it still fit a C2SP bundle
    const small = await get(`${P}/tile/entries/002.p/8`, f.keys.read);
    assert.equal(small.statusCode, 200);
    assert.equal(parseEntryBundle(new Uint8Array(small.rawPayload)).length, 8);
  });

  it('a tile is one store read: one range of nodes, or one page of entries', async () => {
    calls.clear();
    assert.equal((await get(`${P}/tile/0/001`, f.keys.verify)).statusCode, 200);
    assert.equal(calls.get('nodeRange'), 1);
    assert.equal(calls.get('nodes'), undefined);
    assert.equal(calls.get('entries'), undefined);
    calls.clear();
    assert.equal((await get(`${P}/tile/1/000.p/2`, f.keys.verify)).statusCode, 200);
    assert.equal(calls.get('nodeRange'), 1);
    calls.clear();
    assert.equal((await get(`${P}/tile/entries/000`, f.keys.read)).statusCode, 200);
    assert.equal(calls.get('entries'), 1);
    assert.equal(calls.get('nodeRange'), undefined);
  });

  it('answers a C2SP tlog-proof file when asked, with the leaf only for keys that may read', async () => {
    const accept = { accept: `${TLOG_PROOF_MEDIA_TYPE}, application/json;q=0.5` };
    const r = await get('/v1/logs/default/proof/inclusion?index=300', f.keys.auditor, accept);
    assert.equal(r.statusCode, 200);
    assert.equal(r.headers['content-type'], TLOG_PROOF_MEDIA_TYPE);
    const v = verifyTlogProof(r.body, { verifiers: [verifier] });
    assert.equal(v.index, 300);
    assert.equal(v.opened.checkpoint.size, SIZE);
    assert.equal(toHex(v.leafHash), entries[300]!.hash);
    const bare = await get('/v1/logs/default/proof/inclusion?index=300', f.keys.verify, accept);
    assert.equal(parseTlogProof(bare.body).extra, undefined, 'no entry bytes without read scope');
    assert.throws(
      () => verifyTlogProof(bare.body, { verifiers: [verifier] }),
      (e) => isEvidentError(e, ErrorCode.VALIDATION_FAILED),
    );
    verifyTlogProof(bare.body, { verifiers: [verifier], leaf: leafBytes(entries[300]!) });
    const none = await get('/v1/logs/default/proof/inclusion?index=3&size=5', f.keys.auditor, accept);
    assert.equal(none.statusCode, 404, 'no checkpoint was signed at size 5');
    const json = await get('/v1/logs/default/proof/inclusion?index=300', f.keys.auditor);
    assert.equal(json.json().index, 300, 'JSON stays the default');
  });

  it('export --tiles writes exactly the bytes the server answers', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'evident-tiles-'));
    const ledger = await Ledger.open({ store: f.store, log: 'default', ownsStore: false });
    try {
      const first = await exportTiles(ledger, dir);
      assert.equal(first.size, SIZE);
      const files = walk(dir).map((p) => relative(dir, p));
      assert.deepEqual(files.sort(), [
        'checkpoint',
        'entries-u32/002.p/88',
        'tile/0/000',
        'tile/0/001',
        'tile/0/002.p/88',
        'tile/1/000.p/2',
        'tile/entries/000',
        'tile/entries/001',
      ]);
      for (const rel of files) {
        const r = await get(`${P}/${rel}`, f.keys.auditor);
        assert.equal(r.statusCode, 200, rel);
        assert.deepEqual(new Uint8Array(r.rawPayload), new Uint8Array(readFileSync(join(dir, rel))), rel);
      }
      // again: full tiles are kept as they are, nothing is rewritten
      const mtime = statSync(join(dir, 'tile/0/000')).mtimeMs;
      const again = await exportTiles(ledger, dir);
      assert.deepEqual([again.kept, again.written], [7, 1], 'every tile kept; only the checkpoint written');
      assert.equal(statSync(join(dir, 'tile/0/000')).mtimeMs, mtime);
    } finally {
      await ledger.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('tlog-tiles and erasure', () => {
  it('an erasure changes no bundle: the entries still hash to the tree, the value is gone', async () => {
    const f = await setup({ ...FIXED_CHECKPOINT });
    const get = (url: string, key: string) => f.app.inject({ method: 'GET', url, headers: f.auth(key) });
    const ledger = await Ledger.open({ store: f.store, log: 'default', signer: f.ring, ownsStore: false });
    try {
      await ledger.appendMany([
        event({ actor_id: 'subject-9', new_values: { ssn: 'SECRET-219-09-9999' } }),
        event(),
      ]);
      await ledger.checkpoint();
      const size = await ledger.size();
      const before = new Uint8Array((await get(`${P}/tile/entries/000.p/${size}`, f.keys.read)).rawPayload);
      const r = await ledger.erase({
        actor_id: 'subject-9',
        reason: 'erasure request',
        by: { id: 'dpo', type: 'system' },
        erasureKey: ERASURE_KEY,
      });
      assert.equal(r.entries, 1);
      const after = await get(`${P}/tile/entries/000.p/${size}`, f.keys.read);
      assert.equal(after.statusCode, 200);
      assert.deepEqual(new Uint8Array(after.rawPayload), before);
      const tile = new Uint8Array((await get(`${P}/tile/0/000.p/${size}`, f.keys.verify)).rawPayload);
      assert.deepEqual(concatBytes(...parseEntryBundle(before).map((l) => leafHash(l))), tile);
      assert.ok(!Buffer.from(before).toString('latin1').includes('SECRET-219-09-9999'));
      const erased = (await f.entries()).find((e) => e.actor_id === 'subject-9')!;
      assert.deepEqual(erased.erased, ['new_values']);
    } finally {
      await ledger.close();
      await f.close();
    }
  });
});

describe('tlog-tiles of a public log', () => {
  let f: Fixture;
  before(async () => {
    f = await setup({ publicVerify: ['default'], ...FIXED_CHECKPOINT });
    const r = await f.app.inject({
      method: 'POST',
      url: '/v1/logs/default/events',
      headers: f.auth(f.keys.ingest),
      payload: Array.from({ length: 300 }, () => event()),
    });
    assert.equal(r.statusCode, 201);
    await f.app.inject({ method: 'GET', url: '/v1/logs/default/checkpoint', headers: f.auth(f.keys.verify) });
  });
  after(async () => f.close());

  it('serves the checkpoint and hash tiles to anyone, publicly cacheable; entry bundles still need read', async () => {
    const cp = await f.app.inject({ method: 'GET', url: `${P}/checkpoint` });
    assert.equal(cp.statusCode, 200);
    assert.equal(cp.headers['cache-control'], 'public, max-age=5');
    const full = await f.app.inject({ method: 'GET', url: `${P}/tile/0/000` });
    assert.equal(full.statusCode, 200);
    assert.equal(full.headers['cache-control'], 'public, max-age=31536000, immutable');
    const partial = await f.app.inject({ method: 'GET', url: `${P}/tile/0/001.p/44` });
    assert.equal(partial.statusCode, 200);
    assert.equal(partial.headers['cache-control'], 'public, max-age=60');
    assert.equal((await f.app.inject({ method: 'GET', url: `${P}/tile/entries/000` })).statusCode, 401);
  });
});

function walk(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((d) =>
    d.isDirectory() ? walk(join(dir, d.name)) : [join(dir, d.name)],
  );
}
