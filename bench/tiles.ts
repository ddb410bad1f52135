/**
 * Tile reads from a child `evident serve` (run from source) over HTTP, on a copy of a large
 * SQLite log (the copy, because entry bundle reads append access events and the cached log
 * must stay as built): full level-0 hash tiles, full level-1 hash tiles, full entry bundles and
 * the checkpoint, each for `seconds` with `concurrency` clients at random tile indexes.
 * Requests per second and latency, per kind. A sample of bundles is checked against the tiles
 * (each entry's leaf hash is the tile's hash at its position), so a fast wrong answer cannot
 * pass. Client and server share the machine.
 */
import { execFileSync, spawn } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { bytesEqual } from '../src/core/bytes.ts';
import { leafHash } from '../src/core/index.ts';
import { parseEntryBundle } from '../src/core/tlog/entry-bundle.ts';
import { tilePath } from '../src/core/tlog/tile-path.ts';
import type { BuiltLog } from './built-log.ts';
import { latencySummary, progress } from './support.ts';

export interface TileResult {
  entries: number;
  kind: 'hash tile L0' | 'hash tile L1' | 'entry bundle' | 'checkpoint';
  concurrency: number;
  requests: number;
  seconds: number;
  requests_per_s: number;
  mb_per_s: number;
  p50_ms: number;
  p99_ms: number;
  /** Answers other than 200. */
  errors: number;
  /** Sampled bundles hash to their level-0 tiles. */
  ok: boolean;
}

const CLI = [`--import=${import.meta.resolve('tsx')}`, join(import.meta.dirname, 'evident-cli.ts')];
const CHECKED = 20;

export async function benchTiles(log: BuiltLog, concurrency: number, seconds: number): Promise<TileResult[]> {
  const n = log.build.entries;
  const dir = mkdtempSync(join(tmpdir(), 'evident-tiles-bench-'));
  try {
    progress(`copying the ${n.toLocaleString('en-US')}-entry log`);
    for (const f of ['bench.db', 'bench.db-wal', 'bench.db-shm', 'bench.key']) {
      const from = join(log.db, '..', f);
      if (existsSync(from)) copyFileSync(from, join(dir, f));
    }
    const dbArgs = ['--db', join(dir, 'bench.db')];
    const env = { ...process.env, EVIDENT_KEY: join(dir, 'bench.key') };
    const cli = (args: string[]) =>
      execFileSync(process.execPath, [...CLI, ...args, ...dbArgs], { cwd: dir, encoding: 'utf8', env });
    const key = JSON.parse(cli(['keys', 'create', '--log', 'default', '--scope', 'read,verify', '--json']))
      .key as string;
    const child = spawn(
      process.execPath,
      [...CLI, 'serve', '--port', '0', '--rate-limit', '0', '--checkpoint-interval-ms', '3600000', ...dbArgs],
      { cwd: dir, stdio: ['ignore', 'pipe', 'inherit'], env },
    );
    const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
    try {
      const url = `${await listening(child.stdout, exited)}/v1/logs/default/tlog`;
      const headers = { authorization: `Bearer ${key}` };
      const cp = await (await fetch(`${url}/checkpoint`, { headers })).text();
      const size = Number(cp.split('\n')[1]);
      const full0 = Math.floor(size / 256);
      const full1 = Math.floor(size / 65_536);
      const rand = (below: number) => Math.floor(Math.random() * below);
      const ok = await checkSample(url, headers, full0, rand);
      const kinds: [TileResult['kind'], () => string][] = [
        ['hash tile L0', () => tilePath({ level: 0, index: rand(full0), width: 256 })],
        ['hash tile L1', () => tilePath({ level: 1, index: rand(full1), width: 256 })],
        ['entry bundle', () => tilePath({ level: 'entries', index: rand(full0), width: 256 })],
        ['checkpoint', () => 'checkpoint'],
      ];
      const out: TileResult[] = [];
      for (const [kind, path] of kinds) {
        if (kind === 'hash tile L1' && full1 === 0) continue;
        out.push({ entries: n, ...(await load(url, headers, kind, path, concurrency, seconds)), ok });
      }
      return out;
    } finally {
      child.kill('SIGTERM');
      await exited;
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function checkSample(
  url: string,
  headers: Record<string, string>,
  full0: number,
  rand: (below: number) => number,
): Promise<boolean> {
  for (let s = 0; s < Math.min(CHECKED, full0); s++) {
    const index = rand(full0);
    const tile = new Uint8Array(
      await (await fetch(`${url}/${tilePath({ level: 0, index, width: 256 })}`, { headers })).arrayBuffer(),
    );
    const bundle = new Uint8Array(
      await (
        await fetch(`${url}/${tilePath({ level: 'entries', index, width: 256 })}`, { headers })
      ).arrayBuffer(),
    );
    const leaves = parseEntryBundle(bundle);
    if (tile.length !== 8192 || leaves.length !== 256) return false;
    for (const [i, l] of leaves.entries())
      if (!bytesEqual(leafHash(l), tile.subarray(i * 32, i * 32 + 32))) return false;
  }
  return true;
}

async function load(
  url: string,
  headers: Record<string, string>,
  kind: TileResult['kind'],
  path: () => string,
  concurrency: number,
  seconds: number,
): Promise<Omit<TileResult, 'entries' | 'ok'>> {
  const latencies: number[] = [];
  let bytes = 0;
  let errors = 0;
  const started = performance.now();
  const deadline = started + seconds * 1000;
  await Promise.all(
    Array.from({ length: concurrency }, async (_, w) => {
      while (performance.now() < deadline) {
        const t = performance.now();
        // identity: the figure is the server's read, not gzip
        const r = await fetch(`${url}/${path()}`, { headers: { ...headers, 'accept-encoding': 'identity' } });
        const body = await r.arrayBuffer();
        latencies.push(performance.now() - t);
        if (r.status === 200) bytes += body.byteLength;
        else errors++;
        if (w === 0) progress(`${kind}: ${latencies.length} requests`);
      }
    }),
  );
  const elapsed = (performance.now() - started) / 1000;
  return {
    kind,
    concurrency,
    requests: latencies.length,
    seconds: Math.round(elapsed * 10) / 10,
    requests_per_s: Math.round(latencies.length / elapsed),
    mb_per_s: Math.round((bytes / 1e6 / elapsed) * 10) / 10,
    ...latencySummary(latencies),
    errors,
  };
}

/** The URL from serve's "Server listening at" log line. */
function listening(stdout: NodeJS.ReadableStream, exited: Promise<number | null>): Promise<string> {
  let out = '';
  return new Promise<string>((resolve, reject) => {
    stdout.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /Server listening at (http:\/\/[^"\s]+)/.exec(out);
      if (m) resolve(m[1]!);
      if (out.length > 1 << 16) out = out.slice(-4096);
    });
    void exited.then((code) => reject(new Error(`evident serve exited with ${code} before listening`)));
  });
}
