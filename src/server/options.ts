/**
 * What buildServer and startServer take, with every default in one place: `evident serve`'s
 * settings and help read DEFAULTS (src/cli/actions/serve-settings.ts); docs/http-api.md lists them.
 */
import type { FastifyServerOptions } from 'fastify';
import { LEDGER_DEFAULTS } from '../ledger/defaults.ts';
import type { KeyRing } from '../ledger/keyfile.ts';
import type { Store } from '../store/types.ts';
import type { LedgerTuning } from './logs.ts';

export interface ServerOptions {
  /** Any Store (SQLite, PostgreSQL); the server closes it on close unless `ownsStore` is false. */
  store: Store;
  ownsStore?: boolean;
  /** Signs every log's checkpoints and access-audit events: the server cannot serve without it. */
  keyRing: KeyRing;
  /** Logs created on first use (by an admin key) get the origin `<originHost>/<log>`. */
  originHost: string;
  /** Checkpoints, proofs and the verifier key without an API key. */
  publicVerify?: boolean;
  /** Whose address is the client's: Fastify's trustProxy (true, or the trusted proxy addresses/CIDRs). */
  trustProxy?: boolean | string | string[];
  /** Most events in one ingest request (413 beyond). */
  maxBatch?: number;
  /** Largest request body in bytes (413 beyond). */
  maxBodyBytes?: number;
  /** A request body must arrive within this many ms (408 beyond): a trickling client is cut off. */
  bodyTimeoutMs?: number;
  /** Requests per API key (or per address, without a key) per window; false turns the limit off. */
  rateLimit?: { max: number; timeWindowMs: number } | false;
  /** The ledgers' group commit and pushback settings. */
  ledger?: LedgerTuning;
  /** How often grown logs get a new signed checkpoint, in ms (0: only on demand). */
  checkpointIntervalMs?: number;
  /** Fastify's logger: false (default for buildServer), true, or pino options. */
  logger?: FastifyServerOptions['logger'];
  /** Serve HTTPS with this certificate and private key (PEM). */
  https?: { cert: string | Buffer; key: string | Buffer };
  now?: () => Date;
}

export const DEFAULTS = {
  /** Loopback: a proxy in front, or --host 0.0.0.0, is a deliberate choice. */
  host: '127.0.0.1',
  port: 8080,
  publicVerify: false,
  trustProxy: false,
  maxBatch: 1000,
  maxBodyBytes: 1 << 20,
  bodyTimeoutMs: 10_000,
  rateLimit: { max: 6000, timeWindowMs: 60_000 },
  checkpointIntervalMs: LEDGER_DEFAULTS.checkpointIntervalMs,
  maxPending: LEDGER_DEFAULTS.maxPending,
} as const;

export type ResolvedOptions = Required<
  Pick<ServerOptions, 'publicVerify' | 'maxBatch' | 'maxBodyBytes' | 'bodyTimeoutMs' | 'checkpointIntervalMs'>
> &
  ServerOptions & { rateLimit: { max: number; timeWindowMs: number } | false };

export function resolveOptions(o: ServerOptions): ResolvedOptions {
  const positive = (name: string, v: number) => {
    if (!Number.isSafeInteger(v) || v < 1) throw new RangeError(`${name} must be a positive whole number`);
    return v;
  };
  return {
    ...o,
    publicVerify: o.publicVerify ?? DEFAULTS.publicVerify,
    maxBatch: positive('maxBatch', o.maxBatch ?? DEFAULTS.maxBatch),
    maxBodyBytes: positive('maxBodyBytes', o.maxBodyBytes ?? DEFAULTS.maxBodyBytes),
    bodyTimeoutMs: positive('bodyTimeoutMs', o.bodyTimeoutMs ?? DEFAULTS.bodyTimeoutMs),
    checkpointIntervalMs: o.checkpointIntervalMs ?? DEFAULTS.checkpointIntervalMs,
    rateLimit: o.rateLimit === undefined ? { ...DEFAULTS.rateLimit } : o.rateLimit,
  };
}
