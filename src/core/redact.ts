/**
 * The one redaction of secrets in text evident prints or logs: the password of every URL's
 * user information (RFC 3986 §3.2.1: `scheme://user:password@host`; the RFC itself deprecates
 * passwords there, but PostgreSQL URLs carry them) and `password=` parameters (URL queries, and
 * libpq's `key=value` strings). Never applied to audit data (query output, bundles), which is
 * evidence and must stay byte-exact.
 */

// Greedy up to the last "@" of the token: a password with a stray "@" or "/" is hidden too,
// at worst with some of the host.
const USERINFO = /\b([a-z][a-z0-9+.-]*:\/\/[^\s:/@"'<>]*):[^\s"'<>]*@/gi;
const PARAM = /\b((?:ssl)?password=)[^&\s"'<>]*/gi;

export const REDACTED = '***';

/** `text` with every URL password and password parameter replaced by `***`. */
export function redactUrls(text: string): string {
  return text.replace(USERINFO, `$1:${REDACTED}@`).replace(PARAM, `$1${REDACTED}`);
}

/** A JSON-able value with redactUrls applied to every string in it. */
export function redactDeep<T>(v: T): T {
  if (typeof v === 'string') return redactUrls(v) as T;
  if (Array.isArray(v)) return v.map(redactDeep) as T;
  if (v !== null && typeof v === 'object') {
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, redactDeep(x)])) as T;
  }
  return v;
}
