/**
 * Privileges on evident's tables beyond what the service role needs (roles.ts). The owner of
 * the tables may do anything and is the one role that must be trusted; every other role (and
 * PUBLIC) may read, and may write only what the service role may. A widened grant (UPDATE on
 * entries, INSERT on api_keys) or a table handed to another owner is drift.
 */
import type { SchemaDrift } from '../schema-drift.ts';
import type { PgQueryable } from './driver.ts';
import { SERVICE_COLUMN_PRIVILEGES, SERVICE_TABLE_PRIVILEGES } from './roles.ts';

interface AclRow {
  tbl: string;
  col: string | null;
  grantee: string;
  privilege: string;
}

export async function grantDrift(db: PgQueryable, schema: string): Promise<SchemaDrift[]> {
  const drifts: SchemaDrift[] = [];
  const owners = await db.query<{ tbl: string; owner: string; schema_owner: string }>(
    `SELECT c.relname AS tbl, pg_get_userbyid(c.relowner) AS owner, pg_get_userbyid(n.nspowner) AS schema_owner
       FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE n.nspname = $1 AND c.relkind IN ('r', 'v', 'm', 'p', 'f')`,
    [schema],
  );
  for (const o of owners.rows) {
    if (o.owner !== o.schema_owner) {
      drifts.push({
        object: 'owner',
        name: o.tbl,
        change: 'changed',
        expected: o.schema_owner,
        actual: o.owner,
      });
    }
  }
  const acl = await db.query<AclRow>(
    `SELECT c.relname AS tbl, NULL AS col,
            CASE WHEN a.grantee = 0 THEN 'PUBLIC' ELSE pg_get_userbyid(a.grantee) END AS grantee,
            a.privilege_type AS privilege
       FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace,
            LATERAL aclexplode(c.relacl) a
      WHERE n.nspname = $1 AND a.grantee <> c.relowner
     UNION ALL
     SELECT c.relname, t.attname,
            CASE WHEN a.grantee = 0 THEN 'PUBLIC' ELSE pg_get_userbyid(a.grantee) END,
            a.privilege_type
       FROM pg_attribute t JOIN pg_class c ON c.oid = t.attrelid
            JOIN pg_namespace n ON n.oid = c.relnamespace,
            LATERAL aclexplode(t.attacl) a
      WHERE n.nspname = $1 AND a.grantee <> c.relowner
      ORDER BY 1, 2, 3, 4`,
    [schema],
  );
  for (const g of acl.rows) {
    if (g.privilege === 'SELECT') continue; // reading proves nothing and changes nothing
    const allowed =
      g.col === null
        ? SERVICE_TABLE_PRIVILEGES[g.tbl]
        : [
            ...(SERVICE_COLUMN_PRIVILEGES[`${g.tbl}.${g.col}`] ?? []),
            ...(SERVICE_TABLE_PRIVILEGES[g.tbl] ?? []),
          ];
    if (allowed?.includes(g.privilege)) continue;
    drifts.push({
      object: 'grant',
      name: `${g.grantee} on ${g.col === null ? g.tbl : `${g.tbl}.${g.col}`}`,
      change: 'extra',
      actual: g.privilege,
    });
  }
  return drifts;
}
