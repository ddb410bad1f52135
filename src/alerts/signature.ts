/**
 * The webhook signature (docs/alerts.md, "Verifying a webhook"): the header
 * `X-Evident-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">`. The time is
 * signed with the body so a receiver can refuse a replayed request older than its tolerance.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

export const SIGNATURE_HEADER = 'x-evident-signature';

export function signatureHeader(secret: string, body: string, t: number): string {
  const v1 = createHmac('sha256', secret).update(`${t}.${body}`).digest('hex');
  return `t=${t},v1=${v1}`;
}

/**
 * Checks a signature header against the body: true only when a v1 value matches and its time is
 * within `toleranceSeconds` of `now` (unix seconds).
 */
export function verifySignature(
  secret: string,
  body: string,
  header: string | undefined,
  now: number,
  toleranceSeconds = 300,
): boolean {
  if (header === undefined) return false;
  let t: number | undefined;
  const v1: string[] = [];
  for (const part of header.split(',')) {
    const [k, v] = part.split('=', 2);
    if (k === 't' && v !== undefined && /^[0-9]{1,12}$/.test(v)) t = Number(v);
    else if (k === 'v1' && v !== undefined && /^[0-9a-f]{64}$/.test(v)) v1.push(v);
  }
  if (t === undefined || Math.abs(now - t) > toleranceSeconds) return false;
  const want = Buffer.from(createHmac('sha256', secret).update(`${t}.${body}`).digest('hex'));
  return v1.some((v) => timingSafeEqual(Buffer.from(v), want));
}
