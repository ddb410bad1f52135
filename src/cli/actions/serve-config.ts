/**
 * Resolving evident serve's settings: each from its flag, else its environment variable, else
 * the JSON config file (--config or $EVIDENT_CONFIG), else its default. Every bad value is a
 * usage error naming where it came from.
 */
import { hostname } from 'node:os';
import { type AlertsConfig, parseAlertsConfig } from '../../alerts/config.ts';
import { isEvidentError } from '../../core/errors.ts';
import { parseJson } from '../../core/json.ts';
import { isValidLogName } from '../../core/log-name.ts';
import { isValidKeyName } from '../../core/note-keys.ts';
import { resolveCorsOrigins } from '../../server/cors.ts';
import { resolveTrustProxy, type TrustProxy } from '../../server/trust-proxy.ts';
import { type ClusterMap, parseClusterMap } from '../../store/clusters/map.ts';
import type { Context } from '../command.ts';
import { usageError } from '../errors.ts';
import { readUserFile } from '../files.ts';
import { CONFIG_ENV, SERVE_SETTINGS, type ServeSetting } from './serve-settings.ts';

export interface ServeConfig {
  host: string;
  port: number;
  db: string;
  key: string;
  originHost: string;
  tlsCert?: string;
  tlsKey?: string;
  trustProxy: TrustProxy;
  publicVerify: string[];
  corsOrigin: readonly string[];
  maxBatch: number;
  maxBodyBytes: number;
  bodyTimeoutMs: number;
  rateLimit: number;
  anonymousRateLimit: number;
  maxPageBytes: number;
  maxPending: number;
  checkpointIntervalMs: number;
  witnessPolicy?: string;
  signerState?: string;
  witnessIntervalMs: number;
  archiveIntervalMs: number;
  archiveCheckpointIntervalMs: number;
  logLevel: string;
  /** The `alerts` object of the config file, checked (docs/alerts.md). */
  alerts: AlertsConfig;
  /** The config file, if one was given: SIGHUP reads its `alerts` again. */
  configPath?: string;
  /** The config file's `clusters` and `placement`, checked, with `db` as the home cluster (docs/clusters.md). */
  clusterMap?: ClusterMap;
}

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];
const MAX = { port: 65535 } as Record<string, number>;
const MIN = {
  maxBatch: 1,
  maxBodyBytes: 1,
  bodyTimeoutMs: 1,
  witnessIntervalMs: 1,
  maxPageBytes: 1,
  anonymousRateLimit: 1,
} as Record<string, number>;

export async function resolveServeConfig(ctx: Context): Promise<ServeConfig> {
  const configPath = flagValue(ctx, 'config') ?? envValue(ctx, CONFIG_ENV);
  const file = configPath === undefined ? {} : await readConfigFile(configPath);
  const out: Record<string, unknown> = {};
  for (const s of SERVE_SETTINGS) {
    const fromFlag = ctx.values[s.flag];
    if (fromFlag !== undefined) {
      out[s.config] = fromText(s, fromFlag === true ? 'true' : String(fromFlag), `--${s.flag}`);
      continue;
    }
    const fromEnv = envValue(ctx, s.env);
    if (fromEnv !== undefined) {
      out[s.config] = fromText(s, fromEnv, `$${s.env}`);
      continue;
    }
    if (Object.hasOwn(file, s.config)) {
      out[s.config] = fromJson(s, file[s.config], `${configPath}: ${s.config}`);
      continue;
    }
    if (
      ![
        'tlsCert',
        'tlsKey',
        'originHost',
        'trustProxy',
        'publicVerify',
        'witnessPolicy',
        'signerState',
        'corsOrigin',
      ].includes(s.config)
    )
      out[s.config] = fromText(s, s.default, 'default');
  }
  out['originHost'] ??= defaultOriginHost();
  out['trustProxy'] ??= false;
  out['publicVerify'] ??= [];
  out['corsOrigin'] ??= [];
  out['alerts'] = alertsFrom(file['alerts'], ctx.io.env, configPath);
  if (configPath !== undefined) out['configPath'] = configPath;
  const map = clusterMapFrom(file, String(out['db']), configPath);
  if (map) out['clusterMap'] = map;
  const c = out as unknown as ServeConfig;
  if ((c.tlsCert === undefined) !== (c.tlsKey === undefined)) {
    throw usageError(
      '--tls-cert and --tls-key go together',
      c.tlsCert === undefined ? '--tls-cert' : '--tls-key',
    );
  }
  if (!LOG_LEVELS.includes(c.logLevel)) {
    throw usageError(`--log-level must be one of ${LOG_LEVELS.join(', ')}`, '--log-level', { rule: 'enum' });
  }
  if (!/^[a-z0-9.-]+(:[0-9]+)?$/i.test(c.originHost) || !isValidKeyName(`${c.originHost}/x`)) {
    throw usageError('--origin-host must be a host name (letters, digits, dots, dashes)', '--origin-host');
  }
  return c;
}

function flagValue(ctx: Context, name: string): string | undefined {
  const v = ctx.values[name];
  return typeof v === 'string' ? v : undefined;
}

function envValue(ctx: Context, name: string): string | undefined {
  const v = ctx.io.env[name];
  return v === undefined || v === '' ? undefined : v;
}

function fromText(s: ServeSetting, text: string, source: string): unknown {
  if (s.config === 'trustProxy')
    return trustProxyFrom(/^(none|false|no)$/i.test(text) ? false : text, source);
  if (s.config === 'corsOrigin') return corsOriginsFrom(/^(none|false|no)$/i.test(text) ? [] : text, source);
  if (s.config === 'publicVerify') {
    if (/^(none|false|no)$/i.test(text)) return [];
    // The old boolean flag: refused, not read as a log named "true".
    return publicLogsFrom(/^(true|yes|1)$/i.test(text) ? true : text.split(',').map((x) => x.trim()), source);
  }
  switch (s.kind) {
    case 'string':
      if (text === '') throw usageError(`${source} must not be empty`, `--${s.flag}`);
      return text;
    case 'bool':
      if (/^(true|1|yes)$/i.test(text)) return true;
      if (/^(false|0|no)$/i.test(text)) return false;
      throw usageError(`${source} must be true or false, not "${text}"`, `--${s.flag}`, { rule: 'type' });
    case 'count':
      return checkCount(s, /^[0-9]{1,16}$/.test(text) ? Number(text) : Number.NaN, text, source);
  }
}

function fromJson(s: ServeSetting, v: unknown, source: string): unknown {
  if (s.config === 'trustProxy') return trustProxyFrom(v, source);
  if (s.config === 'publicVerify') return publicLogsFrom(v === false ? [] : v, source);
  if (s.config === 'corsOrigin') return corsOriginsFrom(v === false ? [] : v, source);
  if (s.kind === 'bool' && typeof v === 'boolean') return v;
  if (s.kind === 'string' && typeof v === 'string' && v !== '') return v;
  if (s.kind === 'count' && typeof v === 'number') return checkCount(s, v, String(v), source);
  const want =
    s.kind === 'count' ? 'a whole number' : s.kind === 'bool' ? 'true or false' : 'a non-empty string';
  throw usageError(`${source} must be ${want}`, `--${s.flag}`, { rule: 'type' });
}

/** --trust-proxy: the proxies' addresses or CIDRs; `true` (believe any X-Forwarded-For) is refused. */
function trustProxyFrom(v: unknown, source: string): TrustProxy {
  try {
    return resolveTrustProxy(/^(true|yes|1)$/i.test(String(v)) ? true : v);
  } catch (e) {
    throw usageError(`${source}: ${(e as Error).message.replace(/^trustProxy: /, '')}`, '--trust-proxy', {
      rule: 'format',
    });
  }
}

/** --cors-origin: the browser origins allowed to call the API (`null`: pages opened from a file). */
function corsOriginsFrom(v: unknown, source: string): readonly string[] {
  if (Array.isArray(v) && v.length === 0) return [];
  try {
    return resolveCorsOrigins(v);
  } catch (e) {
    throw usageError(`${source}: ${(e as Error).message.replace(/^corsOrigin: /, '')}`, '--cors-origin', {
      rule: 'format',
    });
  }
}

/**
 * --public-verify: the public logs by name. `true` (every log) is refused: anyone could then
 * tell the names that exist (200) from the rest (404).
 */
function publicLogsFrom(v: unknown, source: string): string[] {
  if (Array.isArray(v) && v.every((x) => typeof x === 'string' && isValidLogName(x))) return v as string[];
  throw usageError(
    `${source}: name the public logs (comma-separated); "true" would let anyone tell which log names exist`,
    '--public-verify',
    { rule: 'format' },
  );
}

function checkCount(s: ServeSetting, n: number, text: string, source: string): number {
  const min = MIN[s.config] ?? 0;
  const max = MAX[s.config] ?? Number.MAX_SAFE_INTEGER;
  if (!Number.isSafeInteger(n) || n < min || n > max) {
    throw usageError(`${source} must be a whole number from ${min} to ${max}, not "${text}"`, `--${s.flag}`, {
      rule: 'integer',
    });
  }
  return n;
}

/** The `alerts` object, checked; its errors name the file and the field. */
export function alertsFrom(
  v: unknown,
  env: Record<string, string | undefined>,
  configPath: string | undefined,
): AlertsConfig {
  return fromConfigFile(configPath, () => parseAlertsConfig(v, env));
}

/** The cluster map of a config file (`clusters`, `placement`, with `db` as home); its errors name the file and the field. */
export function clusterMapFrom(
  file: Record<string, unknown>,
  db: string,
  configPath: string | undefined,
): ClusterMap | undefined {
  return fromConfigFile(configPath, () => parseClusterMap(db, file['clusters'], file['placement']));
}

/** `parse()`, its EvidentError made a usage error of --config that names the file and keeps the details. */
function fromConfigFile<T>(configPath: string | undefined, parse: () => T): T {
  try {
    return parse();
  } catch (e) {
    if (!isEvidentError(e)) throw e;
    throw usageError(
      `${configPath === undefined ? '' : `${configPath}: `}${e.message}`,
      '--config',
      e.details,
    );
  }
}

/** Reads the config file again for its cluster map (SIGHUP), with the home cluster the server runs on. */
export async function reloadClusterMap(path: string, db: string): Promise<ClusterMap | undefined> {
  return clusterMapFrom(await readConfigFile(path), db, path);
}

/** Reads the config file again for its `alerts` object (SIGHUP). */
export async function reloadAlerts(
  path: string,
  env: Record<string, string | undefined>,
): Promise<AlertsConfig> {
  return alertsFrom((await readConfigFile(path))['alerts'], env, path);
}

export async function readConfigFile(path: string): Promise<Record<string, unknown>> {
  const text = await readUserFile(path, '--config');
  let v: unknown;
  try {
    v = parseJson(text, { maxDepth: 8 });
  } catch (e) {
    throw usageError(`--config: ${path} is not valid JSON: ${(e as Error).message}`, '--config');
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) {
    throw usageError(`--config: ${path} must hold a JSON object`, '--config');
  }
  const known = new Set([...SERVE_SETTINGS.map((s) => s.config), 'alerts', 'clusters', 'placement']);
  for (const k of Object.keys(v)) {
    if (!known.has(k)) {
      throw usageError(
        `--config: ${path} has an unknown setting "${k}" (known: ${[...known].join(', ')})`,
        '--config',
      );
    }
  }
  return v as Record<string, unknown>;
}

function defaultOriginHost(): string {
  const h = hostname().toLowerCase();
  return /^[a-z0-9.-]+$/.test(h) && h !== '' ? h : 'localhost';
}
