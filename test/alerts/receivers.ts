/** Real receivers on loopback for alert tests: an HTTP webhook receiver and an RFC 5424 TCP collector. */
import { createServer as createHttpServer, type Server } from 'node:http';
import { createServer as createTcpServer, type Socket, type Server as TcpServer } from 'node:net';
import { verifySignature } from '../../src/alerts/signature.ts';

export interface Receiver {
  url: string;
  port: number;
  /** Bodies accepted (2xx), deduplicated by idempotency key. */
  alerts: Map<string, Record<string, unknown>>;
  /** Every request seen, with whether its signature verified. */
  requests: { key: string; verified: boolean }[];
  mode: 'ok' | 'error' | 'slow';
  close(): Promise<void>;
}

export async function startReceiver(secret: string, port = 0): Promise<Receiver> {
  const r: Omit<Receiver, 'url' | 'port' | 'close'> = { alerts: new Map(), requests: [], mode: 'ok' };
  const server: Server = createHttpServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      const key = String(req.headers['idempotency-key'] ?? '');
      const verified = verifySignature(
        secret,
        body,
        req.headers['x-evident-signature'] as string | undefined,
        Math.floor(Date.now() / 1000),
      );
      r.requests.push({ key, verified });
      if (r.mode === 'slow') {
        setTimeout(() => res.destroy(), 2000).unref();
        return;
      }
      if (r.mode === 'error' || !verified) {
        res.writeHead(verified ? 500 : 401).end();
        return;
      }
      if (!r.alerts.has(key)) r.alerts.set(key, JSON.parse(body) as Record<string, unknown>);
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  const p = (server.address() as { port: number }).port;
  return Object.assign(r, {
    url: `http://127.0.0.1:${p}/hook`,
    port: p,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  }) as Receiver;
}

export interface Collector {
  port: number;
  /** Each syslog message, unframed (RFC 6587 octet counting). */
  messages: string[];
  close(): Promise<void>;
}

export async function startCollector(): Promise<Collector> {
  const messages: string[] = [];
  const sockets = new Set<Socket>();
  const server: TcpServer = createTcpServer((sock) => {
    sockets.add(sock);
    let buf = Buffer.alloc(0);
    sock.on('data', (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      for (;;) {
        const sp = buf.indexOf(0x20);
        if (sp < 0) break;
        const len = Number(buf.subarray(0, sp).toString());
        if (!Number.isInteger(len) || buf.length < sp + 1 + len) break;
        messages.push(buf.subarray(sp + 1, sp + 1 + len).toString('utf8'));
        buf = buf.subarray(sp + 1 + len);
      }
    });
    sock.on('close', () => sockets.delete(sock));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as { port: number }).port,
    messages,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

export async function until(cond: () => boolean | Promise<boolean>, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 25));
  }
}
