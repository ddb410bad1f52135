/** EvidentClient's options, their defaults, and the checks that refuse a bad configuration at open. */

import { API_KEY_TEXT } from '../core/api-key-text.ts';
import { ErrorCode, EvidentError } from '../core/errors.ts';
import { isValidLogName, LOG_NAME_RULE } from '../core/log-name.ts';
import { quorumPolicy, type WitnessPolicy } from '../core/witness-policy.ts';

export type OnFull = 'reject' | 'block';

/** What the client reports to the application (never thrown into it). */
export interface ClientHooks {
  /**
   * Every failure the background work meets: a delivery attempt that will be retried, an event
   * set aside (DELIVERY_REJECTED), a failed checkpoint check (CHECKPOINT_INCONSISTENT, ...).
   * An exception thrown here is caught and ignored.
   */
  onError?: (error: EvidentError) => void;
  /** An event the server refused for good, after it was written to the rejected file. */
  onRejected?: (event: Readonly<Record<string, unknown>>, error: EvidentError) => void;
  /**
   * Where the client's warnings go (default `console.warn`; `false` for none): the first failure
   * of each run of failed deliveries, each event set aside, each stall (DELIVERY_STALLED) and
   * each failed checkpoint check. A client that cannot deliver is never silent by default.
   */
  warn?: ((message: string) => void) | false;
}

export interface ClientOptions extends ClientHooks {
  /** Base URL of `evident serve`, e.g. `https://audit.internal:8080`. */
  url: string;
  /** An API key with the ingest scope on `log` (`evk_<id>_<secret>`). */
  apiKey: string;
  /** The log's name. */
  log: string;
  /** The spool directory, created if missing; one process at a time (a lock file). */
  spoolDir: string;
  /** Most undelivered events the spool holds. Default 100,000. */
  maxEvents?: number;
  /** Most bytes of undelivered events (as spooled JSON) the spool holds. Default 64 MiB. */
  maxBytes?: number;
  /** When the spool is full: refuse at once (`reject`, default) or wait for room (`block`). */
  onFull?: OnFull;
  /** With `onFull: 'block'`, how long a record() waits for room before SPOOL_FULL. Default 5,000 ms. */
  blockTimeoutMs?: number;
  /** Size at which the spool starts a new segment file. Default 8 MiB. */
  segmentBytes?: number;
  /** Most events in one request. Default 500 (the server's default limit is 1,000). */
  batchSize?: number;
  /** Most bytes of events in one request. Default 512 KiB (the server's default body limit is 1 MiB). */
  batchBytes?: number;
  /** How long the sender waits for a batch to fill before sending a partial one. Default 20 ms. */
  lingerMs?: number;
  /** First retry delay; it doubles on each failure, with full jitter. Default 200 ms. */
  retryBaseMs?: number;
  /** Longest retry delay (a larger Retry-After from the server still wins). Default 30,000 ms. */
  retryMaxMs?: number;
  /** Timeout of one HTTP request. Default 30,000 ms. */
  requestTimeoutMs?: number;
  /**
   * How long ensureWritable() trusts the last successful spool write; past that it writes and
   * fsyncs a probe file. Default 1,000 ms.
   */
  probeIntervalMs?: number;
  /**
   * The log's verifier key (`<name>+<key id>+<base64>`, what GET /v1/logs/{log}/key serves,
   * checked out of band). With it, checkLog() verifies each new checkpoint against the last one
   * it verified (kept in the spool directory).
   */
  verifierKey?: string;
  /** The API key for the checkpoint and proof routes (verify scope). Default: `apiKey`. */
  verifyApiKey?: string;
  /** The checkpoint's expected origin. Default: the verifier key's name. */
  origin?: string;
  /**
   * With a verifier key: the witnesses whose cosignatures a new checkpoint must carry
   * (cosigner vkeys, C2SP tlog-cosignature) and how many of them (`quorum`, default all).
   * checkLog() then refuses a checkpoint with fewer valid cosignatures (WITNESS_QUORUM_UNMET)
   * and keeps the last one it accepted (docs/witness.md).
   */
  witnesses?: { vkeys: readonly string[]; quorum?: number };
  /**
   * With a verifier key: run checkLog() after a delivery, at most once per this many ms (0: only
   * when called). Each check's consistency proof is itself an audited read on the server. Default 0.
   */
  checkIntervalMs?: number;
  /** Start the background sender at open. Default true. */
  deliver?: boolean;
  /**
   * After this long with events waiting and none delivered (or set aside), the client reports
   * DELIVERY_STALLED, once per stall, and stats().stalledSince says since when. Default 5 minutes.
   */
  stallAfterMs?: number;
}

export interface ResolvedOptions
  extends Required<Omit<ClientOptions, keyof ClientHooks | 'verifierKey' | 'origin' | 'witnesses'>> {
  verifierKey: string | undefined;
  origin: string | undefined;
  witnesses: WitnessPolicy | undefined;
  hooks: ClientHooks;
}

export const DEFAULTS = {
  maxEvents: 100_000,
  maxBytes: 64 * 1024 * 1024,
  onFull: 'reject' as OnFull,
  blockTimeoutMs: 5_000,
  segmentBytes: 8 * 1024 * 1024,
  batchSize: 500,
  batchBytes: 512 * 1024,
  lingerMs: 20,
  retryBaseMs: 200,
  retryMaxMs: 30_000,
  requestTimeoutMs: 30_000,
  probeIntervalMs: 1_000,
  checkIntervalMs: 0,
  deliver: true,
  stallAfterMs: 5 * 60_000,
} as const;

function usage(field: string, message: string): EvidentError {
  return new EvidentError(ErrorCode.USAGE, `${field}: ${message}`, { field });
}

function positiveInt(o: ClientOptions, field: keyof typeof DEFAULTS, min: number): number {
  const v = (o as unknown as Record<string, unknown>)[field] ?? DEFAULTS[field];
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min) {
    throw usage(field, `must be an integer of at least ${min}`);
  }
  return v;
}

/** Fills in the defaults; a wrong option is a USAGE error naming it. */
export function resolveOptions(o: ClientOptions): ResolvedOptions {
  for (const f of ['url', 'apiKey', 'log', 'spoolDir'] as const) {
    if (typeof o[f] !== 'string' || o[f].length === 0) throw usage(f, 'is required');
  }
  try {
    const u = new URL(o.url);
    if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new Error('protocol');
  } catch {
    throw usage('url', 'must be an http or https URL');
  }
  // The server's rule for log names: a bad one would be a 400 for every request.
  if (!isValidLogName(o.log)) throw usage('log', `must be ${LOG_NAME_RULE}`);
  // A key that is not one (a typo, a truncated paste, the wrong variable) would be refused with
  // 401 on every attempt while events pile up in the spool: refuse it here, where it is seen.
  if (!API_KEY_TEXT.test(o.apiKey)) throw usage('apiKey', 'is not an API key (evk_<12 hex>_<43 base64url>)');
  if (o.verifyApiKey !== undefined && !API_KEY_TEXT.test(o.verifyApiKey)) {
    throw usage('verifyApiKey', 'is not an API key (evk_<12 hex>_<43 base64url>)');
  }
  const onFull = o.onFull ?? DEFAULTS.onFull;
  if (onFull !== 'reject' && onFull !== 'block') throw usage('onFull', "must be 'reject' or 'block'");
  return {
    url: o.url.replace(/\/+$/, ''),
    apiKey: o.apiKey,
    log: o.log,
    spoolDir: o.spoolDir,
    maxEvents: positiveInt(o, 'maxEvents', 1),
    maxBytes: positiveInt(o, 'maxBytes', 1024),
    onFull,
    blockTimeoutMs: positiveInt(o, 'blockTimeoutMs', 0),
    segmentBytes: positiveInt(o, 'segmentBytes', 4096),
    batchSize: positiveInt(o, 'batchSize', 1),
    batchBytes: positiveInt(o, 'batchBytes', 1024),
    lingerMs: positiveInt(o, 'lingerMs', 0),
    retryBaseMs: positiveInt(o, 'retryBaseMs', 1),
    retryMaxMs: positiveInt(o, 'retryMaxMs', 1),
    requestTimeoutMs: positiveInt(o, 'requestTimeoutMs', 1),
    probeIntervalMs: positiveInt(o, 'probeIntervalMs', 0),
    checkIntervalMs: positiveInt(o, 'checkIntervalMs', 0),
    stallAfterMs: positiveInt(o, 'stallAfterMs', 1),
    deliver: o.deliver ?? DEFAULTS.deliver,
    verifierKey: o.verifierKey?.trim(),
    verifyApiKey: o.verifyApiKey ?? o.apiKey,
    origin: o.origin,
    witnesses: o.witnesses
      ? quorumPolicy(o.witnesses.vkeys, o.witnesses.quorum ?? o.witnesses.vkeys.length)
      : undefined,
    hooks: {
      ...(o.onError ? { onError: o.onError } : {}),
      ...(o.onRejected ? { onRejected: o.onRejected } : {}),
      ...(o.warn !== undefined ? { warn: o.warn } : {}),
    },
  };
}
