/**
 * Sending one alert to one sink. A webhook is an HTTP POST of the alert's JSON body, signed
 * (./signature.ts), with the alert id as `Idempotency-Key`: a 2xx answer acknowledges it. Syslog
 * is RFC 5424 over TCP (or TLS, RFC 5425) with octet-counting framing (RFC 6587 §3.4.1): a
 * message is sent once the collector's connection accepted all of it and closed cleanly.
 */

import { connect as tcpConnect } from 'node:net';
import { hostname } from 'node:os';
import { connect as tlsConnect } from 'node:tls';
import type { SyslogSink, WebhookSink } from './config.ts';
import { SIGNATURE_HEADER, signatureHeader } from './signature.ts';

export class SinkError extends Error {}

export async function sendWebhook(w: WebhookSink, id: string, body: string, now: () => Date): Promise<void> {
  const t = Math.floor(now().getTime() / 1000);
  let res: Response;
  try {
    res = await fetch(w.url, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'idempotency-key': id,
        [SIGNATURE_HEADER]: signatureHeader(w.secret, body, t),
        'user-agent': 'evident-alerts',
      },
      body,
      redirect: 'manual',
      signal: AbortSignal.timeout(w.timeoutMs),
    });
  } catch (e) {
    const cause = (e as { cause?: { code?: string } }).cause?.code;
    throw new SinkError(`webhook ${w.name}: ${cause ?? (e as Error).name}: ${(e as Error).message}`);
  }
  await res.arrayBuffer().catch(() => undefined);
  if (res.status < 200 || res.status > 299) throw new SinkError(`webhook ${w.name}: HTTP ${res.status}`);
}

/** RFC 5424 §6.3.3: in a PARAM-VALUE, `"`, `\` and `]` are escaped with a backslash. */
const sdEscape = (v: string) => v.replace(/["\\\]]/g, (c) => `\\${c}`);

/** One RFC 5424 message: facility 13 (log audit), severity 4 (warning); the body as MSG. */
export function syslogMessage(
  s: SyslogSink,
  alert: { id: string; rule: string; log: string; raised_at: string },
  body: string,
): string {
  const pri = 13 * 8 + 4;
  const host = (hostname() || '-').replace(/[^!-~]/g, '').slice(0, 255) || '-';
  // 32473 is the private enterprise number reserved for documentation (RFC 5612).
  const sd = `[alert@32473 id="${sdEscape(alert.id)}" rule="${sdEscape(alert.rule)}" log="${sdEscape(alert.log)}"]`;
  const msgid = alert.rule.replace(/[^!-~]/g, '').slice(0, 32) || '-';
  return `<${pri}>1 ${alert.raised_at} ${host} ${s.appName} ${process.pid} ${msgid} ${sd} ${body}`;
}

export function sendSyslog(s: SyslogSink, message: string, timeoutMs: number): Promise<void> {
  const bytes = Buffer.from(message, 'utf8');
  const frame = Buffer.concat([Buffer.from(`${bytes.length} `), bytes]);
  return new Promise((resolve, reject) => {
    const sock = s.tls
      ? tlsConnect({ host: s.host, port: s.port, servername: s.host })
      : tcpConnect({ host: s.host, port: s.port });
    let done = false;
    const fail = (e: Error) => {
      if (done) return;
      done = true;
      sock.destroy();
      reject(new SinkError(`syslog ${s.host}:${s.port}: ${(e as NodeJS.ErrnoException).code ?? e.message}`));
    };
    sock.setTimeout(timeoutMs, () => fail(new Error('timeout')));
    sock.on('error', fail);
    sock.once(s.tls ? 'secureConnect' : 'connect', () => {
      sock.end(frame, () => {
        if (done) return;
        done = true;
        sock.destroy();
        resolve();
      });
    });
  });
}
