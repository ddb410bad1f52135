/**
 * Where `evident forward` delivers, and what counts as delivered:
 *
 * - `syslog+tcp://host:port`, `syslog+tls://host:port`: one connection, kept; each record framed
 *   with octet counting (RFC 6587 §3.4.1). A batch is delivered when the socket has handed all of
 *   it to the operating system (the write callback: the "drain"). Syslog over TCP has no
 *   acknowledgement of its own, so bytes in flight when the receiver dies can be lost; the
 *   webhook acknowledges end to end.
 * - `https://…` (or `http://…`): each batch is one POST of a JSON array; delivered on a 2xx answer.
 *
 * A failure is a DELIVERY_FAILED error; the caller retries the same batch.
 */
import { readFileSync } from 'node:fs';
import * as http from 'node:http';
import * as https from 'node:https';
import * as net from 'node:net';
import * as tls from 'node:tls';
import { ErrorCode, EvidentError } from '../../core/errors.ts';
import { octetCounted } from '../../ledger/siem/syslog.ts';
import { usageError } from '../errors.ts';

export type Target =
  | { kind: 'syslog'; tls: boolean; host: string; port: number; display: string }
  | { kind: 'webhook'; url: URL; display: string };

export function parseTarget(to: string): Target {
  let url: URL;
  try {
    url = new URL(to);
  } catch {
    throw usageError(
      `--to must be syslog+tcp://HOST:PORT, syslog+tls://HOST:PORT or an https:// URL, not "${to}"`,
      '--to',
      { rule: 'format' },
    );
  }
  if (url.protocol === 'syslog+tcp:' || url.protocol === 'syslog+tls:') {
    const port = Number(url.port);
    if (
      !url.hostname ||
      !Number.isInteger(port) ||
      port < 1 ||
      url.pathname.replace(/^\/$/, '') !== '' ||
      url.search
    )
      throw usageError('--to syslog+tcp:// and syslog+tls:// take HOST:PORT and nothing else', '--to', {
        rule: 'format',
      });
    return {
      kind: 'syslog',
      tls: url.protocol === 'syslog+tls:',
      host: url.hostname.replace(/^\[|\]$/g, ''),
      port,
      display: `${url.protocol}//${url.host}`,
    };
  }
  if (url.protocol === 'https:' || url.protocol === 'http:') {
    if (url.username || url.password)
      throw usageError('--to must not hold credentials', '--to', { rule: 'format' });
    return { kind: 'webhook', url, display: `${url.origin}${url.pathname}` };
  }
  throw usageError(`--to must be syslog+tcp://, syslog+tls:// or https://, not ${url.protocol}//`, '--to', {
    rule: 'format',
  });
}

export interface Sender {
  /** Delivers the records (one string each, without line ending); resolves once acknowledged. */
  send(records: readonly string[]): Promise<void>;
  close(): void;
}

const failed = (message: string, details: Record<string, unknown> = {}) =>
  new EvidentError(ErrorCode.DELIVERY_FAILED, message, details);

export function openSender(t: Target, o: { ca?: string; timeoutMs: number }): Sender {
  const ca = o.ca !== undefined ? readFileSync(o.ca) : undefined;
  return t.kind === 'syslog' ? syslogSender(t, ca, o.timeoutMs) : webhookSender(t, ca, o.timeoutMs);
}

function syslogSender(
  t: Extract<Target, { kind: 'syslog' }>,
  ca: Buffer | undefined,
  timeoutMs: number,
): Sender {
  let socket: net.Socket | undefined;
  let broken: Error | undefined;
  const connect = () =>
    new Promise<net.Socket>((resolve, reject) => {
      const s = t.tls
        ? tls.connect({
            host: t.host,
            port: t.port,
            servername: net.isIP(t.host) ? undefined : t.host,
            ...(ca ? { ca } : {}),
          })
        : net.connect({ host: t.host, port: t.port });
      const timer = setTimeout(
        () => s.destroy(failed(`no connection to ${t.display} within ${timeoutMs} ms`)),
        timeoutMs,
      );
      s.once(t.tls ? 'secureConnect' : 'connect', () => {
        clearTimeout(timer);
        s.off('error', reject);
        s.on('error', (e) => {
          broken = e;
        });
        s.on('close', () => {
          if (socket === s) socket = undefined;
        });
        // a receiver that speaks back is not expected; read and drop, so the socket never stalls
        s.resume();
        resolve(s);
      });
      s.once('error', (e) => {
        clearTimeout(timer);
        reject(e);
      });
    });
  return {
    async send(records) {
      try {
        if (!socket || socket.destroyed) {
          broken = undefined;
          socket = await connect();
        }
        const s = socket;
        const payload = records.map(octetCounted).join('');
        await new Promise<void>((resolve, reject) => {
          const timer = setTimeout(() => {
            s.destroy();
            reject(failed(`${t.display} took more than ${timeoutMs} ms to take a batch`));
          }, timeoutMs);
          s.write(payload, 'utf8', (e) => {
            clearTimeout(timer);
            if (e || broken) reject(e ?? broken);
            else resolve();
          });
        });
      } catch (e) {
        socket?.destroy();
        socket = undefined;
        throw e instanceof EvidentError
          ? e
          : failed(`delivery to ${t.display} failed: ${(e as Error).message}`, {
              cause: (e as NodeJS.ErrnoException).code,
            });
      }
    },
    close() {
      socket?.end();
      socket = undefined;
    },
  };
}

function webhookSender(
  t: Extract<Target, { kind: 'webhook' }>,
  ca: Buffer | undefined,
  timeoutMs: number,
): Sender {
  const agentOptions = { keepAlive: true, ...(ca ? { ca } : {}) };
  const agent =
    t.url.protocol === 'https:' ? new https.Agent(agentOptions) : new http.Agent({ keepAlive: true });
  const request = t.url.protocol === 'https:' ? https.request : http.request;
  return {
    send(records) {
      const body = `[${records.join(',')}]`;
      return new Promise<void>((resolve, reject) => {
        const req = request(
          t.url,
          {
            method: 'POST',
            agent,
            timeout: timeoutMs,
            headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
          },
          (res) => {
            res.resume();
            res.on('end', () => {
              const status = res.statusCode ?? 0;
              if (status >= 200 && status < 300) resolve();
              else reject(failed(`${t.display} answered ${status}`, { status }));
            });
            res.on('error', (e) => reject(failed(`delivery to ${t.display} failed: ${e.message}`)));
          },
        );
        req.on('timeout', () => req.destroy(failed(`${t.display} did not answer within ${timeoutMs} ms`)));
        req.on('error', (e) =>
          reject(
            e instanceof EvidentError
              ? e
              : failed(`delivery to ${t.display} failed: ${e.message}`, {
                  cause: (e as NodeJS.ErrnoException).code,
                }),
          ),
        );
        req.end(body);
      });
    },
    close() {
      agent.destroy();
    },
  };
}
