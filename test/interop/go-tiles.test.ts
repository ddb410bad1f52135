/**
 * Interoperability of the tiles with an independent implementation: Go's
 * golang.org/x/mod/sumdb/tlog reads the tiles `evident serve` answers over real HTTP
 * (tlog.TileHashReader checks every tile against the signed root), proves and checks inclusion
 * and consistency from them (ProveRecord/CheckRecord, ProveTree/CheckTree) against evident's
 * checkpoints, for tree sizes around tile boundaries (255, 256, 257, 65535, 65536, 65537); its
 * tlog.ParseTilePath accepts every path `export --tiles` writes; and each entry of a bundle
 * hashes to its leaf. The Go side is ./go/tiles/tiles.go.
 *
 * Needs `go` and the x/mod source (Debian: `apt-get install -y --no-install-recommends golang-go
 * golang-golang-x-mod-dev`); skipped without them, except under CI=true, where it fails.
 */
import assert from 'node:assert/strict';
import { execFile, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join, relative } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { toBase64 } from '../../src/core/bytes.ts';
import { parseCheckpoint } from '../../src/core/checkpoint.ts';
import { parseNote } from '../../src/core/note.ts';
import { tilePath } from '../../src/core/tlog/tile-path.ts';
import { Ledger } from '../../src/ledger/ledger.ts';
import { exportTiles } from '../../src/ledger/tiles-export.ts';
import { event, type Fixture, setup } from '../server/helpers.ts';

const GO_DIR = fileURLToPath(new URL('./go/tiles/', import.meta.url));
const SOURCE = join(GO_DIR, 'tiles.go');
const SIZES = [255, 256, 257, 65_535, 65_536, 65_537];
const INSTALL = 'apt-get install -y --no-install-recommends golang-go golang-golang-x-mod-dev';

function toolchain(): { version: string; gopath: string } | { missing: string } {
  const v = spawnSync('go', ['version'], { encoding: 'utf8', timeout: 30_000 });
  if (v.error || v.status !== 0) return { missing: 'go is not on PATH' };
  const env = spawnSync('go', ['env', 'GOPATH'], { encoding: 'utf8', timeout: 30_000 });
  const candidates = ['/usr/share/gocode', ...(env.status === 0 ? env.stdout.trim().split(delimiter) : [])];
  const gopath = candidates.find((p) => p && existsSync(join(p, 'src/golang.org/x/mod/sumdb/tlog/tile.go')));
  return gopath
    ? { version: v.stdout.trim(), gopath }
    : { missing: 'the golang.org/x/mod source is not installed' };
}

/** Builds tiles.go once per (source, Go version), cached under os.tmpdir(), offline and in GOPATH mode. */
function build(tc: { version: string; gopath: string }): string {
  const key = createHash('sha256')
    .update(readFileSync(SOURCE))
    .update(tc.version)
    .update(tc.gopath)
    .digest('hex');
  const dir = join(tmpdir(), 'evident-interop-go');
  const bin = join(dir, `tiles-${key.slice(0, 16)}`);
  if (existsSync(bin)) return bin;
  mkdirSync(dir, { recursive: true });
  const partial = `${bin}.${process.pid}.tmp`;
  const r = spawnSync('go', ['build', '-o', partial, 'tiles.go'], {
    cwd: GO_DIR,
    env: {
      ...process.env,
      GO111MODULE: 'off',
      GOPATH: tc.gopath,
      GOCACHE: join(dir, 'gocache'),
      GOFLAGS: '',
      GOPROXY: 'off',
      GOTOOLCHAIN: 'local',
      CGO_ENABLED: '0',
    },
    encoding: 'utf8',
    timeout: 300_000,
  });
  if (r.error || r.status !== 0) throw new Error(`go build of ${SOURCE} failed: ${r.stdout}${r.stderr}`);
  renameSync(partial, bin);
  return bin;
}

interface GoResult {
  ok: boolean;
  error?: string;
  size: number;
  inclusion: number;
  consistency: number;
  paths: number;
  entries: number;
}

const tc = toolchain();

if ('missing' in tc) {
  const skip = process.env['CI'] === 'true' ? false : `${tc.missing}: install with ${INSTALL}`;
  describe('Go reads evident tiles (golang.org/x/mod/sumdb/tlog)', () => {
    it('needs go and the golang.org/x/mod source', { skip }, () => {
      assert.fail(`CI=true, so the Go tiles interop test may not be skipped: ${tc.missing} (${INSTALL})`);
    });
  });
} else {
  describe('Go reads evident tiles (golang.org/x/mod/sumdb/tlog)', () => {
    let f: Fixture;
    let ledger: Ledger;
    let bin: string;
    let prefix: string;
    let vkey: string;
    const dir = mkdtempSync(join(tmpdir(), 'evident-go-tiles-'));

    // Asynchronous: the server answering Go runs in this very process.
    const runGo = async (args: string[]): Promise<GoResult> => {
      const r = await new Promise<{ status: number | null; stdout: string; stderr: string }>((resolve) => {
        execFile(
          bin,
          ['-url', prefix, '-vkey', vkey, '-key', f.keys.auditor, ...args],
          { encoding: 'utf8', timeout: 60_000, maxBuffer: 16 << 20 },
          (err, stdout, stderr) =>
            resolve({ status: err ? ((err.code as number) ?? -1) : 0, stdout, stderr }),
        );
      });
      let out: GoResult;
      try {
        out = JSON.parse(r.stdout) as GoResult;
      } catch {
        assert.fail(`tiles.go printed no result (exit ${r.status}): ${r.stdout}${r.stderr}`);
      }
      assert.equal(r.status, 0, `${out.error ?? ''}\n${r.stderr}`);
      assert.equal(out.ok, true);
      return out;
    };

    before(async () => {
      bin = build(tc);
      // the server signs only when asked; this test signs at the sizes it checks
      f = await setup({ checkpointIntervalMs: 3_600_000, ledger: { checkpointIntervalMs: 3_600_000 } });
      const address = await f.app.listen({ host: '127.0.0.1', port: 0 });
      prefix = `${address}/v1/logs/default/tlog`;
      ledger = await Ledger.open({
        store: f.store,
        log: 'default',
        signer: f.ring,
        ownsStore: false,
        checkpointIntervalMs: 3_600_000,
      });
      vkey = ledger.log.vkey;
    });
    after(async () => {
      await ledger?.close();
      await f?.close();
      rmSync(dir, { recursive: true, force: true });
    });

    it('proves inclusion and consistency from the served tiles at sizes around tile boundaries', async () => {
      const old: string[] = [];
      for (const target of SIZES) {
        let size = await ledger.size();
        while (size < target) {
          const n = Math.min(10_000, target - size);
          await ledger.appendMany(Array.from({ length: n }, () => event()));
          size += n;
        }
        const cp = await ledger.checkpoint();
        assert.equal(cp.size, target);
        const out = await runGo(old.flatMap((o) => ['-old', o]));
        assert.equal(out.size, target);
        assert.ok(out.inclusion >= 5, `inclusion proofs checked at ${target}`);
        assert.equal(out.consistency, old.length);
        old.push(`${cp.size}:${toBase64(parseCheckpoint(parseNote(cp.note).text).rootHash)}`);
      }
    });

    it('parses every path export --tiles writes, and each bundled entry hashes to its leaf', async () => {
      const r = await exportTiles(ledger, dir);
      assert.equal(r.size, SIZES.at(-1));
      const files = walk(dir).map((p) => relative(dir, p));
      // 65,537 leaves: 256 full level-0 tiles and bundles and a partial one (width 1) of each, one
      // full level-1 tile, a partial level-2 tile of width 1
      for (const p of [
        'tile/0/255',
        'tile/0/256.p/1',
        'tile/entries/256.p/1',
        'tile/1/000',
        'tile/2/000.p/1',
      ])
        assert.ok(files.includes(p), p);
      assert.equal(files.length, 257 * 2 + 1 + 1 + 1);
      // and paths with x segments, which only logs of 256,000 leaves and more reach
      const large = [1000, 1_234_067, 999_999, 2 ** 40].flatMap((index) => [
        tilePath({ level: 0, index, width: 256 }),
        tilePath({ level: 3, index, width: 17 }),
        tilePath({ level: 'entries', index, width: 255 }),
      ]);
      assert.ok(large.includes('tile/0/x001/x234/067'));
      const list = join(tmpdir(), `evident-go-paths-${process.pid}.txt`);
      writeFileSync(list, `${[...files, ...large].join('\n')}\n`);
      try {
        const out = await runGo(['-paths', list, '-bundles']);
        assert.equal(out.paths, files.length - 1 + large.length);
        assert.equal(out.entries, 256 + 1);
      } finally {
        rmSync(list, { force: true });
      }
    });
  });
}

function walk(d: string): string[] {
  return readdirSync(d, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? walk(join(d, e.name)) : [join(d, e.name)],
  );
}
