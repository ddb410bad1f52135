/**
 * One EvidentClient against a local `evident serve` (SQLite, run from source): `concurrency`
 * application tasks each call record() in a loop for `seconds`, while the client's sender
 * delivers in the background. Reported: events/s made durable in the spool (record() resolved),
 * record→spooled latency p50/p99 (one group commit: write + fdatasync), the number of events per
 * fsync, and events/s delivered end to end (from the first record to the spool drained, that is
 * every event with a receipt). Client and server share the machine's cores.
 *
 *   node --import tsx bench/client.ts [--seconds 5] [--concurrency 1,16,128]
 */
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { EvidentClient } from '../src/client/index.ts';
import { latencySummary, round2, sampleEvent } from './support.ts';

const CLI = [`--import=${import.meta.resolve('tsx')}`, join(import.meta.dirname, 'evident-cli.ts')];

interface Result {
  concurrency: number;
  events: number;
  spooled_per_s: number;
  p50_ms: number;
  p99_ms: number;
  events_per_fsync: number;
  events_per_request: number;
  delivered_per_s: number;
  drain_ms_after_load: number;
  /** Mean cost of one ensureWritable() (the fail-closed preflight) right after the run. */
  ensure_writable_us: number;
}

function listening(child: ReturnType<typeof spawn>): Promise<string> {
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (d) => {
      out += d;
      const m = /Server listening at (http:\/\/[^"\s]+)/.exec(out);
      if (m) resolve(m[1]!);
    });
    child.on('exit', (code) => reject(new Error(`evident serve exited with ${code} before listening`)));
  });
}

async function run(
  url: string,
  key: string,
  dir: string,
  concurrency: number,
  seconds: number,
): Promise<Result> {
  const client = await EvidentClient.open({
    url,
    apiKey: key,
    log: 'default',
    spoolDir: join(dir, `spool-${concurrency}`),
    maxEvents: 1_000_000,
    maxBytes: 1 << 30,
  });
  const latencies: number[] = [];
  let i = 0;
  const started = performance.now();
  const deadline = started + seconds * 1000;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (performance.now() < deadline) {
        const t = performance.now();
        await client.record(sampleEvent(i++));
        latencies.push(performance.now() - t);
      }
    }),
  );
  const loaded = performance.now();
  const flushed = await client.flush({ timeoutMs: 120_000 });
  const drained = performance.now();
  if (!flushed.drained) throw new Error(`not drained: ${flushed.pending} pending`);
  const s = client.stats();
  // Half the calls fall within probeIntervalMs of a write (two stats), some pay for a probe.
  const probes = 5000;
  const p0 = performance.now();
  for (let k = 0; k < probes; k++) await client.ensureWritable();
  const ensureUs = ((performance.now() - p0) * 1000) / probes;
  await client.close();
  if (s.delivered !== latencies.length || s.rejected !== 0) {
    throw new Error(`delivered ${s.delivered} of ${latencies.length}, rejected ${s.rejected}`);
  }
  return {
    concurrency,
    events: latencies.length,
    spooled_per_s: Math.round(latencies.length / ((loaded - started) / 1000)),
    ...latencySummary(latencies),
    events_per_fsync: round2(s.spooled / s.commits),
    events_per_request: round2(s.delivered / s.batches),
    delivered_per_s: Math.round(latencies.length / ((drained - started) / 1000)),
    drain_ms_after_load: Math.round(drained - loaded),
    ensure_writable_us: Math.round(ensureUs),
  };
}

const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: '5' },
    concurrency: { type: 'string', default: '1,16,128' },
  },
});
const seconds = Number(values.seconds);
const levels = values.concurrency.split(',').map(Number);

const dir = mkdtempSync(join(tmpdir(), 'evident-client-bench-'));
const db = ['--db', join(dir, 'bench.db')];
const cli = (args: string[]) =>
  execFileSync(process.execPath, [...CLI, ...args, ...db], { cwd: dir, encoding: 'utf8' });
try {
  cli(['init', '--origin', 'bench.local/default']);
  const key = JSON.parse(cli(['keys', 'create', '--log', 'default', '--scope', 'ingest', '--json']))
    .key as string;
  const child = spawn(process.execPath, [...CLI, 'serve', '--port', '0', '--rate-limit', '0', ...db], {
    cwd: dir,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  try {
    const url = await listening(child);
    const results: Result[] = [];
    for (const c of levels) results.push(await run(url, key, dir, c, seconds));
    console.table(results);
    console.log(JSON.stringify(results));
  } finally {
    child.kill('SIGTERM');
    await new Promise((r) => child.once('exit', r));
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
