/**
 * `node --import tsx bench/middleware.ts [--requests N] [--concurrency C] [--rounds R] [--sink ledger|client|all]`:
 * the latency the audit middleware adds to a trivial route, on Express 5 and Fastify 5. C clients
 * (default 1), each on one keep-alive connection, requests one after another; median, p99 and
 * throughput of each variant:
 *   none    no middleware (the baseline)
 *   open    fail-open (default): the event is recorded after the response
 *   closed  fail-closed: begin() durable before the handler, complete() durable before the response
 * Sinks: `ledger` (embedded, SQLite file in a temp dir) and `client` (EvidentClient spooling to
 * a temp dir with delivery off: the cost of the fsynced spool write alone). Add a sink to SINKS.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { Agent, createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import express from 'express';
import Fastify from 'fastify';
import { EvidentClient } from '../src/client/index.ts';
import { evidentExpress } from '../src/integrations/express/index.ts';
import { evidentFastify } from '../src/integrations/fastify/index.ts';
import { type AuditSink, ledgerSink } from '../src/integrations/sink.ts';
import { freshLog, latencySummary, round2 } from './support.ts';

interface OpenSink {
  sink: AuditSink;
  dispose(): Promise<void>;
}

/** The sinks measured. A new delivery (another spool, a remote ledger) is one more entry here. */
const SINKS: Record<string, () => Promise<OpenSink>> = {
  ledger: async () => {
    const log = await freshLog();
    return { sink: ledgerSink(log.ledger), dispose: () => log.dispose() };
  },
  client: async () => {
    const dir = mkdtempSync(join(tmpdir(), 'evident-bench-spool-'));
    // Delivery off: no server is needed, and only the spool's write-and-fsync is on the path.
    const client = await EvidentClient.open({
      url: 'http://127.0.0.1:9',
      apiKey: 'evk_000000000000_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA',
      log: 'default',
      spoolDir: dir,
      deliver: false,
    });
    return {
      sink: client,
      dispose: async () => {
        await client.close();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  },
};

type Mode = 'none' | 'open' | 'closed';
type Framework = 'express' | 'fastify';

async function startServer(framework: Framework, mode: Mode, sink: AuditSink | undefined): Promise<Server> {
  if (framework === 'express') {
    const app = express();
    if (mode !== 'none' && sink) app.use(evidentExpress({ sink, failClosed: mode === 'closed' }));
    app.get('/patients/:id', (req, res) => {
      res.json({ id: req.params['id'] });
    });
    const server = createServer(app);
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    return server;
  }
  const app = Fastify();
  if (mode !== 'none' && sink) await app.register(evidentFastify, { sink, failClosed: mode === 'closed' });
  app.get<{ Params: { id: string } }>('/patients/:id', async (request) => ({ id: request.params.id }));
  await app.listen({ port: 0, host: '127.0.0.1' });
  return app.server;
}

function get(port: number, agent: Agent, path: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, agent }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
    req.end();
  });
}

interface Measured {
  p50_ms: number;
  p99_ms: number;
  per_s: number;
}

/** `concurrency` clients, each on its own keep-alive connection, share `requests` after a warm-up. */
async function measure(server: Server, requests: number, concurrency: number): Promise<Measured> {
  const port = (server.address() as AddressInfo).port;
  const latencies: number[] = [];
  const warmup = Math.min(500, Math.ceil(requests / 5));
  let next = 0;
  let started = 0;
  const worker = async () => {
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    for (let i = next++; i < warmup + requests; i = next++) {
      if (i === warmup) started = performance.now();
      const t = performance.now();
      const status = await get(port, agent, `/patients/${i}`);
      if (status !== 200) throw new Error(`status ${status}`);
      if (i >= warmup) latencies.push(performance.now() - t);
    }
    agent.destroy();
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  const seconds = (performance.now() - started) / 1000;
  return { ...latencySummary(latencies), per_s: Math.round(requests / seconds) };
}

const { values } = parseArgs({
  options: {
    requests: { type: 'string', default: '500' },
    concurrency: { type: 'string', default: '1' },
    rounds: { type: 'string', default: '3' },
    sink: { type: 'string', default: 'all' },
  },
});
const requests = Number(values.requests);
const concurrency = Number(values.concurrency);
const rounds = Number(values.rounds);
const sinkNames = values.sink === 'all' ? Object.keys(SINKS) : [values.sink!];
for (const name of sinkNames) {
  if (!SINKS[name]) throw new Error(`unknown sink ${name}: one of ${Object.keys(SINKS).join(', ')}`);
}

interface Variant {
  framework: Framework;
  sink: string;
  mode: Mode;
  runs: Measured[];
}
const variants: Variant[] = [];
for (const framework of ['express', 'fastify'] as Framework[]) {
  variants.push({ framework, sink: '-', mode: 'none', runs: [] });
  for (const sink of sinkNames) {
    for (const mode of ['open', 'closed'] as Mode[]) variants.push({ framework, sink, mode, runs: [] });
  }
}

// Rounds interleave the variants, and each figure is the median over rounds: on a shared
// machine a burst of load then spoils one run of every variant, not every run of one.
for (let round = 0; round < rounds; round++) {
  for (const v of variants) {
    const opened = v.mode === 'none' ? undefined : await SINKS[v.sink]!();
    const server = await startServer(v.framework, v.mode, opened?.sink);
    v.runs.push(await measure(server, requests, concurrency));
    server.closeAllConnections();
    server.close();
    await opened?.dispose();
  }
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const summary = (v: Variant) => ({
  p50: median(v.runs.map((r) => r.p50_ms)),
  p99: median(v.runs.map((r) => r.p99_ms)),
  perS: median(v.runs.map((r) => r.per_s)),
});
const rows: string[][] = [
  ['framework', 'sink', 'mode', 'p50 ms', 'p99 ms', 'added p50 ms', 'added p99 ms', 'req/s'],
];
for (const v of variants) {
  const m = summary(v);
  const base = summary(variants.find((b) => b.framework === v.framework && b.mode === 'none')!);
  const added = (x: number, b: number) => (v.mode === 'none' ? '-' : String(round2(x - b)));
  rows.push([
    v.framework,
    v.sink,
    v.mode,
    String(m.p50),
    String(m.p99),
    added(m.p50, base.p50),
    added(m.p99, base.p99),
    String(m.perS),
  ]);
}
const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
for (const r of rows) console.log(r.map((cell, c) => cell.padEnd(widths[c]!)).join('  '));
console.log(
  `\nMedian over ${rounds} rounds of ${requests} requests per variant from ${concurrency} keep-alive connection(s), after a warm-up.`,
);
