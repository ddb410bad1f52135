/**
 * `evident witness`'s HTTP server (C2SP tlog-witness): `POST /add-checkpoint`, plus `GET
 * /healthz` and `GET /metrics` for its operator. Plain node:http: the body is read up to a
 * bound (413 beyond, 408 if it trickles), decoded as strict UTF-8 (400 otherwise), and handed
 * to the Witness; no hostile input reaches a 500, which is kept for the store failing.
 *
 * Closing (SIGTERM) closes at once the connections with no request on them (../idle-connections.ts),
 * answers the requests in flight with `Connection: close`, and cuts whatever is still open after
 * the grace period (the body timeout plus 5 s, as `evident serve`); it resolves once every request
 * handler has ended, so the store can be closed under none.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { isEvidentError } from '../../core/errors.ts';
import { MAX_ADD_CHECKPOINT_BYTES } from '../../core/witness-request.ts';
import { SHUTDOWN_GRACE_EXTRA_MS, trackIdleConnections } from '../idle-connections.ts';
import type { Witness } from './add-checkpoint.ts';

export interface WitnessServerOptions {
  witness: Witness;
  /** Largest body read (default MAX_ADD_CHECKPOINT_BYTES). */
  maxBodyBytes?: number;
  /** A body must arrive within this many ms (default 10 s); closing waits for it 5 s more. */
  bodyTimeoutMs?: number;
  /** One line per request (JSON), or nothing. */
  log?: (line: Record<string, unknown>) => void;
}

export interface WitnessServer {
  server: Server;
  url: string;
  /** Requests answered, by route and status. */
  counts: Map<string, number>;
  /** Stops accepting, finishes the requests in flight (cut after the grace period), then resolves. */
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
  const bodyTimeoutMs = o.bodyTimeoutMs ?? 10_000;
  const counts = new Map<string, number>();
  const count = (route: string, status: number) => {
    const k = `${route} ${status}`;
    counts.set(k, (counts.get(k) ?? 0) + 1);
  };
  let closing = false;
  /** Request handlers still running: closing waits for them even after their socket is cut. */
  const handlers = new Set<Promise<void>>();
  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    // During shutdown each answer closes its connection: kept alive, it would hold the close.
    const reply = (status: number, contentType: string, body: string) => {
      if (closing) res.setHeader('connection', 'close');
      send(res, status, contentType, body);
    };
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
          reply(405, 'text/plain', 'use POST\n');
          return;
        }
        const raw = await readBody(req, max);
        if (raw === 'too-large') {
          status = 413;
          res.setHeader('connection', 'close');
          reply(413, 'text/plain', `the body is larger than ${max} bytes\n`);
          return;
        }
        let body: string;
        try {
          body = decoder.decode(raw);
        } catch {
          status = 400;
          reply(400, 'text/plain', 'malformed request: the body is not UTF-8\n');
          return;
        }
        const a = await o.witness.addCheckpoint(body);
        status = a.status;
        reason = a.reason;
        origin = a.origin;
        old = a.old;
        size = a.size;
        reply(a.status, a.contentType, a.body);
      } else if (path === '/healthz' && req.method === 'GET') {
        status = 200;
        reply(200, 'application/json', '{"status":"ok"}\n');
      } else if (path === '/metrics' && req.method === 'GET') {
        status = 200;
        reply(200, 'text/plain; version=0.0.4', metricsText(counts));
      } else {
        status = 404;
        reply(404, 'text/plain', 'not found\n');
      }
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ECONNRESET') {
        // The caller went away before its body arrived: its doing, and no answer reaches it.
        status = 400;
        reason = 'ABORTED';
        return;
      }
      // The store failed (busy, disk): nothing was cosigned; the log retries.
      status = isEvidentError(e) && e.code === 'STORE_BUSY' ? 503 : 500;
      reason = isEvidentError(e) ? e.code : 'INTERNAL';
      if (!res.headersSent) reply(status, 'text/plain', `${reason}\n`);
    } finally {
      count(path === '/add-checkpoint' ? 'add-checkpoint' : 'other', status);
      o.log?.({ method: req.method, path, status, reason, origin, old, size, ms: Date.now() - started });
    }
  };
  const server = createServer((req, res) => {
    const h = handle(req, res);
    handlers.add(h);
    void h.finally(() => handlers.delete(h));
  });
  const idle = trackIdleConnections(server);
  server.requestTimeout = bodyTimeoutMs;
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
    close: async () => {
      closing = true;
      // A body may take bodyTimeoutMs to arrive (Node's own timers stop at close); then the
      // connections still open are cut, so that shutdown always ends.
      const timer = setTimeout(() => server.closeAllConnections(), bodyTimeoutMs + SHUTDOWN_GRACE_EXTRA_MS);
      timer.unref();
      try {
        await new Promise<void>((resolve) => {
          server.close(() => resolve());
          idle.close();
        });
        // A handler whose connection was cut still ends its transaction before the store closes.
        await Promise.allSettled([...handlers]);
      } finally {
        clearTimeout(timer);
      }
    },
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
