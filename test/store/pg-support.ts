/**
 * The PostgreSQL side of the store tests: the server named by EVIDENT_TEST_PG (default the
 * local test database), a throwaway schema per run, and the rule for an absent server: the
 * PostgreSQL tests are skipped with a message, except in CI, where they fail.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import pg from 'pg';

export const PG_URL = process.env['EVIDENT_TEST_PG'] ?? 'postgres://postgres@127.0.0.1:5432/test';

/** Undefined when the server answers; else why not. */
export async function probePostgres(): Promise<string | undefined> {
  const c = new pg.Client({ connectionString: PG_URL, connectionTimeoutMillis: 3000 });
  try {
    await c.connect();
    await c.query('SELECT 1');
    return undefined;
  } catch (e) {
    return (e as Error).message || String(e);
  } finally {
    await c.end().catch(() => undefined);
  }
}

/** Registers the one test that stands for a PostgreSQL suite when no server is reachable. */
export function postgresUnreachable(name: string, why: string): void {
  const message = `PostgreSQL not reachable at ${redact(PG_URL)} (${why}): skipped`;
  test(name, (t) => {
    // In CI a missing database is a broken pipeline, not a reason to pass.
    if (process.env['CI'] === 'true') assert.fail(`${message} is not allowed in CI`);
    t.skip(message);
  });
}

const redact = (url: string) => url.replace(/\/\/([^:@/]+):[^@/]*@/, '//$1:***@');

export const randomName = (prefix: string) => `${prefix}${randomBytes(6).toString('hex')}`;

/** Runs statements on a connection of its own (as the URL's user: the owner in these tests). */
export async function admin<T>(fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const c = new pg.Client({ connectionString: PG_URL });
  await c.connect();
  try {
    return await fn(c);
  } finally {
    await c.end();
  }
}

export async function dropSchema(schema: string): Promise<void> {
  await admin((c) => c.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`));
}

/** The URL, connecting as another role (trust or peer authentication on the test server). */
export function urlAs(role: string): string {
  const u = new URL(PG_URL);
  u.username = role;
  u.password = '';
  return u.toString();
}
