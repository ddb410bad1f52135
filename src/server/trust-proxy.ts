/**
 * Which X-Forwarded-For hops to believe. A proxy appends the address it saw to the header, so
 * only the right end of it comes from proxies the operator runs; the left end is whatever the
 * client wrote. `true` (Fastify's "trust every hop") takes the leftmost value: the caller would
 * pick the address recorded in access events and dodge the per-address rate limit. So the
 * server takes the trusted proxies' addresses or CIDR ranges: proxy-addr walks from the socket's
 * peer leftwards through the header, past trusted hops, to the first untrusted one: the client.
 * A hop count is refused too: it cannot tell a proxy from a client that reaches the server
 * directly and writes the header itself (Fastify 5 ignores one for that reason).
 */
import { isIP } from 'node:net';

/** What the server takes: false (the socket's peer is the client), or the trusted proxies. */
export type TrustProxy = false | string[];

/** proxy-addr's names for address ranges, accepted beside addresses and CIDRs. */
const PRESETS = new Set(['loopback', 'linklocal', 'uniquelocal']);

/** Undefined if `a` is an address, a CIDR (address/prefix) or a preset name; else why not. */
export function trustedAddressProblem(a: string): string | undefined {
  if (PRESETS.has(a)) return undefined;
  const [addr, prefix, more] = a.split('/');
  const family = isIP(addr ?? '');
  if (family === 0 || more !== undefined) return `"${a}" is not an IP address or CIDR range`;
  if (prefix !== undefined) {
    const max = family === 4 ? 32 : 128;
    if (!/^[0-9]{1,3}$/.test(prefix) || Number(prefix) > max) return `"${a}" has a bad prefix length`;
  }
  return undefined;
}

/**
 * Checks an option value and returns it in the form Fastify takes. Throws a RangeError naming
 * the rule: `true`, a hop count, an empty list, or something that is not an address or CIDR.
 */
export function resolveTrustProxy(v: unknown): TrustProxy {
  if (v === undefined || v === false) return false;
  if (v === true) {
    throw new RangeError(
      "trustProxy: true would believe the leftmost X-Forwarded-For, which the client writes: give the proxies' addresses or CIDR ranges",
    );
  }
  const list = typeof v === 'string' ? v.split(',').map((s) => s.trim()) : v;
  if (!Array.isArray(list) || list.length === 0 || !list.every((x) => typeof x === 'string' && x !== '')) {
    throw new RangeError(
      "trustProxy: the proxies' addresses or CIDR ranges (a hop count cannot tell a proxy from a client)",
    );
  }
  for (const a of list as string[]) {
    const problem = trustedAddressProblem(a);
    if (problem) throw new RangeError(`trustProxy: ${problem}`);
  }
  return list as string[];
}
