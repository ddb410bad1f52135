/**
 * The PostgreSQL side of the store tests: the server named by EVIDENT_TEST_PG (default the
 * local test database), a throwaway schema per run, and the rule for an absent server: the
 * PostgreSQL tests are skipped with a message, except in CI, where they fail.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import pg from 'pg';
import { createKeyFile, type KeyRing, loadKeyRing } from '../../src/ledger/keyfile.ts';
import { openStore } from '../../src/store/open.ts';
import { serviceRoleGrants } from '../../src/store/postgres/roles.ts';
import { openPostgresStore, type PostgresStore } from '../../src/store/postgres/store.ts';

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

/**
 * Registers a PostgreSQL suite: `suite()` when the server answers, else the one test named `name`
 * that skips (fails in CI) with the reason (postgresUnreachable).
 */
export async function withPostgres(name: string, suite: () => void): Promise<void> {
  const why = await probePostgres();
  if (why === undefined) suite();
  else postgresUnreachable(name, why);
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

/** Creates the login role `role` holding exactly the service role's grants on `schema` (which exists). */
export async function createServiceRole(schema: string, role: string): Promise<void> {
  await admin(async (c) => {
    await c.query(`CREATE ROLE "${role}" LOGIN`);
    for (const q of serviceRoleGrants(schema, role)) await c.query(q);
  });
}

/** The URL, connecting as another role (trust or peer authentication on the test server). */
export function urlAs(role: string): string {
  const u = new URL(PG_URL);
  u.username = role;
  u.password = '';
  return u.toString();
}

/** A throwaway schema on the test server as its owner and as a least-privileged service role. */
export interface ServiceRoleSchema {
  /** The schema's name (unquoted). */
  schema: string;
  /** The service role's name. */
  role: string;
  /** The store as the schema's owner (the URL's user). */
  owner: PostgresStore;
  /** The store as the service role, holding exactly serviceRoleGrants(). */
  svc: PostgresStore;
  /** A signing key ring for `origin`. */
  ring: KeyRing;
  /** A temporary folder (the key file lives there). */
  dir: string;
}

/**
 * Registers before/after hooks that create, then remove, a schema with its owner store, a new
 * login role granted the service role's privileges with a store connected as it, and a key ring.
 * The fields are set once the `before` hook has run.
 */
export function serviceRoleSchema(prefix: string, origin = 'pg.test/default'): ServiceRoleSchema {
  const f = { schema: randomName(prefix), role: randomName('evident_svc_') } as ServiceRoleSchema;
  before(async () => {
    f.owner = (await openStore(`${PG_URL}?schema=${f.schema}`)) as PostgresStore;
    f.dir = mkdtempSync(join(tmpdir(), `${prefix.replace(/_+$/, '')}-`));
    await createKeyFile(join(f.dir, 'signing.key'), origin);
    f.ring = await loadKeyRing(join(f.dir, 'signing.key'));
    await admin((c) => c.query(`CREATE ROLE "${f.role}" LOGIN`));
    await f.owner.grantServiceRole(f.role);
    f.svc = await openPostgresStore(urlAs(f.role), { schema: f.schema });
  });
  after(async () => {
    await f.svc?.close();
    await f.owner?.close();
    await dropSchema(f.schema);
    await admin(async (c) => {
      await c.query(`DROP OWNED BY "${f.role}"`);
      await c.query(`DROP ROLE "${f.role}"`);
    });
    if (f.dir) rmSync(f.dir, { recursive: true, force: true });
  });
  return f;
}

/**
 * SQL that takes a schema back to before migration 6 (pruning), for tests that simulate an
 * older schema: the schema check compares with every migration, so later objects must go too.
 */
export function undoPruningMigration(s: string): string {
  return `
DROP TRIGGER entries_prune_only ON ${s}.entries;
DROP FUNCTION ${s}.entries_prune_only();
DROP TABLE ${s}.pruned_leaves;
DROP FUNCTION ${s}.pruned_leaves_in_range();
DROP TABLE ${s}.pruned_ranges;
DROP FUNCTION ${s}.pruned_range_named_by_event();
DROP TRIGGER entries_append_only ON ${s}.entries;
CREATE TRIGGER entries_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON ${s}.entries
  FOR EACH STATEMENT EXECUTE FUNCTION ${s}.refuse_change();
CREATE OR REPLACE FUNCTION ${s}.secret_erase_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM ${s}.erasures e
                 WHERE e.log_id = OLD.log_id AND e.idx = OLD.idx AND e.field = OLD.field) THEN
    RAISE EXCEPTION 'evident: a value is deleted only by a recorded erasure'
      USING ERRCODE = 'EV003';
  END IF;
  RETURN OLD;
END $$;`;
}
