/**
 * The cluster map (docs/clusters.md): named PostgreSQL clusters and the placement of logs on
 * them. The home cluster is the `db` setting, named `home`: it holds the API keys, the alerts
 * and every log the placement does not name. Each log is written on exactly one cluster; a
 * map is checked whole before anything opens, and every fault names its field and rule.
 */
import { ErrorCode, EvidentError } from '../../core/errors.ts';
import { isValidLogName } from '../../core/log-name.ts';

/** The name of the `db` setting's cluster in the map. */
export const HOME_CLUSTER = 'home';

/** A cluster's name: what placement values, `/readyz` and `evident_cluster_up` show. */
const CLUSTER_NAME = /^[a-z][a-z0-9_-]{0,31}$/;

/** Most clusters in one map: each costs a connection pool per server process. */
export const MAX_CLUSTERS = 16;

export interface ClusterMap {
  /** Cluster name to postgres:// URL, the home cluster (`home`, the `db` setting) included. */
  clusters: ReadonlyMap<string, string>;
  /** Log name to the cluster it lives on; a log not named here lives on `home`. */
  placement: ReadonlyMap<string, string>;
}

function bad(
  field: string,
  rule: string,
  message: string,
  extra: Record<string, unknown> = {},
): EvidentError {
  return new EvidentError(ErrorCode.USAGE, `${field}: ${message}`, { field, rule, ...extra });
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * Where a URL points, for telling two clusters that are one database apart: host(s), port,
 * database and schema. Credentials and driver parameters do not matter.
 */
function target(url: string): string {
  try {
    const u = new URL(url);
    const schema = u.searchParams.get('schema') ?? '';
    return `${u.hostname.toLowerCase()}:${u.port || '5432'}${decodeURIComponent(u.pathname)}#${schema}`;
  } catch {
    return url;
  }
}

function isPostgresUrl(v: unknown): v is string {
  if (typeof v !== 'string' || !/^postgres(ql)?:\/\/[^\s]+$/.test(v)) return false;
  try {
    new URL(v);
    return true;
  } catch {
    // A multi-host URL (host1:port,host2:port) is not a WHATWG URL: accept its shape.
    return /^postgres(ql)?:\/\/([^@/\s]+@)?[^/\s]+(\/[^\s]*)?$/.test(v);
  }
}

/**
 * Checks `clusters` and `placement` (the config file's objects) with the home URL `db`.
 * `clusters`: `{ "<name>": "postgres://..." }`; `placement`: `{ "<cluster>": ["<log>", ...] }`.
 * Undefined when neither is given: the server runs on `db` alone, as before.
 */
export function parseClusterMap(db: string, clusters: unknown, placement: unknown): ClusterMap | undefined {
  if (clusters === undefined && placement === undefined) return undefined;
  if (clusters === undefined)
    throw bad(
      'clusters',
      'required',
      'a placement needs the clusters it names (clusters: {"<name>": "postgres://..."})',
    );
  if (!isObject(clusters))
    throw bad('clusters', 'type', 'must be an object of cluster names to postgres:// URLs');
  if (!isPostgresUrl(db))
    throw bad('db', 'postgres', 'the home cluster of a cluster map must be a postgres:// URL');
  const out = new Map<string, string>([[HOME_CLUSTER, db]]);
  const seen = new Map<string, string>([[target(db), HOME_CLUSTER]]);
  const names = Object.keys(clusters);
  if (names.length + 1 > MAX_CLUSTERS)
    throw bad('clusters', 'max', `at most ${MAX_CLUSTERS - 1} clusters beside the home cluster (db)`);
  for (const name of names) {
    const field = `clusters.${name}`;
    if (name === HOME_CLUSTER)
      throw bad(field, 'reserved', `"${HOME_CLUSTER}" is the db setting's cluster: name this one otherwise`);
    if (!CLUSTER_NAME.test(name))
      throw bad(field, 'name', 'a cluster name is 1 to 32 of a-z, 0-9, "_", "-", starting with a letter');
    const url = clusters[name];
    if (!isPostgresUrl(url)) throw bad(field, 'url', 'must be a postgres:// URL');
    const t = target(url);
    const other = seen.get(t);
    if (other !== undefined)
      throw bad(field, 'duplicate', `names the same database and schema as cluster "${other}"`, {
        cluster: other,
      });
    seen.set(t, name);
    out.set(name, url);
  }
  const placed = new Map<string, string>();
  if (placement !== undefined) {
    if (!isObject(placement))
      throw bad('placement', 'type', 'must be an object of cluster names to lists of log names');
    for (const [cluster, logs] of Object.entries(placement)) {
      const field = `placement.${cluster}`;
      if (!out.has(cluster))
        throw bad(field, 'unknown_cluster', `no cluster "${cluster}" (known: ${[...out.keys()].join(', ')})`);
      if (!Array.isArray(logs)) throw bad(field, 'type', 'must be a list of log names');
      for (const [i, log] of logs.entries()) {
        const f = `${field}[${i}]`;
        if (typeof log !== 'string' || !isValidLogName(log))
          throw bad(f, 'log_name', 'must be a log name (1 to 64 of a-z, 0-9, ".", "_", "-")');
        const before = placed.get(log);
        if (before !== undefined)
          throw bad(f, 'placed_twice', `log "${log}" is placed on cluster "${before}" already`, { log });
        placed.set(log, cluster);
      }
    }
  }
  return { clusters: out, placement: placed };
}

/** The cluster a log lives on under the map. */
export function clusterOf(map: ClusterMap, log: string): string {
  return map.placement.get(log) ?? HOME_CLUSTER;
}

/** The map as the config file writes it (placement by cluster, logs sorted; home logs not listed). */
export function placementObject(map: ClusterMap): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const [log, cluster] of [...map.placement].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    if (cluster === HOME_CLUSTER) continue;
    const logs = out[cluster] ?? [];
    logs.push(log);
    out[cluster] = logs;
  }
  return out;
}
