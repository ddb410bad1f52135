/**
 * What buildServer and startServer take, with every default in one place: `evident serve`'s
 * settings and help read DEFAULTS (src/cli/actions/serve-settings.ts); docs/http-api.md lists them.
 */
import type { FastifyServerOptions } from 'fastify';
import type { AlertsConfig } from '../alerts/config.ts';
import { isValidLogName } from '../core/log-name.ts';
import type { WitnessPolicy } from '../core/witness-policy.ts';
import { LEDGER_DEFAULTS } from '../ledger/defaults.ts';
import type { KeyRing } from '../ledger/keyfile.ts';
import type { ApiKeyStore, CosignatureStore, Store } from '../store/types.ts';
import { TALLY_DEFAULTS, type TallyOptions } from './access-tally.ts';
import { resolveCorsOrigins } from './cors.ts';
import type { LedgerTuning } from './logs.ts';
import { resolveTrustProxy, type TrustProxy } from './trust-proxy.ts';

export interface ServerOptions {
  /** Any Store (SQLite, PostgreSQL); the server closes it on close unless `ownsStore` is false. */
  store: Store & ApiKeyStore & CosignatureStore;
  ownsStore?: boolean;
  /** Signs every log's checkpoints and access-audit events: the server cannot serve without it. */
  keyRing: KeyRing;
  /** Logs created on first use (by an admin key) get the origin `<originHost>/<log>`. */
  originHost: string;
  /**
   * The logs whose checkpoints, proofs and verifier key are served without an API key, by name.
   * Every other log answers a caller without a key 401, whether it exists or not, so that log
   * names cannot be probed. `true` (every log) is refused: it would tell existing names (200)
   * from the rest (404).
   */
  publicVerify?: false | readonly string[];
  /**
   * Which X-Forwarded-For hops to believe (./trust-proxy.ts): the trusted proxies' addresses or
   * CIDRs (a list, or one comma-separated string). `true` is refused: it would believe the
   * leftmost value, which the client writes; so is a hop count.
   */
  trustProxy?: false | string | string[];
  /**
   * Browser pages of other origins that may call the API (./cors.ts): `scheme://host[:port]`, or
   * `null` for a page opened from a file (the auditor's own copy of the viewer). Off by default.
   */
  corsOrigin?: false | string | readonly string[];
  /** Most events in one ingest request (413 beyond). */
  maxBatch?: number;
  /** Largest request body in bytes (413 beyond). */
  maxBodyBytes?: number;
  /** A request body must arrive within this many ms (408 beyond): a trickling client is cut off. */
  bodyTimeoutMs?: number;
  /**
   * Most bytes of entries in one page of a query (a page stops before the entry that would pass
   * it, with a cursor); it always holds at least one entry.
   */
  maxPageBytes?: number;
  /**
   * Requests per API key per window, and per address for requests without a valid key
   * (`anonymousMax`, default 600 a minute); false turns the limit off.
   */
  rateLimit?: { max: number; timeWindowMs: number; anonymousMax?: number } | false;
  /** How access without a valid key is counted and written (./access-tally.ts). */
  anonymousAudit?: Partial<TallyOptions>;
  /**
   * The ledgers' group commit and pushback settings; a `checkpointIntervalMs` here wins over the
   * server's for the checkpoints signed inside appends.
   */
  ledger?: LedgerTuning;
  /**
   * The signer state directory (../ledger/signer-state.ts): the largest checkpoint of each log
   * let out by this host, kept outside the database; no tree contradicting it is ever signed.
   * Off unless given (docs/threat-model.md, "Published checkpoints").
   */
  signerState?: string;
  /**
   * How often grown logs get a new signed checkpoint, in ms: by a background timer, and by each
   * ledger inside its append commits. 0: only on demand (a request with a key that needs one),
   * and a last one at close.
   */
  checkpointIntervalMs?: number;
  /**
   * Witnesses to send each new checkpoint to (C2SP tlog-witness), from a tlog-policy file with
   * `witness <name> <vkey> <url>` lines and a quorum; the checkpoint route serves every
   * cosignature gathered and says whether the quorum is met (docs/witness.md).
   */
  witnesses?: {
    policy: WitnessPolicy;
    /** Least time between two witnessing rounds of one log, in ms. */
    intervalMs?: number;
    /** One request's deadline, in ms. */
    timeoutMs?: number;
    /** First wait before retrying a failing witness (doubling per failure), in ms. */
    minBackoffMs?: number;
    /** Longest wait before retrying a failing witness, in ms. */
    maxBackoffMs?: number;
  };
  /**
   * How often each log with an archive target gets an archive pass (seal, archive, prune), in ms
   * (0: never; run `evident archive run` instead). Failed passes are retried with backoff.
   */
  archiveIntervalMs?: number;
  /**
   * How often each log's latest signed checkpoint is put to its archive targets between passes,
   * after the pass's rollback check, in ms (0: only at passes).
   */
  archiveCheckpointIntervalMs?: number;
  /**
   * Anomaly alerts (docs/alerts.md): rules on the committed events of every log, raised once
   * across processes, each an `evident.alert` event, sent to signed webhooks, syslog and the
   * process log. Absent: no alerts (`evident serve` always passes its config, defaults included).
   */
  alerts?: AlertsConfig;
  /** First retry delay of a failed alert delivery, in ms (doubling). */
  alertRetryMs?: number;
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
  publicVerify: [] as readonly string[],
  trustProxy: false,
  maxBatch: 1000,
  maxBodyBytes: 1 << 20,
  bodyTimeoutMs: 10_000,
  maxPageBytes: 8 << 20,
  rateLimit: { max: 6000, timeWindowMs: 60_000, anonymousMax: 600 },
  checkpointIntervalMs: LEDGER_DEFAULTS.checkpointIntervalMs,
  /** Hourly: a segment is sealed within the hour after it closes. */
  archiveIntervalMs: 3_600_000,
  /** Each minute: a rollback of the store is caught from the archive within about a minute. */
  archiveCheckpointIntervalMs: 60_000,
  maxPending: LEDGER_DEFAULTS.maxPending,
  /** Witnessing: a round per log at most this often, each request within the timeout, retries backing off to the cap. */
  witnessIntervalMs: 10_000,
  witnessTimeoutMs: 5_000,
  witnessMinBackoffMs: 1_000,
  witnessMaxBackoffMs: 60_000,
} as const;

export type ResolvedOptions = Required<
  Pick<
    ServerOptions,
    | 'maxBatch'
    | 'maxBodyBytes'
    | 'bodyTimeoutMs'
    | 'maxPageBytes'
    | 'checkpointIntervalMs'
    | 'archiveIntervalMs'
    | 'archiveCheckpointIntervalMs'
  >
> &
  Omit<ServerOptions, 'trustProxy' | 'publicVerify' | 'corsOrigin'> & {
    /** The public logs' names (empty: none). */
    publicVerify: readonly string[];
    /** The origins allowed to call the API from a browser (empty: none). */
    corsOrigin: readonly string[];
    trustProxy: TrustProxy;
    rateLimit: { max: number; timeWindowMs: number; anonymousMax: number } | false;
    anonymousAudit: TallyOptions;
  };

export function resolveOptions(o: ServerOptions): ResolvedOptions {
  const positive = (name: string, v: number) => {
    if (!Number.isSafeInteger(v) || v < 1) throw new RangeError(`${name} must be a positive whole number`);
    return v;
  };
  return {
    ...o,
    publicVerify: resolvePublicLogs(o.publicVerify),
    corsOrigin: resolveCorsOrigins(o.corsOrigin),
    maxBatch: positive('maxBatch', o.maxBatch ?? DEFAULTS.maxBatch),
    maxBodyBytes: positive('maxBodyBytes', o.maxBodyBytes ?? DEFAULTS.maxBodyBytes),
    bodyTimeoutMs: positive('bodyTimeoutMs', o.bodyTimeoutMs ?? DEFAULTS.bodyTimeoutMs),
    maxPageBytes: positive('maxPageBytes', o.maxPageBytes ?? DEFAULTS.maxPageBytes),
    checkpointIntervalMs: o.checkpointIntervalMs ?? DEFAULTS.checkpointIntervalMs,
    archiveIntervalMs: o.archiveIntervalMs ?? DEFAULTS.archiveIntervalMs,
    archiveCheckpointIntervalMs: o.archiveCheckpointIntervalMs ?? DEFAULTS.archiveCheckpointIntervalMs,
    trustProxy: resolveTrustProxy(o.trustProxy),
    rateLimit:
      o.rateLimit === undefined
        ? { ...DEFAULTS.rateLimit }
        : o.rateLimit && {
            ...o.rateLimit,
            anonymousMax: positive(
              'rateLimit.anonymousMax',
              o.rateLimit.anonymousMax ?? Math.min(o.rateLimit.max, DEFAULTS.rateLimit.anonymousMax),
            ),
          },
    anonymousAudit: {
      windowMs: positive('anonymousAudit.windowMs', o.anonymousAudit?.windowMs ?? TALLY_DEFAULTS.windowMs),
      maxAddresses: positive(
        'anonymousAudit.maxAddresses',
        o.anonymousAudit?.maxAddresses ?? TALLY_DEFAULTS.maxAddresses,
      ),
    },
  };
}

function resolvePublicLogs(v: unknown): readonly string[] {
  if (v === undefined || v === false) return [];
  if (!Array.isArray(v) || !v.every((x) => typeof x === 'string' && isValidLogName(x))) {
    throw new RangeError(
      'publicVerify: the names of the public logs (true is refused: it would let anyone tell which log names exist)',
    );
  }
  return [...v];
}
