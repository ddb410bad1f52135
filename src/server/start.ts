/** startServer: buildServer, then listen. Closing drains in-flight requests and pending appends. */
import { buildServer } from './app.ts';
import { SHUTDOWN_GRACE_EXTRA_MS } from './idle-connections.ts';
import { DEFAULTS, type ServerOptions } from './options.ts';
import type { App } from './type-provider.ts';

export interface StartOptions extends ServerOptions {
  /** Address to listen on (default 127.0.0.1: put a proxy or --host 0.0.0.0 in front deliberately). */
  host?: string;
  /** Port (default 8080; 0 picks a free one). */
  port?: number;
}

export interface RunningServer {
  app: App;
  /** The address it listens on, e.g. http://127.0.0.1:8080. */
  url: string;
  /** Stops accepting, waits for in-flight requests, commits pending appends, signs, closes the store. */
  close(): Promise<void>;
}

export async function startServer(o: StartOptions): Promise<RunningServer> {
  const app = await buildServer(o);
  try {
    const url = await app.listen({ host: o.host ?? DEFAULTS.host, port: o.port ?? DEFAULTS.port });
    const close = async () => {
      // Idle connections are closed at once (./idle-connections.ts). In-flight requests get a grace
      // period (a body may take bodyTimeoutMs to arrive); then the sockets still open are cut so
      // that shutdown always ends.
      const grace = (o.bodyTimeoutMs ?? DEFAULTS.bodyTimeoutMs) + SHUTDOWN_GRACE_EXTRA_MS;
      const timer = setTimeout(() => app.server.closeAllConnections(), grace);
      timer.unref();
      try {
        await app.close();
      } finally {
        clearTimeout(timer);
      }
    };
    return { app, url, close };
  } catch (e) {
    await app.close().catch(() => {});
    throw e;
  }
}
