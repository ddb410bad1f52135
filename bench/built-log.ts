/**
 * Large SQLite logs for the read-side benchmarks (verification, proofs, queries, storage), built
 * through the public API (appendMany in large chunks, one commit and fsync per chunk) and kept
 * in bench/.cache/, keyed by size, store schema version and evident version, for later runs.
 * Events are sampleEvent()s whose timestamps spread evenly over SPAN_DAYS ending at LOG_END.
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { createKeyFile, createLog, type Ledger, openLedger, openStore } from '../src/ledger/index.ts';
import { progress, sampleEvent } from './support.ts';

/** Bump when sampleEvent or builtEvent changes, so old caches are not reused. */
const EVENTS_VERSION = 1;
export const SPAN_DAYS = 30;
export const LOG_END = Date.parse('2026-10-01T00:00:00.000Z');
const SPAN_MS = SPAN_DAYS * 86_400_000;
const ORIGIN = 'bench.local/default';
const CACHE = join(import.meta.dirname, '.cache');

export interface BuildInfo {
  entries: number;
  seconds: number;
  events_per_s: number;
  /** Events per appendMany call: one commit each. */
  chunk: number;
  built_at: string;
}

export interface BuiltLog {
  db: string;
  key: string;
  build: BuildInfo;
  /** Whether this run reused a log built by an earlier one. */
  cached: boolean;
  /** Opens it read-only, with the key so that checkpoint signatures are checked. */
  open(): Promise<Ledger>;
  dispose(): void;
}

/** Entry i of a log of n: timestamps ascend evenly over the span. */
export function builtEvent(i: number, n: number): Record<string, unknown> {
  const t = LOG_END - SPAN_MS + Math.floor((i * SPAN_MS) / Math.max(1, n));
  return { ...sampleEvent(i), timestamp: new Date(t).toISOString() };
}

/** A log of `entries`; from the cache when `cache` and already built, else built now. */
export async function builtLog(entries: number, o: { cache: boolean; chunk?: number }): Promise<BuiltLog> {
  const chunk = o.chunk ?? 20_000;
  let dir: string;
  let cached = false;
  if (o.cache) {
    dir = join(
      CACHE,
      `sqlite-${entries}-schema${await sqliteSchemaVersion()}-${packageVersion()}-e${EVENTS_VERSION}`,
    );
    cached = existsSync(join(dir, 'build.json'));
    if (!cached) {
      mkdirSync(CACHE, { recursive: true });
      // The cache holds multi-GB databases: never in git.
      writeFileSync(join(CACHE, '.gitignore'), '*\n');
      const partial = `${dir}.partial`;
      rmSync(partial, { recursive: true, force: true });
      mkdirSync(partial);
      await build(partial, entries, chunk);
      renameSync(partial, dir);
    }
  } else {
    dir = mkdtempSync(join(tmpdir(), 'evident-bench-log-'));
    await build(dir, entries, chunk);
  }
  const db = join(dir, 'bench.db');
  const key = join(dir, 'bench.key');
  return {
    db,
    key,
    build: JSON.parse(readFileSync(join(dir, 'build.json'), 'utf8')) as BuildInfo,
    cached,
    open: () => openLedger({ db, key, readonly: true }),
    dispose: () => {
      if (!o.cache) rmSync(dir, { recursive: true, force: true });
    },
  };
}

async function build(dir: string, entries: number, chunk: number): Promise<void> {
  const db = join(dir, 'bench.db');
  const key = join(dir, 'bench.key');
  const signer = await createKeyFile(key, ORIGIN);
  const store = await openStore(db);
  await createLog(store, { name: 'default', origin: ORIGIN, signer });
  await store.close();
  // One checkpoint at the end: the periodic ones are not what is being built.
  const ledger = await openLedger({ db, key, checkpointIntervalMs: 3_600_000 });
  let info: BuildInfo;
  try {
    info = await fill(ledger, entries, chunk);
    await ledger.checkpoint();
  } finally {
    await ledger.close();
  }
  writeFileSync(join(dir, 'build.json'), `${JSON.stringify(info, null, 2)}\n`);
}

/** Appends builtEvent 0..entries-1 to an empty log in chunks of `chunk`, one appendMany each. */
export async function fill(ledger: Ledger, entries: number, chunk = 20_000): Promise<BuildInfo> {
  const t0 = performance.now();
  for (let i = 0; i < entries; i += chunk) {
    const n = Math.min(chunk, entries - i);
    await ledger.appendMany(Array.from({ length: n }, (_, j) => builtEvent(i + j, entries)));
    const rate = Math.round((i + n) / ((performance.now() - t0) / 1000));
    progress(
      `building a ${ledger.store.kind} log of ${entries.toLocaleString('en-US')}: ${i + n} (${rate}/s)`,
    );
  }
  const seconds = (performance.now() - t0) / 1000;
  return {
    entries,
    seconds: Math.round(seconds * 10) / 10,
    events_per_s: Math.round(entries / seconds),
    chunk,
    built_at: new Date().toISOString(),
  };
}

/** The schema version evident's SQLite store writes now (read from a fresh, empty store). */
async function sqliteSchemaVersion(): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), 'evident-bench-schema-'));
  try {
    await (await openStore(join(dir, 'v.db'))).close();
    const db = new Database(join(dir, 'v.db'), { readonly: true });
    const row = db.prepare("SELECT value FROM meta WHERE key = 'schema_version'").pluck().get();
    db.close();
    return String(row);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function packageVersion(): string {
  const pkg = JSON.parse(readFileSync(join(import.meta.dirname, '..', 'package.json'), 'utf8'));
  return `v${(pkg as { version: string }).version}`;
}
