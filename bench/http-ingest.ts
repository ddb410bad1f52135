/**
 * HTTP ingest throughput against a real `evident serve` on SQLite: `concurrency` clients each
 * POST batches of `batch` events with fetch, one after another, for `seconds`; every event
 * counted was answered 201, that is durably committed. Needs `npm run build` first.
 *
 *   node --import tsx bench/http-ingest.ts [--seconds 8] [--concurrency 16] [--batch 100,1000] [--db URL]
 *
 * --db postgres://...?schema=NAME runs it on PostgreSQL (use a fresh schema).
 */
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';

const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: '8' },
    concurrency: { type: 'string', default: '16' },
    batch: { type: 'string', default: '100,1000' },
    db: { type: 'string' },
  },
});
const seconds = Number(values.seconds);
const concurrency = Number(values.concurrency);
const batches = values.batch.split(',').map(Number);
const BIN = join(import.meta.dirname, '..', 'bin', 'evident.js');

const dir = mkdtempSync(join(tmpdir(), 'evident-http-bench-'));
const dbArgs = values.db ? ['--db', values.db] : [];
const cli = (args: string[]) =>
  execFileSync(process.execPath, [BIN, ...args, ...dbArgs], { cwd: dir, encoding: 'utf8' });

const event = (i: number) => ({
  actor_id: `user-${i % 100}`,
  actor_type: 'user',
  action: 'read',
  resource_type: 'patient_record',
  resource_id: `p-${i}`,
  result: 'success',
  ip_address: '192.0.2.10',
  session_id: 's-1',
  metadata: { request_id: `req-${i}` },
});

async function main(): Promise<void> {
  cli(['init', '--origin', 'bench.test/default']);
  const key = JSON.parse(cli(['keys', 'create', '--log', 'default', '--scope', 'ingest', '--json']))
    .key as string;
  const child = spawn(process.execPath, [BIN, 'serve', '--port', '0', '--rate-limit', '0', ...dbArgs], {
    cwd: dir,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  const url = await new Promise<string>((resolve, reject) => {
    child.stdout.on('data', (d) => {
      out += d;
      const m = /Server listening at (http:\/\/[^"]+)/.exec(out);
      if (m) resolve(m[1]!);
      if (out.length > 1 << 16) out = out.slice(-4096);
    });
    child.on('exit', (code) => reject(new Error(`serve exited ${code}`)));
  });
  const headers = { authorization: `Bearer ${key}`, 'content-type': 'application/json' };
  const results: {
    batch: number;
    concurrency: number;
    events: number;
    seconds: number;
    events_per_s: number;
  }[] = [];
  let next = 0;
  for (const batch of batches) {
    // Bodies built before the clock starts: the client's JSON work is not the server's.
    const bodies = Array.from({ length: 64 }, () =>
      JSON.stringify(Array.from({ length: batch }, () => event(next++))),
    );
    let events = 0;
    let failures = 0;
    const started = performance.now();
    const deadline = started + seconds * 1000;
    await Promise.all(
      Array.from({ length: concurrency }, async (_, w) => {
        for (let i = w; performance.now() < deadline; i += concurrency) {
          const r = await fetch(`${url}/v1/logs/default/events`, {
            method: 'POST',
            headers,
            body: bodies[i % bodies.length]!,
          });
          await r.arrayBuffer();
          if (r.status === 201) events += batch;
          else failures++;
        }
      }),
    );
    const elapsed = (performance.now() - started) / 1000;
    results.push({
      batch,
      concurrency,
      events,
      seconds: elapsed,
      events_per_s: Math.round(events / elapsed),
    });
    if (failures > 0) console.error(`batch ${batch}: ${failures} requests not answered 201`);
  }
  child.kill('SIGTERM');
  const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
  const store = values.db ? 'postgres' : 'sqlite';
  console.log(JSON.stringify({ store, shutdown_exit: code, results }, null, 2));
}

try {
  await main();
} finally {
  rmSync(dir, { recursive: true, force: true });
}
