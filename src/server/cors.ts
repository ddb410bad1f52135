/**
 * Cross-origin access for the API (off by default): the origins named by `corsOrigin` may call
 * it from a browser page served elsewhere, such as the auditor's own copy of the viewer. An
 * origin is `scheme://host[:port]` exactly as a browser sends it, or `null`, which is what a
 * page opened from a file (file://) sends; `*` is refused, so that every allowed page is named.
 * The API authenticates by an `Authorization` header, never by cookies: no credentials mode.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';

const ORIGIN = /^(?:null|https?:\/\/[a-z0-9.-]+(?::[0-9]{1,5})?|https?:\/\/\[[0-9a-f:.]+\](?::[0-9]{1,5})?)$/;

/** Checks and normalises the allowed origins (a list, or one comma-separated string). */
export function resolveCorsOrigins(v: unknown): readonly string[] {
  if (v === undefined || v === false) return [];
  const list = typeof v === 'string' ? v.split(',').map((x) => x.trim()) : v;
  if (Array.isArray(list) && list.length === 0) return [];
  if (!Array.isArray(list)) {
    throw new RangeError('corsOrigin: the allowed origins, e.g. https://audit.example.com or null');
  }
  for (const o of list) {
    if (typeof o !== 'string' || !ORIGIN.test(o)) {
      throw new RangeError(
        `corsOrigin: "${String(o)}" is not an origin (scheme://host[:port] without a path, in lower case, or null for file:// pages; * is refused)`,
      );
    }
  }
  return [...new Set(list as string[])];
}

/** An onRequest hook: answers preflights itself (before any key check) and marks allowed answers. */
export function corsHook(origins: readonly string[]) {
  const allowed = new Set(origins);
  return async function cors(req: FastifyRequest, reply: FastifyReply): Promise<void> {
    const origin = req.headers.origin;
    if (typeof origin !== 'string' || !allowed.has(origin)) return;
    reply.header('access-control-allow-origin', origin);
    reply.header('vary', 'Origin');
    reply.header('access-control-expose-headers', 'Retry-After, Content-Type');
    if (req.method === 'OPTIONS' && req.headers['access-control-request-method'] !== undefined) {
      await reply
        .code(204)
        .header('access-control-allow-methods', 'GET, POST')
        .header('access-control-allow-headers', 'Authorization, Content-Type')
        .header('access-control-max-age', '600')
        .send();
    }
  };
}
