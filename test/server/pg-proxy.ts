/**
 * A TCP proxy in front of PostgreSQL that fails connections at chosen moments, which
 * pg_terminate_backend can only hit by chance:
 *
 * - `killAtStartup(n)`: the next n connections are ended by the "server" right after their
 *   startup completes: ReadyForQuery and then FATAL 57P01 ("terminating connection due to
 *   administrator command", what pg_terminate_backend makes a backend send) in one write, so
 *   that the client reads both in one chunk, as it does under load.
 * - `cutAll()`: every open connection is cut (both sides), as by a network failure.
 *
 * It parses only the message framing of the server's side up to the first ReadyForQuery
 * (no TLS: the test URL must not ask for it); after that, bytes pass through untouched.
 */
import { createServer, type Socket, connect as tcpConnect } from 'node:net';

export interface PgProxy {
  port: number;
  /** The URL with its host and port replaced by the proxy's. */
  via(url: string): string;
  killAtStartup(n: number): void;
  cutAll(): void;
  readonly stats: { connections: number; killedAtStartup: number; cut: number };
  close(): Promise<void>;
}

function message(type: string, body: Buffer): Buffer {
  const head = Buffer.alloc(5);
  head.write(type, 0, 'latin1');
  head.writeInt32BE(body.length + 4, 1);
  return Buffer.concat([head, body]);
}

const FATAL_ADMIN_SHUTDOWN = message(
  'E',
  Buffer.from('SFATAL\0VFATAL\0C57P01\0Mterminating connection due to administrator command\0\0', 'latin1'),
);
const READY_FOR_QUERY = 0x5a; // 'Z'

export async function startPgProxy(target: string): Promise<PgProxy> {
  const t = new URL(target);
  const host = t.hostname || '127.0.0.1';
  const port = Number(t.port || 5432);
  const pairs = new Set<[Socket, Socket]>();
  const stats = { connections: 0, killedAtStartup: 0, cut: 0 };
  let armed = 0;

  const server = createServer((down) => {
    stats.connections++;
    const up = tcpConnect(port, host);
    const pair: [Socket, Socket] = [down, up];
    pairs.add(pair);
    const drop = () => {
      pairs.delete(pair);
      down.destroy();
      up.destroy();
    };
    down.on('error', drop);
    up.on('error', drop);
    down.on('close', drop);
    up.on('close', drop);
    down.pipe(up);
    let started = false;
    let held = Buffer.alloc(0);
    up.on('data', (d: Buffer) => {
      if (started) {
        down.write(d);
        return;
      }
      held = Buffer.concat([held, d]);
      let off = 0;
      while (held.length - off >= 5) {
        const len = held.readInt32BE(off + 1);
        if (held.length - off < 1 + len) break;
        const type = held[off];
        off += 1 + len;
        if (type === READY_FOR_QUERY) {
          started = true;
          if (armed > 0) {
            armed--;
            stats.killedAtStartup++;
            down.end(Buffer.concat([held.subarray(0, off), FATAL_ADMIN_SHUTDOWN]));
            up.destroy();
          } else down.write(held);
          held = Buffer.alloc(0);
          return;
        }
      }
      // the startup exchange (authentication) goes on: pass complete messages, keep a partial one
      if (off > 0) {
        down.write(held.subarray(0, off));
        held = held.subarray(off);
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const own = (server.address() as { port: number }).port;
  return {
    port: own,
    via(url) {
      const u = new URL(url);
      u.hostname = '127.0.0.1';
      u.port = String(own);
      return u.toString();
    },
    killAtStartup(n) {
      armed += n;
    },
    cutAll() {
      for (const [down, up] of [...pairs]) {
        stats.cut++;
        down.destroy();
        up.destroy();
      }
      pairs.clear();
    },
    stats,
    close() {
      for (const [down, up] of pairs) {
        down.destroy();
        up.destroy();
      }
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}
