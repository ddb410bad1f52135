/**
 * The PostgreSQL schema as the migrations made it, compared with the database's. Whoever owns
 * the tables can, with every hash intact, hide rows from the service's queries (a row-level
 * security policy on the service role, or a rule), stop a trigger refusing UPDATE (ALTER TABLE
 * ... DISABLE TRIGGER, CREATE OR REPLACE FUNCTION), or widen the service role's grants.
 *
 * The reference is built by running the migrations themselves into this session's temporary
 * schema (pg_temp) inside a transaction that is rolled back: it is exactly what the migrations
 * create, with nothing to keep in step by hand. Both catalogs are read with search_path
 * pg_catalog, so every name comes out schema-qualified and is then written as `S.`.
 */

import { diffCatalogs, type SchemaCheck } from '../schema-drift.ts';
import type { PgQueryable } from './driver.ts';
import { type PgPool, withClient } from './driver.ts';
import { grantDrift } from './grant-check.ts';
import { MIGRATIONS } from './migrations.ts';

const TEMP = 'pg_temp';

/** `kind:name` to definition, of every object evident's queries and guarantees rest on. */
async function catalog(db: PgQueryable, nsp: string): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  // pg_temp names this session's temporary schema; any other name is looked up.
  const ns =
    nsp === TEMP
      ? 'pg_my_temp_schema()'
      : `(SELECT oid FROM pg_namespace WHERE nspname = '${nsp.replace(/'/g, "''")}')`;
  const norm = (text: string) => text.split(`${nsp}.`).join('S.').split(`"${nsp}".`).join('S.');
  const rows = async (sql: string) => (await db.query<{ k: string; d: string }>(sql)).rows;
  const add = (kind: string, list: { k: string; d: string }[]) => {
    for (const r of list) out.set(`${kind}:${r.k}`, norm(r.d ?? ''));
  };
  add(
    'relation',
    await rows(`SELECT c.relname AS k,
        c.relkind::text || ' rls=' || c.relrowsecurity || ' force_rls=' || c.relforcerowsecurity AS d
      FROM pg_class c WHERE c.relnamespace = ${ns} AND c.relkind IN ('r', 'v', 'm', 'p', 'f')`),
  );
  add(
    'index',
    await rows(`SELECT c.relname AS k, pg_get_indexdef(c.oid) || ' valid=' || i.indisvalid AS d
      FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid WHERE c.relnamespace = ${ns}`),
  );
  add(
    'trigger',
    await rows(`SELECT r.relname || '.' || t.tgname AS k, pg_get_triggerdef(t.oid) || ' enabled=' || t.tgenabled::text AS d
      FROM pg_trigger t JOIN pg_class r ON r.oid = t.tgrelid
      WHERE r.relnamespace = ${ns} AND NOT t.tgisinternal`),
  );
  add(
    'function',
    await rows(`SELECT p.proname || '(' || pg_get_function_identity_arguments(p.oid) || ')' AS k,
        p.prosrc || ' security_definer=' || p.prosecdef AS d
      FROM pg_proc p WHERE p.pronamespace = ${ns}`),
  );
  add(
    'policy',
    await rows(`SELECT r.relname || '.' || p.polname AS k,
        p.polcmd::text || ' permissive=' || p.polpermissive || ' roles=' || p.polroles::text
          || ' using=' || coalesce(pg_get_expr(p.polqual, p.polrelid), '')
          || ' check=' || coalesce(pg_get_expr(p.polwithcheck, p.polrelid), '') AS d
      FROM pg_policy p JOIN pg_class r ON r.oid = p.polrelid WHERE r.relnamespace = ${ns}`),
  );
  add(
    'rule',
    await rows(`SELECT r.relname || '.' || w.rulename AS k, pg_get_ruledef(w.oid) AS d
      FROM pg_rewrite w JOIN pg_class r ON r.oid = w.ev_class
      WHERE r.relnamespace = ${ns} AND r.relkind = 'r'`),
  );
  return out;
}

/**
 * The drifts of `schema` from what the migrations create, and grants beyond the service
 * role's. Building the reference needs a temporary schema: a hot standby, or a role without
 * TEMP on the database, cannot, and the check says so instead of passing.
 */
export async function postgresSchemaCheck(pool: PgPool, schema: string): Promise<SchemaCheck> {
  return withClient(pool, async (client, broken) => {
    let expected: Map<string, string>;
    try {
      await client.query('BEGIN READ WRITE');
      await client.query('SET LOCAL search_path = pg_catalog');
      await client.query(`CREATE TABLE ${TEMP}.meta (key text COLLATE "C" PRIMARY KEY, value text NOT NULL)`);
      for (const m of MIGRATIONS) await client.query(m(TEMP));
      expected = await catalog(client, TEMP);
    } catch (e) {
      await client.query('ROLLBACK').catch(broken);
      return {
        drifts: [],
        unchecked: `the schema could not be compared with the migrations (they are replayed in a temporary schema): ${(e as Error).message}`,
      };
    }
    try {
      const actual = await catalog(client, schema);
      const drifts = diffCatalogs(expected, actual);
      drifts.push(...(await grantDrift(client, schema)));
      return { drifts };
    } finally {
      await client.query('ROLLBACK').catch(broken);
    }
  });
}
