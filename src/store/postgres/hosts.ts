/**
 * Database URLs naming several servers, in libpq's form (PostgreSQL docs, "Connection URIs"):
 * `postgres://user@h1:5432,h2:5433/db?target_session_attrs=read-write`. node-postgres takes
 * one host per connection string, so the list is split here into one single-host URL per
 * server (every other parameter kept, for node-postgres to read), tried in order by the
 * primary finder (primary.ts). evident writes, so it always wants the primary: the
 * `target_session_attrs` it accepts are `read-write` and `primary` (the same thing here), and
 * with several hosts that is the default too. Reads also go to the primary.
 */
import { ErrorCode, EvidentError } from '../../core/errors.ts';

export interface HostTarget {
  /** `host:port` as written (port 5432 when none is given): names the server in errors and logs. */
  label: string;
  /** A single-host postgres:// URL for node-postgres. */
  connectionString: string;
}

export interface ParsedPostgresUrl {
  /** A single-host URL for node-postgres, when the URL names one server and asks for no role. */
  connectionString?: string;
  /** The servers to search for the primary, in order: several hosts, or target_session_attrs. */
  targets?: HostTarget[];
  /** evident's own `schema` parameter. */
  schema?: string;
}

const PRIMARY_ATTRS = new Set(['read-write', 'primary']);
/** Parameters evident reads itself and node-postgres never sees. */
const OWN_PARAMS = ['schema', 'target_session_attrs'];

function refuse(message: string, part: string, value?: string): EvidentError {
  return new EvidentError(ErrorCode.USAGE, message, {
    field: 'db',
    part,
    ...(value !== undefined ? { value } : {}),
  });
}

/** One `host[:port]` of the list; IPv6 addresses in brackets. */
function splitHost(spec: string): { host: string; port: string } {
  const m = /^(\[[^\]]*\]|[^:[\]]*)(?::(.*))?$/.exec(spec);
  const host = m?.[1] ?? spec;
  if (!m || !/^(\[[0-9A-Fa-f:.]+\]|[^[\]:/?#@\s]+)$/.test(host)) {
    throw refuse(`host "${spec}" in the database URL is not host[:port]`, 'host', spec);
  }
  const port = m[2] === undefined || m[2] === '' ? '5432' : m[2];
  const n = Number(port);
  if (!/^\d{1,5}$/.test(port) || n < 1 || n > 65_535) {
    throw refuse(`port "${port}" of host ${host} is not a port number (1 to 65535)`, 'port', port);
  }
  return { host, port: String(n) };
}

/**
 * Splits a postgres:// URL into what node-postgres gets (one connection string, or one per
 * server) and evident's own parameters. A URL naming one host and no target_session_attrs is
 * passed on as it is (less `schema`). Bad input is USAGE with `field: 'db'` and `part` naming
 * what is wrong: `url`, `host`, `port` or `target_session_attrs`.
 */
export function parsePostgresUrl(url: string): ParsedPostgresUrl {
  const scheme = /^(postgres(?:ql)?):\/\//i.exec(url);
  if (!scheme) throw refuse('not a valid postgres:// URL', 'url');
  const rest = url.slice(scheme[0].length);
  const end = rest.search(/[/?#]/);
  const authority = end < 0 ? rest : rest.slice(0, end);
  const tail = end < 0 ? '' : rest.slice(end);
  const at = authority.lastIndexOf('@');
  const userinfo = at < 0 ? '' : authority.slice(0, at + 1);
  const hostList = authority.slice(at + 1);

  const q = tail.indexOf('?');
  const path = q < 0 ? tail : tail.slice(0, q);
  const params = new URLSearchParams(q < 0 ? '' : tail.slice(q + 1).replace(/#.*$/, ''));
  const schema = params.get('schema') ?? undefined;
  const attrs = params.get('target_session_attrs') ?? undefined;
  if (attrs !== undefined && !PRIMARY_ATTRS.has(attrs)) {
    throw refuse(
      `target_session_attrs=${attrs} is not supported: evident writes, and reads from the primary too (read-write or primary)`,
      'target_session_attrs',
      attrs,
    );
  }

  if (!hostList.includes(',') && attrs === undefined) {
    // One server, whatever its role: node-postgres connects to it, as before.
    let u: URL;
    try {
      u = new URL(url);
    } catch {
      throw refuse('not a valid postgres:// URL', 'url');
    }
    if (schema === undefined) return { connectionString: url };
    u.searchParams.delete('schema');
    return { connectionString: u.toString(), schema };
  }

  if (hostList === '') throw refuse('the database URL names no host', 'host', '');
  const hosts = hostList.split(',').map(splitHost);
  for (const p of OWN_PARAMS) params.delete(p);
  const query = params.size > 0 ? `?${params.toString()}` : '';
  const targets = hosts.map((h) => {
    const label = `${h.host}:${h.port}`;
    const connectionString = `${scheme[1]}://${userinfo}${label}${path}${query}`;
    try {
      new URL(connectionString);
    } catch {
      throw refuse(`host ${h.host} does not make a valid postgres:// URL`, 'host', h.host);
    }
    return { label, connectionString };
  });
  return { targets, ...(schema !== undefined ? { schema } : {}) };
}
