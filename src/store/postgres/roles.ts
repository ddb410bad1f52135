/**
 * The service role: what `evident serve` connects as. It holds only what appending, signing,
 * erasing and revoking need: SELECT and INSERT on the tables of record, UPDATE of the head
 * columns of logs (also what SELECT ... FOR UPDATE, the sequencing lock, requires), UPDATE of
 * api_keys.revoked_at, DELETE on entry_secrets (the erasure path, still guarded by its trigger).
 * No UPDATE, DELETE or TRUNCATE on entries, tree_nodes, checkpoints, erasures; and, not being
 * the owner, it cannot disable the triggers, alter or drop anything.
 */
import { ErrorCode, EvidentError } from '../../core/errors.ts';
import type { PgQueryable } from './driver.ts';
import { pgError } from './errors.ts';
import { ident } from './migrations.ts';

const RECORD_TABLES = [
  'logs',
  'entries',
  'entry_secrets',
  'erasures',
  'tree_nodes',
  'checkpoints',
  'api_keys',
];

/** A role name as an SQL identifier (roles are cluster-wide: keep them plain). */
function roleIdent(role: string): string {
  if (!/^[a-z_][a-z0-9_]{0,62}$/.test(role)) {
    throw new EvidentError(
      ErrorCode.USAGE,
      'a role name is 1 to 63 of a-z, 0-9, "_", not starting with a digit',
      {
        field: 'role',
      },
    );
  }
  return `"${role}"`;
}

/** The statements that give `role` exactly the service's privileges on `schema` (idempotent). */
export function serviceRoleGrants(schema: string, role: string): string[] {
  const s = ident(schema);
  const r = roleIdent(role);
  const tables = RECORD_TABLES.map((t) => `${s}.${t}`).join(', ');
  return [
    `REVOKE ALL ON ALL TABLES IN SCHEMA ${s} FROM ${r}`,
    `REVOKE ALL ON ALL SEQUENCES IN SCHEMA ${s} FROM ${r}`,
    `REVOKE ALL ON SCHEMA ${s} FROM ${r}`,
    `GRANT USAGE ON SCHEMA ${s} TO ${r}`,
    `GRANT SELECT ON ${s}.meta, ${tables} TO ${r}`,
    `GRANT INSERT ON ${tables} TO ${r}`,
    `GRANT UPDATE (size, last_hash, frontier) ON ${s}.logs TO ${r}`,
    `GRANT UPDATE (revoked_at) ON ${s}.api_keys TO ${r}`,
    `GRANT DELETE ON ${s}.entry_secrets TO ${r}`,
    // write-ahead intents (not a table of record): written and retired by every append path
    `GRANT SELECT, INSERT, DELETE ON ${s}.intents TO ${r}`,
  ];
}

/**
 * Applies serviceRoleGrants as the schema's owner. One simple query: PostgreSQL runs its
 * statements as one implicit transaction. The role must exist (CREATE ROLE evident_service
 * LOGIN PASSWORD '...': see docs/postgres.md).
 */
export async function grantServiceRole(db: PgQueryable, schema: string, role: string): Promise<void> {
  try {
    await db.query(serviceRoleGrants(schema, role).join(';\n'));
  } catch (e) {
    throw pgError(e);
  }
}
