/**
 * evident serve's settings, declared once: the flags and their help, the environment variables
 * and the config file keys all come from this list. Resolution: flag, else environment, else
 * config file, else default. Each default is read from its one home (the server's DEFAULTS, the
 * CLI's defaults), never written here again; those modules import nothing at run time beyond
 * the ledger's defaults, so `--help` loads nothing else.
 */
import { DEFAULTS } from '../../server/options.ts';
import { DEFAULT_DB, DEFAULT_KEY, SERVE_DEFAULT_LOG_LEVEL } from '../defaults.ts';

export interface ServeSetting {
  flag: string;
  env: string;
  /** Key in the JSON config file. */
  config: string;
  kind: 'string' | 'count' | 'bool';
  value?: string;
  description: string;
  /** As shown in help; applied by resolveServeConfig. */
  default: string;
}

export const SERVE_SETTINGS: readonly ServeSetting[] = [
  {
    flag: 'host',
    env: 'EVIDENT_HOST',
    config: 'host',
    kind: 'string',
    value: 'ADDR',
    description: 'address to listen on',
    default: DEFAULTS.host,
  },
  {
    flag: 'port',
    env: 'EVIDENT_PORT',
    config: 'port',
    kind: 'count',
    value: 'N',
    description: 'port to listen on (0: a free one)',
    default: String(DEFAULTS.port),
  },
  {
    flag: 'db',
    env: 'EVIDENT_DB',
    config: 'db',
    kind: 'string',
    value: 'PATH_OR_URL',
    description: 'SQLite database file, or a postgres:// URL',
    default: DEFAULT_DB,
  },
  {
    flag: 'key',
    env: 'EVIDENT_KEY',
    config: 'key',
    kind: 'string',
    value: 'FILE',
    description: 'signing key file; $EVIDENT_SIGNING_KEY, if set, is used instead',
    default: DEFAULT_KEY,
  },
  {
    flag: 'origin-host',
    env: 'EVIDENT_ORIGIN_HOST',
    config: 'originHost',
    kind: 'string',
    value: 'NAME',
    description: 'logs created on first use get the origin <NAME>/<log>',
    default: 'this host name',
  },
  {
    flag: 'tls-cert',
    env: 'EVIDENT_TLS_CERT',
    config: 'tlsCert',
    kind: 'string',
    value: 'FILE',
    description: 'serve HTTPS with this PEM certificate (with --tls-key)',
    default: 'none: plain HTTP',
  },
  {
    flag: 'tls-key',
    env: 'EVIDENT_TLS_KEY',
    config: 'tlsKey',
    kind: 'string',
    value: 'FILE',
    description: 'the PEM private key of --tls-cert',
    default: 'none',
  },
  {
    flag: 'trust-proxy',
    env: 'EVIDENT_TRUST_PROXY',
    config: 'trustProxy',
    kind: 'string',
    value: 'ADDRS',
    description:
      'the proxies in front, by address or CIDR (comma-separated): X-Forwarded-For is read from the right, past them',
    default: 'none',
  },
  {
    flag: 'public-verify',
    env: 'EVIDENT_PUBLIC_VERIFY',
    config: 'publicVerify',
    kind: 'string',
    value: 'LOGS',
    description:
      "serve these logs' checkpoints, proofs and verifier keys without an API key (comma-separated names)",
    default: 'none',
  },
  {
    flag: 'cors-origin',
    env: 'EVIDENT_CORS_ORIGIN',
    config: 'corsOrigin',
    kind: 'string',
    value: 'ORIGINS',
    description:
      'browser pages of these origins may call the API (comma-separated scheme://host[:port]; null: a page opened from a file, such as evident viewer --out)',
    default: 'none',
  },
  {
    flag: 'max-batch',
    env: 'EVIDENT_MAX_BATCH',
    config: 'maxBatch',
    kind: 'count',
    value: 'N',
    description: 'most events in one ingest request',
    default: String(DEFAULTS.maxBatch),
  },
  {
    flag: 'max-body-bytes',
    env: 'EVIDENT_MAX_BODY_BYTES',
    config: 'maxBodyBytes',
    kind: 'count',
    value: 'N',
    description: 'largest request body',
    default: String(DEFAULTS.maxBodyBytes),
  },
  {
    flag: 'body-timeout-ms',
    env: 'EVIDENT_BODY_TIMEOUT_MS',
    config: 'bodyTimeoutMs',
    kind: 'count',
    value: 'MS',
    description: 'a request body must arrive within this time (408 beyond)',
    default: String(DEFAULTS.bodyTimeoutMs),
  },
  {
    flag: 'rate-limit',
    env: 'EVIDENT_RATE_LIMIT',
    config: 'rateLimit',
    kind: 'count',
    value: 'N',
    description: 'requests per minute per API key (per address without a key); 0: no limit',
    default: String(DEFAULTS.rateLimit.max),
  },
  {
    flag: 'anonymous-rate-limit',
    env: 'EVIDENT_ANONYMOUS_RATE_LIMIT',
    config: 'anonymousRateLimit',
    kind: 'count',
    value: 'N',
    description: 'requests per minute per address without a valid API key (at most --rate-limit)',
    default: String(DEFAULTS.rateLimit.anonymousMax),
  },
  {
    flag: 'max-page-bytes',
    env: 'EVIDENT_MAX_PAGE_BYTES',
    config: 'maxPageBytes',
    kind: 'count',
    value: 'N',
    description: 'most bytes of entries in one page of a query (a cursor goes on from there)',
    default: String(DEFAULTS.maxPageBytes),
  },
  {
    flag: 'max-pending',
    env: 'EVIDENT_MAX_PENDING',
    config: 'maxPending',
    kind: 'count',
    value: 'N',
    description: 'events waiting for a commit, per log, before ingest answers 503',
    default: String(DEFAULTS.maxPending),
  },
  {
    flag: 'checkpoint-interval-ms',
    env: 'EVIDENT_CHECKPOINT_INTERVAL_MS',
    config: 'checkpointIntervalMs',
    kind: 'count',
    value: 'MS',
    description:
      'sign a checkpoint of each grown log this often, by a timer and inside appends (0: only when a request with a key needs one, and at shutdown)',
    default: String(DEFAULTS.checkpointIntervalMs),
  },
  {
    flag: 'signer-state',
    env: 'EVIDENT_SIGNER_STATE',
    config: 'signerState',
    kind: 'string',
    value: 'DIR',
    description:
      "record each log's largest checkpoint let out in DIR, outside the database, and never sign a tree that contradicts it (docs/threat-model.md)",
    default: 'none: off',
  },
  {
    flag: 'witness-policy',
    env: 'EVIDENT_WITNESS_POLICY',
    config: 'witnessPolicy',
    kind: 'string',
    value: 'FILE',
    description:
      'send each checkpoint to the witnesses of this C2SP tlog-policy file (witness lines with URLs, a quorum)',
    default: 'none',
  },
  {
    flag: 'witness-interval-ms',
    env: 'EVIDENT_WITNESS_INTERVAL_MS',
    config: 'witnessIntervalMs',
    kind: 'count',
    value: 'MS',
    description: 'at most one witnessing round per log this often',
    default: String(DEFAULTS.witnessIntervalMs),
  },
  {
    flag: 'archive-interval-ms',
    env: 'EVIDENT_ARCHIVE_INTERVAL_MS',
    config: 'archiveIntervalMs',
    kind: 'count',
    value: 'MS',
    description: 'run the archive pass of each log with an archive target this often (0: never)',
    default: String(DEFAULTS.archiveIntervalMs),
  },
  {
    flag: 'archive-checkpoint-interval-ms',
    env: 'EVIDENT_ARCHIVE_CHECKPOINT_INTERVAL_MS',
    config: 'archiveCheckpointIntervalMs',
    kind: 'count',
    value: 'MS',
    description:
      "put each log's latest signed checkpoint to its archive targets this often, after the rollback check (0: only at archive passes)",
    default: String(DEFAULTS.archiveCheckpointIntervalMs),
  },
  {
    flag: 'log-level',
    env: 'EVIDENT_LOG_LEVEL',
    config: 'logLevel',
    kind: 'string',
    value: 'LEVEL',
    description: 'fatal, error, warn, info, debug, trace or silent',
    default: SERVE_DEFAULT_LOG_LEVEL,
  },
];

export const CONFIG_ENV = 'EVIDENT_CONFIG';
