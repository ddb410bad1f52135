/**
 * PostgreSQL for the benchmark: the server named by EVIDENT_BENCH_PG (else EVIDENT_TEST_PG,
 * else the local test database), a fresh schema per run, dropped afterwards.
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';

export const PG_URL =
  process.env['EVIDENT_BENCH_PG'] ??
  process.env['EVIDENT_TEST_PG'] ??
  'postgres://postgres@127.0.0.1:5432/test';

export interface PgServer {
  /** `server_version`, e.g. "15.14 (Debian 15.14-0+deb12u1)". */
  version: string;
  fsync: string;
  synchronous_commit: string;
  /** Off: no table is analysed unless asked, so plans are made without statistics. Absent
   * from results written before it was recorded. */
  autovacuum?: string;
}

/** The server's version and durability settings, or why it cannot be reached. */
export async function probePostgres(): Promise<{ server: PgServer } | { error: string }> {
  const c = new pg.Client({ connectionString: PG_URL, connectionTimeoutMillis: 3000 });
  try {
    await c.connect();
    const show = async (name: string) =>
      ((await c.query(`SHOW ${name}`)).rows[0] as Record<string, string>)[name]!;
    return {
      server: {
        version: await show('server_version'),
        fsync: await show('fsync'),
        synchronous_commit: await show('synchronous_commit'),
        autovacuum: await show('autovacuum'),
      },
    };
  } catch (e) {
    return { error: (e as Error).message || String(e) };
  } finally {
    await c.end().catch(() => undefined);
  }
}

/** Runs `fn` on a connection of its own. */
export async function withClient<T>(fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const c = new pg.Client({ connectionString: PG_URL });
  await c.connect();
  try {
    return await fn(c);
  } finally {
    await c.end();
  }
}

/** A schema name nobody else uses; evident creates it on first open. */
export const freshSchemaName = (what: string): string =>
  `evident_bench_${what}_${randomBytes(4).toString('hex')}`;

/** The URL that points evident at `schema` (its own `?schema=` parameter). */
export function urlForSchema(schema: string): string {
  const u = new URL(PG_URL);
  u.searchParams.set('schema', schema);
  return u.toString();
}

export async function dropSchema(schema: string): Promise<void> {
  await withClient((c) => c.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`));
}

/** Bytes on disk of every table in the schema, with its indexes and TOAST. */
export async function schemaBytes(schema: string): Promise<Record<string, number>> {
  return withClient(async (c) => {
    const r = await c.query(
      `SELECT c.relname AS name, pg_total_relation_size(c.oid)::bigint AS bytes
         FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = $1 AND c.relkind IN ('r', 'p') ORDER BY c.relname`,
      [schema],
    );
    return Object.fromEntries(r.rows.map((x: { name: string; bytes: string }) => [x.name, Number(x.bytes)]));
  });
}
