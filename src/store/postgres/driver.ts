/**
 * The part of node-postgres (npm `pg`, 8.x) this store uses, as a subset interface: the store
 * depends on these few methods, not on the package's types, and loads the package only when a
 * PostgreSQL store is opened (a user who only verifies never installs it).
 */
import { ErrorCode, EvidentError } from '../../core/errors.ts';
import { loadPeer } from '../../core/peers.ts';

export interface PgResult<R> {
  rows: R[];
  rowCount: number | null;
}

/** A query; one with a name is prepared once per connection, then only bound and executed. */
export interface PgQuery {
  name?: string;
  text: string;
  values: readonly unknown[];
}

export interface PgQueryable {
  query<R = Record<string, unknown>>(
    text: string | PgQuery,
    values?: readonly unknown[],
  ): Promise<PgResult<R>>;
}

export interface PgClient extends PgQueryable {
  /** Returns the client to its pool; an error (or true) destroys it instead. */
  release(destroy?: Error | boolean): void;
  on(event: 'error', listener: (e: Error) => void): unknown;
  off(event: 'error', listener: (e: Error) => void): unknown;
}

export interface PgPool extends PgQueryable {
  connect(): Promise<PgClient>;
  end(): Promise<void>;
  on(event: 'error', listener: (e: Error) => void): unknown;
}

export interface PoolSettings {
  connectionString: string;
  max: number;
  connectionTimeoutMillis: number;
  application_name: string;
}

/**
 * Checks a client out for a transaction. While checked out, a client whose connection drops
 * between two queries emits 'error' with no listener of the pool's: unhandled, that would
 * crash the process. The error is kept instead (the next query fails anyway), and a client
 * that lost its connection, or that `fn` marked broken, is destroyed rather than pooled again.
 */
export async function withClient<T>(
  pool: PgPool,
  fn: (client: PgClient, broken: (e: Error) => void) => Promise<T>,
): Promise<T> {
  const client = await pool.connect();
  let lost: Error | undefined;
  const onError = (e: Error) => {
    lost ??= e;
  };
  client.on('error', onError);
  try {
    return await fn(client, onError);
  } finally {
    client.off('error', onError);
    // a destroyed client may still report its socket closing: keep listening, quietly
    if (lost) client.on('error', () => {});
    client.release(lost);
  }
}

const OID_INT8 = 20;

/**
 * int8 (bigint) arrives as text: sizes, indexes and counts become numbers, refusing any value
 * a JS number cannot hold exactly (2^53), instead of silently rounding it.
 */
export function parseInt8(text: string): number {
  const n = Number(text);
  if (!Number.isSafeInteger(n)) {
    throw new EvidentError(ErrorCode.STORE_FAILED, `bigint ${text} is beyond 2^53: not a safe integer`, {
      value: text,
    });
  }
  return n;
}

/** Opens a pool with its own int8 parser (the process-wide pg.types are left alone). */
export async function createPool(settings: PoolSettings): Promise<PgPool> {
  const pg = (await loadPeer('pg', 'the PostgreSQL store', () => import('pg'))).default;
  const base = pg.types;
  const types = {
    getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
      oid === OID_INT8 && format !== 'binary'
        ? parseInt8
        : base.getTypeParser(oid, format as 'text')) as typeof base.getTypeParser,
  };
  const pool = new pg.Pool({ ...settings, types });
  // An idle client that loses its connection (server restart, failover) emits 'error' on the
  // pool; without a listener Node would crash the process. The pool drops that client, and the
  // next checkout opens a new connection.
  pool.on('error', () => {});
  // A new client can receive an error (a backend terminated as it started) in the same read
  // that completes its startup, before withClient attaches its own listener: listen from birth.
  pool.on('connect', (client: { on(event: 'error', fn: () => void): void }) => client.on('error', () => {}));
  return pool as unknown as PgPool;
}
