/**
 * Finding the primary among several PostgreSQL servers (a primary and its hot standbys, with
 * failover done by PostgreSQL's own promotion: pg_ctl promote, or a manager that calls it).
 * node-postgres connects to one host; this pool keeps one node-postgres pool on the server
 * found to be the primary: each host in the URL's order is tried, and the first where
 * `SELECT pg_is_in_recovery()` is false is kept. A query or checkout on it that fails in a way
 * that says it may no longer be the primary (errors.ts, isServerLoss: connection lost or
 * refused, shutdown, 25006 read-only transaction) drops it, and the next one searches again.
 * Nothing is retried here: the failed request gets STORE_BUSY (its outcome, for a COMMIT, is
 * unknown; the client retries by event id, which is idempotent). While no host is a primary,
 * every query fails at once with STORE_BUSY (the search runs at most once per SEARCH_PAUSE_MS).
 */
import { ErrorCode, EvidentError } from '../../core/errors.ts';
import { createPool, type PgClient, type PgPool, type PgQuery, type PgResult } from './driver.ts';
import { isServerLoss, RETRY_AFTER_MS } from './errors.ts';
import type { HostTarget, ParsedPostgresUrl } from './hosts.ts';

/** After a search that found no primary, queries fail with its error for this long. */
export const SEARCH_PAUSE_MS = 200;

const PROBE = 'SELECT pg_is_in_recovery() AS standby';

export interface PrimaryPoolSettings {
  targets: readonly HostTarget[];
  max: number;
  connectionTimeoutMillis: number;
  application_name: string;
}

interface Primary {
  target: HostTarget;
  pool: PgPool;
}

export class PrimaryPool implements PgPool {
  private current: Primary | undefined;
  private searching: Promise<Primary> | undefined;
  private failed: { at: number; error: EvidentError } | undefined;
  private readonly retired = new Set<Promise<void>>();
  private ended = false;
  /**
   * Connections seen to be on the primary. A new connection of the pool is checked before its
   * first use: the host it connects to may have been rebuilt as a standby since the search
   * (where a read would be stale, and a write refused with 0A000, not 25006).
   */
  private readonly verified = new WeakSet<object>();

  constructor(private readonly settings: PrimaryPoolSettings) {}

  /** The `host:port` of the primary in use, if one is known now. */
  get primaryHost(): string | undefined {
    return this.current?.target.label;
  }

  /** The primary's pool: the one in use, else the result of a search (one at a time). */
  async primary(): Promise<Primary> {
    if (this.ended) throw new EvidentError(ErrorCode.LEDGER_CLOSED, 'store is closed');
    if (this.current) return this.current;
    if (this.failed && Date.now() - this.failed.at < SEARCH_PAUSE_MS) throw this.failed.error;
    this.searching ??= this.search().finally(() => {
      this.searching = undefined;
    });
    return this.searching;
  }

  private async search(): Promise<Primary> {
    const seen: { host: string; role?: string; error?: string }[] = [];
    for (const target of this.settings.targets) {
      const pool = await createPool({
        connectionString: target.connectionString,
        max: this.settings.max,
        connectionTimeoutMillis: this.settings.connectionTimeoutMillis,
        application_name: this.settings.application_name,
      });
      try {
        // The probe's connection stays in the pool, known to be on the primary.
        const client = await pool.connect();
        let standby: boolean | undefined;
        try {
          standby = (await client.query<{ standby: boolean }>(PROBE)).rows[0]?.standby;
          this.verified.add(client);
          client.release();
        } catch (e) {
          client.release(true);
          throw e;
        }
        if (standby === false) {
          if (this.ended) {
            await pool.end().catch(() => undefined);
            throw new EvidentError(ErrorCode.LEDGER_CLOSED, 'store is closed');
          }
          this.current = { target, pool };
          this.failed = undefined;
          return this.current;
        }
        seen.push({ host: target.label, role: 'standby' });
      } catch (e) {
        if (e instanceof EvidentError) throw e;
        const code = (e as { code?: unknown }).code;
        seen.push({ host: target.label, error: typeof code === 'string' ? code : (e as Error).message });
      }
      this.retire(pool);
    }
    const error = new EvidentError(
      ErrorCode.STORE_BUSY,
      `PostgreSQL is unavailable: no primary among ${seen.map((s) => `${s.host} (${s.role ?? s.error})`).join(', ')}`,
      { hosts: seen, retry_after_ms: RETRY_AFTER_MS },
    );
    this.failed = { at: Date.now(), error };
    throw error;
  }

  /** Ends a pool in the background (its clients still checked out end when released). */
  private retire(pool: PgPool): void {
    const ending: Promise<void> = pool
      .end()
      .catch(() => undefined)
      .finally(() => this.retired.delete(ending));
    this.retired.add(ending);
  }

  /** A failure on `p` that says it may no longer be the primary drops it: the next use searches. */
  private suspect(p: Primary, e: unknown, lost = isServerLoss(e)): void {
    if (this.current !== p || !lost) return;
    this.current = undefined;
    this.retire(p.pool);
  }

  /** STORE_BUSY: the primary `p` was given up while a request was using it. */
  private changed(p: Primary, cause: unknown): EvidentError {
    return new EvidentError(
      ErrorCode.STORE_BUSY,
      `PostgreSQL is unavailable: ${p.target.label} was given up as the primary (failover)`,
      {
        host: p.target.label,
        cause: (cause as Error)?.message ?? String(cause),
        retry_after_ms: RETRY_AFTER_MS,
      },
    );
  }

  /** One query on a connection of the primary (as node-postgres's Pool.query does it). */
  async query<R = Record<string, unknown>>(
    text: string | PgQuery,
    values?: readonly unknown[],
  ): Promise<PgResult<R>> {
    const client = await this.connect();
    let result: PgResult<R>;
    try {
      result = await client.query<R>(text, values);
    } catch (e) {
      client.release(e as Error);
      throw e;
    }
    client.release();
    return result;
  }

  async connect(): Promise<PgClient> {
    const p = await this.primary();
    let client: PgClient;
    try {
      client = await p.pool.connect();
    } catch (e) {
      // Another request found the primary lost meanwhile and ended its pool: node-postgres then
      // refuses the checkout ("Cannot use a pool after calling end"), which says nothing of this
      // request. It is the same failover, retryable like the failure that ended the pool.
      if (this.current !== p) throw this.changed(p, e);
      this.suspect(p, e);
      throw e;
    }
    if (!this.verified.has(client)) {
      let standby: boolean | undefined;
      try {
        standby = (await client.query<{ standby: boolean }>(PROBE)).rows[0]?.standby;
      } catch (e) {
        client.release(true);
        this.suspect(p, e);
        throw e;
      }
      if (standby !== false) {
        client.release(true);
        const e = new EvidentError(
          ErrorCode.STORE_BUSY,
          `PostgreSQL is unavailable: ${p.target.label} is no longer the primary (it is in recovery)`,
          { host: p.target.label, retry_after_ms: RETRY_AFTER_MS },
        );
        this.suspect(p, e, true);
        throw e;
      }
      this.verified.add(client);
    }
    const suspect = (e: unknown) => this.suspect(p, e);
    return {
      async query<R>(text: string | PgQuery, values?: readonly unknown[]): Promise<PgResult<R>> {
        try {
          return await client.query<R>(text, values);
        } catch (e) {
          suspect(e);
          throw e;
        }
      },
      release: (destroy?: Error | boolean) => client.release(destroy),
      on: (event: 'error', listener: (e: Error) => void) => client.on(event, listener),
      off: (event: 'error', listener: (e: Error) => void) => client.off(event, listener),
    };
  }

  /** Each node-postgres pool has its own listener (driver.ts); nothing reaches this one. */
  on(_event: 'error', _listener: (e: Error) => void): this {
    return this;
  }

  async end(): Promise<void> {
    this.ended = true;
    await this.searching?.catch(() => undefined);
    const p = this.current;
    this.current = undefined;
    if (p) this.retire(p.pool);
    await Promise.all([...this.retired]);
  }
}

/** The pool a parsed URL asks for: node-postgres's own for one server, else a PrimaryPool. */
export async function poolFor(
  parsed: ParsedPostgresUrl,
  settings: Omit<PrimaryPoolSettings, 'targets'>,
): Promise<PgPool> {
  if (parsed.targets) return new PrimaryPool({ ...settings, targets: parsed.targets });
  return createPool({ ...settings, connectionString: parsed.connectionString! });
}
