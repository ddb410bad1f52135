/** What every route shares, and what the access guard leaves on each request. */
import type { AlertRunner } from '../alerts/runner.ts';
import type { ArchiveScheduler } from '../archive/scheduler.ts';
import type { Ledger } from '../ledger/ledger.ts';
import type { ApiKeyRecord, ApiKeyStore, CosignatureStore, Scope, Store } from '../store/types.ts';
import type { AccessTally } from './access-tally.ts';
import type { LogRegistry } from './logs.ts';
import type { ServerMetrics } from './metrics.ts';
import type { ResolvedOptions } from './options.ts';
import type { Witnessing } from './witnessing.ts';

export interface ServerContext {
  options: ResolvedOptions;
  /** The store, instrumented for metrics. */
  store: Store & ApiKeyStore & CosignatureStore;
  registry: LogRegistry;
  /** Sends checkpoints to witnesses and gathers their cosignatures, when witnesses are configured. */
  witnessing?: Witnessing;
  metrics: ServerMetrics;
  /** Access without a valid key: counted per address and window, written once per window. */
  tally: AccessTally;
  /** Set once shutdown begins: /readyz answers 503 from then on. */
  lifecycle: { closing: boolean };
  /** The scheduled archive pass (docs/retention.md); its failures show in /readyz and /metrics. */
  archive: ArchiveScheduler;
  /** The alert runner (docs/alerts.md), when alerts are configured and the store keeps them. */
  alerts?: AlertRunner;
}

/** A route's access rule (route `config.access`); routes without one are open (health, docs). */
export interface AccessRule {
  /** The scope the route needs; `admin` holds every scope. */
  scope: Exclude<Scope, 'admin'>;
  /** The action of the access-audit event for this route, e.g. `audit_log.query`. */
  action: string;
  /** An admin key may create the log on first use (ingest only). */
  createLog?: boolean;
}

export interface RequestState {
  /** The authenticated key, or undefined for an anonymous request. */
  key: ApiKeyRecord | undefined;
  /** The log the route works on, once the guard let the request through. */
  ledger: Ledger | undefined;
  /** The key id a request claimed when its key failed to authenticate (for the denial record). */
  claimedKeyId?: string;
}

declare module 'fastify' {
  interface FastifyRequest {
    evident: RequestState;
  }
  interface FastifyInstance {
    /** Writes the counted access of callers without a valid key now, instead of at the window's end. */
    flushAccessTally(): Promise<void>;
    /** Runs the archive pass of every log with an archive target now (as the schedule would). */
    runArchivePass(): Promise<void>;
    /** The alert runner, when alerts run (reload, evaluate now, drain the queue). */
    alerts: AlertRunner | undefined;
    /** Closes these logs' ledgers: the next request opens each where the cluster map now places it. */
    forgetLogs(names: readonly string[]): Promise<void>;
  }
  interface FastifyContextConfig {
    access?: AccessRule;
  }
}

/** The ledger the guard resolved; routes with an access rule always have one. */
export function ledgerOf(req: { evident: RequestState }): Ledger {
  const l = req.evident.ledger;
  if (!l) throw new Error('route reached without a resolved log');
  return l;
}
