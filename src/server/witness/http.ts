/**
 * `evident witness`'s HTTP server (C2SP tlog-witness): `POST /add-checkpoint`, plus `GET
 * /healthz` and `GET /metrics` for its operator. Plain node:http: the body is read up to a
 * bound (413 beyond, 408 if it trickles), decoded as strict UTF-8 (400 otherwise), and handed
 * to the Witness; no hostile input reaches a 500, which is kept for the store failing.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { isEvidentError } from '../../core/errors.ts';
import { MAX_ADD_CHECKPOINT_BYTES } from '../../core/witness-request.ts';
import type { Witness } from './add-checkpoint.ts';

export interface WitnessServerOptions {
  witness: Witness;
  /** Largest body read (default MAX_ADD_CHECKPOINT_BYTES). */
  maxBodyBytes?: number;
  /** A body must arrive within this many ms (default 10 s). */
  bodyTimeoutMs?: number;
  /** One line per request (JSON), or nothing. */
  log?: (line: Record<string, unknown>) => void;
}

export interface WitnessServer {
  server: Server;
  url: string;
  /** Requests answered, by route and status. */
  counts: Map<string, number>;
  close(): Promise<void>;
}

const decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

function send(res: ServerResponse, status: number, contentType: string, body: string): void {
  res.writeHead(status, { 'content-type': contentType, 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

async function readBody(req: IncomingMessage, max: number): Promise<Buffer | 'too-large'> {
  const declared = Number(req.headers['content-length'] ?? 0);
  if (declared > max) return 'too-large';
  const chunks: Buffer[] = [];
  let n = 0;
  for await (const c of req as AsyncIterable<Buffer>) {
    n += c.length;
    if (n > max) return 'too-large';
    chunks.push(c);
  }
  return Buffer.concat(chunks);
}

export async function startWitnessServer(
  o: WitnessServerOptions,
  listen: { host: string; port: number },
): Promise<WitnessServer> {
  const max = o.maxBodyBytes ?? MAX_ADD_CHECKPOINT_BYTES;
  const counts = new Map<string, number>();
  const count = (route: string, status: number) => {
    const k = `${route} ${status}`;
    counts.set(k, (counts.get(k) ?? 0) + 1);
  };
  const server = createServer(async (req, res) => {
    const started = Date.now();
    const path = (req.url ?? '').split('?')[0];
    let status = 500;
    let reason = '';
    let origin: string | undefined;
    let old: number | undefined;
    let size: number | undefined;
    try {
      if (path === '/add-checkpoint') {
        if (req.method !== 'POST') {
          status = 405;
          res.setHeader('allow', 'POST');
          send(res, 405, 'text/plain', 'use POST\n');
          return;
        }
        const raw = await readBody(req, max);
        if (raw === 'too-large') {
          status = 413;
          res.setHeader('connection', 'close');
          send(res, 413, 'text/plain', `the body is larger than ${max} bytes\n`);
          return;
        }
        let body: string;
        try {
          body = decoder.decode(raw);
        } catch {
          status = 400;
          send(res, 400, 'text/plain', 'malformed request: the body is not UTF-8\n');
          return;
        }
        const a = await o.witness.addCheckpoint(body);
        status = a.status;
        reason = a.reason;
        origin = a.origin;
        old = a.old;
        size = a.size;
        send(res, a.status, a.contentType, a.body);
      } else if (path === '/healthz' && req.method === 'GET') {
        status = 200;
        send(res, 200, 'application/json', '{"status":"ok"}\n');
      } else if (path === '/metrics' && req.method === 'GET') {
        status = 200;
        send(res, 200, 'text/plain; version=0.0.4', metricsText(counts));
      } else {
        status = 404;
        send(res, 404, 'text/plain', 'not found\n');
      }
    } catch (e) {
      // The store failed (busy, disk): nothing was cosigned; the log retries.
      status = isEvidentError(e) && e.code === 'STORE_BUSY' ? 503 : 500;
      reason = isEvidentError(e) ? e.code : 'INTERNAL';
      if (!res.headersSent) send(res, status, 'text/plain', `${reason}\n`);
    } finally {
      count(path === '/add-checkpoint' ? 'add-checkpoint' : 'other', status);
      o.log?.({ method: req.method, path, status, reason, origin, old, size, ms: Date.now() - started });
    }
  });
  server.requestTimeout = o.bodyTimeoutMs ?? 10_000;
  server.headersTimeout = Math.min(server.requestTimeout, 10_000);
  server.keepAliveTimeout = 5_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(listen.port, listen.host, () => resolve());
  });
  const addr = server.address() as AddressInfo;
  const host = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
  return {
    server,
    url: `http://${host}:${addr.port}`,
    counts,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
      }),
  };
}

function metricsText(counts: Map<string, number>): string {
  const lines = [
    '# HELP evident_witness_requests_total Witness requests answered, by route and HTTP status.',
    '# TYPE evident_witness_requests_total counter',
  ];
  for (const [k, v] of counts) {
    const [route, status] = k.split(' ');
    lines.push(`evident_witness_requests_total{route="${route}",status="${status}"} ${v}`);
  }
  return `${lines.join('\n')}\n`;
}
