/** A raw TCP connection to a test server: send bytes by hand, read what comes back, see it closed. */
import { connect, type Socket } from 'node:net';

export interface Raw {
  socket: Socket;
  /** Everything received so far. */
  text: () => string;
  /** Resolves once the received text matches; rejects if the connection closes first. */
  until: (re: RegExp) => Promise<string>;
  closed: Promise<void>;
  isClosed: () => boolean;
}

export async function rawConnection(url: string): Promise<Raw> {
  const { hostname, port } = new URL(url);
  const socket = connect(Number(port), hostname);
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  let text = '';
  let waiters: (() => void)[] = [];
  let isClosed = false;
  socket.setEncoding('utf8');
  socket.on('data', (d: string) => {
    text += d;
    for (const w of waiters) w();
  });
  // A reset counts as closed too.
  socket.on('error', () => {});
  const closed = new Promise<void>((resolve) =>
    socket.once('close', () => {
      isClosed = true;
      for (const w of waiters) w();
      resolve();
    }),
  );
  const until = (re: RegExp) =>
    new Promise<string>((resolve, reject) => {
      const check = () => {
        const m = re.exec(text);
        if (m) {
          waiters = waiters.filter((w) => w !== check);
          resolve(m[0]);
        } else if (isClosed) {
          waiters = waiters.filter((w) => w !== check);
          reject(new Error(`closed before ${re}: ${JSON.stringify(text)}`));
        }
      };
      waiters.push(check);
      check();
    });
  return { socket, text: () => text, until, closed, isClosed: () => isClosed };
}

/**
 * Sends `head` (a request line, headers and the start of a body shorter than its Content-Length),
 * then resets the connection as a killed client does (a RST, not a FIN); resolves once closed.
 */
export async function resetMidBody(url: string, head: string): Promise<void> {
  const raw = await rawConnection(url);
  raw.socket.write(head, () => setTimeout(() => raw.socket.resetAndDestroy(), 50));
  await raw.closed;
}

/** Polls `done` every 20 ms for up to `ms`; whether it came true. */
export async function eventually(done: () => boolean, ms = 3000): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (!done() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  return done();
}
