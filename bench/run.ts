/**
 * `npm run bench [-- options]`: durable ingest (library and HTTP), verification, proofs, the
 * three compliance queries, storage and exports per format, on SQLite and PostgreSQL; prints progress and a table, writes
 * JSON, Markdown and an SVG chart to bench/results/. Options:
 *
 *   --quick                     every section on tiny sizes (seconds; the smoke test runs it)
 *   --only ingest,http,...      run these sections, keep the others' last results
 *   --verify-sizes 100000,1000000   --proof-sizes 1000000,10000000   --log-size 1000000
 *   --http-seconds 8            --tile-seconds 5       --no-postgres --no-cache    --out DIR
 *   --archive-size 1000000      --archive-segment 100000   (--only archive: seal, verify, prune)
 *   (replication: private PostgreSQL servers in streaming replication, sync against async)
 *
 * PostgreSQL: EVIDENT_BENCH_PG (else EVIDENT_TEST_PG, else postgres://postgres@127.0.0.1:5432/test),
 * a fresh schema per log, dropped afterwards. Unreachable: its rows are skipped, and the report says so.
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { benchAlerts } from './alerts.ts';
import { benchArchive } from './archive.ts';
import { bareStorage, benchBare } from './bare.ts';
import { type BuiltLog, builtEvent, builtLog, fill } from './built-log.ts';
import { benchClusters, clustersUnavailable } from './clusters.ts';
import { benchExports } from './exports.ts';
import { benchHttp } from './http-ingest.ts';
import { benchIngest, benchNaive } from './ingest.ts';
import { machine } from './machine.ts';
import { probePostgres } from './pg.ts';
import { benchProofs, canDropCaches } from './proofs.ts';
import { benchQueries } from './queries.ts';
import { benchReplication, replicationSkipped } from './replication.ts';
import { ingestChart, markdown } from './report.ts';
import { FORMAT, OPT_IN_SECTIONS, type Results, SECTIONS, type Section, targets } from './results.ts';
import { benchS3Put, server as s3Server } from './s3-put.ts';
import { postgresStorage, sqliteStorage } from './storage.ts';
import { type FreshLog, freshLog, progress, type StoreKind } from './support.ts';
import { benchTiles } from './tiles.ts';
import { benchVerify } from './verify.ts';
import { benchViewer } from './viewer.ts';
import { benchWitness } from './witness.ts';

const { values } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    only: { type: 'string' },
    'verify-sizes': { type: 'string' },
    'proof-sizes': { type: 'string' },
    'log-size': { type: 'string' },
    'http-seconds': { type: 'string' },
    'tile-seconds': { type: 'string' },
    'archive-size': { type: 'string' },
    'archive-segment': { type: 'string' },
    'no-postgres': { type: 'boolean', default: false },
    'no-cache': { type: 'boolean', default: false },
    out: { type: 'string', default: join(import.meta.dirname, 'results') },
  },
});
const quick = values.quick;
const sizes = (s: string | undefined, quickSizes: number[], full: number[]) =>
  s ? s.split(',').map(Number) : quick ? quickSizes : full;
const only = values.only?.split(',') ?? [...SECTIONS];
const known: readonly string[] = [...SECTIONS, ...OPT_IN_SECTIONS];
const unknown = only.filter((s) => !known.includes(s));
if (unknown.length > 0) throw new Error(`unknown section ${unknown.join(', ')}: one of ${known.join(', ')}`);
const run = new Set(only as Section[]);
const verifySizes = sizes(values['verify-sizes'], [2_000], [100_000, 1_000_000]);
const proofSizes = sizes(values['proof-sizes'], [2_000, 5_000], [1_000_000, 10_000_000]);
const [logSize] = sizes(values['log-size'], [5_000], [1_000_000]) as [number];
const [archiveSize] = sizes(values['archive-size'], [3_000], [1_000_000]) as [number];
const archiveSegment = Number(values['archive-segment'] ?? (quick ? 1_000 : 100_000));
const httpSeconds = Number(values['http-seconds'] ?? (quick ? 0.5 : 8));
const tileSeconds = Number(values['tile-seconds'] ?? (quick ? 0.5 : 5));
const cache = !quick && !values['no-cache'];

const probe = values['no-postgres'] ? { error: '--no-postgres' } : await probePostgres();
const pgServer = 'server' in probe ? probe.server : undefined;
const stores: StoreKind[] = pgServer ? ['sqlite', 'postgres'] : ['sqlite'];
if (!pgServer) console.error(`PostgreSQL rows skipped: ${'error' in probe ? probe.error : ''}`);

// A run of some sections keeps the last results of the others (same kind of run, same format).
const stem = quick ? 'latest-quick' : 'latest';
const jsonFile = join(values.out, `${stem}.json`);
const previous =
  run.size < SECTIONS.length && existsSync(jsonFile)
    ? (JSON.parse(readFileSync(jsonFile, 'utf8')) as Results)
    : undefined;
const results: Results = {
  ...(previous?.format === FORMAT
    ? previous
    : {
        ingest: [],
        http: [],
        verify: [],
        proofs: [],
        queries: [],
        storage: [],
        witness: [],
        exports: [],
        builds: [],
        ran: {},
        targets: [],
      }),
  format: FORMAT,
  quick,
  machine: machine(pgServer),
};
if (pgServer) delete results.postgres_skipped;
else results.postgres_skipped = 'error' in probe ? probe.error : 'not reachable';

const logs = new Map<number, BuiltLog>();
async function sqliteLog(size: number): Promise<BuiltLog> {
  let log = logs.get(size);
  if (!log) {
    log = await builtLog(size, { cache });
    logs.set(size, log);
    results.builds = results.builds.filter((b) => b.store !== 'sqlite' || b.entries !== size);
    results.builds.push({ ...log.build, store: 'sqlite', cached: log.cached });
  }
  return log;
}
let pgLog: FreshLog | undefined;
async function postgresLog(): Promise<FreshLog> {
  if (!pgLog) {
    pgLog = await freshLog({ store: 'postgres', checkpointIntervalMs: 3_600_000 });
    const build = await fill(pgLog.ledger, logSize);
    await pgLog.ledger.checkpoint();
    results.builds = results.builds.filter((b) => b.store !== 'postgres');
    results.builds.push({ ...build, store: 'postgres', cached: false });
  }
  return pgLog;
}

async function section(name: Section, fn: () => Promise<void>): Promise<void> {
  if (!run.has(name)) return;
  progress('');
  console.error(`== ${name}`);
  const t0 = performance.now();
  await fn();
  results.ran[name] = { at: new Date().toISOString(), seconds: Math.round((performance.now() - t0) / 1000) };
}

try {
  await section('ingest', async () => {
    results.ingest = [];
    const plan: [number, number][] = quick
      ? [
          [1, 100],
          [64, 2_000],
        ]
      : [
          [1, 3_000],
          [8, 20_000],
          [64, 60_000],
          [256, 60_000],
        ];
    for (const store of stores) {
      for (const [c, n] of plan) {
        results.ingest.push(await benchIngest(store, c, n));
        results.ingest.push(await benchBare(store, c, n));
        // The naive design is slower: fewer events keep its rows short and still steady.
        results.ingest.push(await benchNaive(store, c, Math.min(n, 20_000)));
      }
    }
  });
  await section('http', async () => {
    results.http = [];
    for (const store of stores)
      results.http.push(...(await benchHttp(store, [1, 100, 1000], 16, httpSeconds)));
  });
  await section('verify', async () => {
    results.verify = [];
    for (const size of verifySizes) results.verify.push(...(await benchVerify(await sqliteLog(size))));
  });
  await section('proofs', async () => {
    results.proofs = [];
    for (const size of proofSizes) {
      const log = await sqliteLog(size);
      results.proofs.push(await benchProofs(log, quick ? 100 : 2_000, 'warm'));
      if (!quick && canDropCaches()) results.proofs.push(await benchProofs(log, 1_000, 'cold'));
    }
  });
  await section('queries', async () => {
    results.queries = [];
    const samples = quick ? 30 : 500;
    const log = await sqliteLog(logSize);
    const ledger = await log.open();
    try {
      results.queries.push(...(await benchQueries('sqlite', ledger, logSize, samples)));
    } finally {
      await ledger.close();
    }
    if (pgServer)
      results.queries.push(
        ...(await benchQueries('postgres', (await postgresLog()).ledger, logSize, samples)),
      );
  });
  await section('storage', async () => {
    results.storage = [sqliteStorage((await sqliteLog(logSize)).db, logSize)];
    const event = (i: number) => builtEvent(i, logSize);
    results.storage.push(await bareStorage('sqlite', logSize, event));
    if (pgServer) {
      const schema = new URL((await postgresLog()).db).searchParams.get('schema')!;
      results.storage.push(await postgresStorage(schema, logSize));
      results.storage.push(await bareStorage('postgres', logSize, event));
    }
  });
  await section('tiles', async () => {
    results.tiles = await benchTiles(await sqliteLog(logSize), 8, tileSeconds);
  });
  await section('witness', async () => {
    // One log, checkpoints 1,000 entries apart: the witness's requests per second over HTTP.
    results.witness = [await benchWitness(quick ? 10 : 50)];
  });
  await section('archive', async () => {
    const log = await sqliteLog(archiveSize);
    results.archive = [await benchArchive(log, archiveSize, archiveSegment)];
    // The same to S3 with Object Lock, when a gateway is already running (or EVIDENT_BENCH_S3 is set).
    // Not under --quick: the smoke test runs beside the S3 tests, which stop the gateway.
    const s3 = quick ? { error: 'not under --quick' } : await s3Server({ start: false });
    if ('error' in s3) {
      results.archive_s3_skipped = s3.error;
      progress(`archive: S3 variant skipped: ${s3.error}`);
    } else {
      results.archive.push(await benchArchive(log, archiveSize, archiveSegment, s3.url));
      delete results.archive_s3_skipped;
    }
  });
  await section('s3', async () => {
    const r = await benchS3Put(quick ? [4] : [16, 64]);
    if ('error' in r) {
      delete results.s3;
      results.s3_skipped = r.error;
    } else {
      results.s3 = r;
      delete results.s3_skipped;
    }
  });
  await section('exports', async () => {
    const log = await sqliteLog(logSize);
    const ledger = await log.open();
    try {
      results.exports = await benchExports(ledger);
    } finally {
      await ledger.close();
    }
  });
  await section('viewer', async () => {
    results.viewer = [];
    const size = verifySizes[0]!;
    const log = await sqliteLog(size);
    const r = await benchViewer(log.db, log.key);
    if (r) results.viewer.push(r);
    else console.error('viewer: skipped, /usr/bin/chromium is missing');
  });
  await section('alerts', async () => {
    // Ingest with every alert rule evaluated beside it, against the same ingest without.
    results.alerts = [await benchAlerts(quick ? 2_000 : 100_000)];
  });
  await section('clusters', async () => {
    // Two private PostgreSQL clusters against one: 4 logs, 64 callers in all.
    const why = clustersUnavailable();
    if (why) {
      delete results.clusters;
      results.clusters_skipped = why;
      progress(`clusters: skipped: ${why}`);
      return;
    }
    results.clusters = await benchClusters(4, 64, quick ? 2_000 : 60_000);
    delete results.clusters_skipped;
  });
  await section('replication', async () => {
    // Private servers (initdb, pg_basebackup): the shared PostgreSQL is not used.
    results.replication = [];
    delete results.replication_skipped;
    const skipped = replicationSkipped();
    if (skipped) {
      results.replication_skipped = skipped;
      console.error(`replication: skipped, ${skipped}`);
      return;
    }
    const dir = mkdtempSync(join(tmpdir(), 'evident-bench-replication-'));
    try {
      results.replication = await benchReplication(dir, quick ? 1_000 : 20_000);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
} finally {
  for (const log of logs.values()) log.dispose();
  await pgLog?.dispose();
}
progress('');

results.targets = targets(results);
const md = `${markdown(results)}\n`;
process.stdout.write(md);
mkdirSync(values.out, { recursive: true });
writeFileSync(jsonFile, `${JSON.stringify(results, null, 2)}\n`);
writeFileSync(join(values.out, `${stem}.md`), md);
writeFileSync(join(values.out, `${stem}-ingest.svg`), ingestChart(results));
const broken =
  results.ingest.some((x) => x.system === 'evident' && !x.chain_ok) ||
  results.verify.some((x) => !x.ok) ||
  results.proofs.some((x) => !x.ok) ||
  (results.tiles ?? []).some((x) => !x.ok || x.errors > 0) ||
  (results.witness ?? []).some((x) => !x.ok) ||
  (results.archive ?? []).some((x) => !x.ok) ||
  (results.exports ?? []).some((x) => !(x.entries_per_s > 0)) ||
  (results.clusters ?? []).some((x) => !x.chain_ok);
if (broken) process.exitCode = 1;
