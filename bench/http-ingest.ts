/**
 * Durable ingest over HTTP against a child `evident serve` process (run from source), on SQLite
 * or PostgreSQL: `concurrency` clients each POST batches of `batch` events with fetch, one after
 * another, for `seconds`; an event is counted only when its request was answered 201, that is
 * durably committed. Client and server share the machine.
 */
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { dropSchema, freshSchemaName, urlForSchema } from './pg.ts';
import { latencySummary, progress, type StoreKind, sampleEvent } from './support.ts';

export interface HttpResult {
  store: StoreKind;
  batch: number;
  concurrency: number;
  events: number;
  seconds: number;
  events_per_s: number;
  /** Per request (one batch), from send to the 201. */
  p50_ms: number;
  p99_ms: number;
  /** Requests not answered 201 (pushback or errors); their events are not counted. */
  refused: number;
}

const CLI = [`--import=${import.meta.resolve('tsx')}`, join(import.meta.dirname, 'evident-cli.ts')];

export async function benchHttp(
  store: StoreKind,
  batches: number[],
  concurrency: number,
  seconds: number,
): Promise<HttpResult[]> {
  const dir = mkdtempSync(join(tmpdir(), 'evident-http-bench-'));
  const schema = store === 'postgres' ? freshSchemaName('http') : undefined;
  const dbArgs = ['--db', schema ? urlForSchema(schema) : join(dir, 'bench.db')];
  const cli = (args: string[]) =>
    execFileSync(process.execPath, [...CLI, ...args, ...dbArgs], { cwd: dir, encoding: 'utf8' });
  try {
    cli(['init', '--origin', 'bench.local/default']);
    const key = JSON.parse(cli(['keys', 'create', '--log', 'default', '--scope', 'ingest', '--json']))
      .key as string;
    const child = spawn(process.execPath, [...CLI, 'serve', '--port', '0', '--rate-limit', '0', ...dbArgs], {
      cwd: dir,
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
    try {
      const url = await listening(child.stdout, exited);
      const results: HttpResult[] = [];
      let next = 0;
      for (const batch of batches) {
        // Bodies built before the clock starts: the client's JSON work is not the server's.
        const bodies = Array.from({ length: 16 }, () =>
          JSON.stringify(Array.from({ length: batch }, () => sampleEvent(next++))),
        );
        results.push(
          await load(store, `${url}/v1/logs/default/events`, key, bodies, batch, concurrency, seconds),
        );
      }
      return results;
    } finally {
      child.kill('SIGTERM');
      await exited;
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
    if (schema) await dropSchema(schema);
  }
}

async function load(
  store: StoreKind,
  url: string,
  key: string,
  bodies: string[],
  batch: number,
  concurrency: number,
  seconds: number,
): Promise<HttpResult> {
  const headers = { authorization: `Bearer ${key}`, 'content-type': 'application/json' };
  const latencies: number[] = [];
  let events = 0;
  let refused = 0;
  const started = performance.now();
  const deadline = started + seconds * 1000;
  await Promise.all(
    Array.from({ length: concurrency }, async (_, w) => {
      for (let i = w; performance.now() < deadline; i += concurrency) {
        const t = performance.now();
        const r = await fetch(url, { method: 'POST', headers, body: bodies[i % bodies.length]! });
        await r.arrayBuffer();
        latencies.push(performance.now() - t);
        if (r.status === 201) events += batch;
        else refused++;
        if (w === 0) progress(`${store} HTTP batch ${batch}: ${events} events`);
      }
    }),
  );
  const elapsed = (performance.now() - started) / 1000;
  return {
    store,
    batch,
    concurrency,
    events,
    seconds: Math.round(elapsed * 10) / 10,
    events_per_s: Math.round(events / elapsed),
    ...latencySummary(latencies),
    refused,
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
