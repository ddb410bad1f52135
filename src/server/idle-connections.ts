/**
 * Closing the idle connections at shutdown, so that only requests in flight are waited for.
 *
 * Node's server.close() closes the keep-alive connections idle after an answer, but not a
 * connection that has not sent a byte of a request yet: a browser's spare or preconnected
 * socket, or one held open by a client library. Node counts such a connection as a request
 * whose headers are still to come, and close() also stops the timer that would have cut it
 * (headersTimeout), so it would hold shutdown for the whole grace period. Fastify's
 * `forceCloseConnections: 'idle'` does not help: it relies on the same server.close().
 */
import type { Server } from 'node:http';
import type { Socket } from 'node:net';
import { Server as TlsServer } from 'node:tls';

/**
 * A shutdown waits for the requests in flight this long beyond the body timeout, then cuts the
 * connections still open (`evident serve` and `evident witness` alike).
 */
export const SHUTDOWN_GRACE_EXTRA_MS = 5_000;

export interface IdleConnections {
  /** Closes every connection that carries no request and has sent nothing since its last answer. */
  close(): void;
}

export function trackIdleConnections(server: Server): IdleConnections {
  /** Connections no request has come on yet (for HTTPS, also the TLS socket over each). */
  const unused = new Set<Socket>();
  let closing = false;
  const watch = (socket: Socket) => {
    unused.add(socket);
    socket.once('close', () => unused.delete(socket));
  };
  server.on('connection', watch);
  // Over TLS the requests come on the TLS socket; its bytesRead counts the decrypted bytes.
  if (server instanceof TlsServer) {
    server.on('secureConnection', (socket: Socket) => {
      // A handshake under way at close, ended since: nothing read over it, it carries no request.
      if (closing && socket.bytesRead === 0) socket.destroy();
      else watch(socket);
    });
  }
  server.on('request', (req: { socket: Socket }) => {
    unused.delete(req.socket);
  });
  return {
    close() {
      closing = true;
      // Not a byte read: no request has begun on it. One with part of a request (some headers) is
      // left to finish, as one carrying a request is; the grace period bounds both. A TLS handshake
      // under way is left to end, and the connection is closed then if nothing came over it.
      for (const socket of unused) if (socket.bytesRead === 0) socket.destroy();
      // Keep-alive connections idle after an answer (server.close() does this too on Node 20).
      server.closeIdleConnections();
    },
  };
}
