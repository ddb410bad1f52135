/**
 * The service role: what `evident serve` connects as. It holds only what appending, signing
 * and erasing need: SELECT and INSERT on the tables of record, UPDATE of the head columns of
 * logs (also what SELECT ... FOR UPDATE, the sequencing lock, requires), DELETE on
 * entry_secrets (the erasure path, still guarded by its trigger), and only SELECT on api_keys:
 * keys are created and revoked by the owner (`evident keys`), each recorded as an audit event,
 * so that the service role cannot mint, backdate or revoke a key; SELECT, INSERT and DELETE on
 * intents (the fail-closed write-ahead records, not a table of record). No UPDATE, DELETE or
 * TRUNCATE on entries, tree_nodes, checkpoints, erasures; and, not being the owner, it cannot
 * disable the triggers, alter or drop anything.
 */
import { ErrorCode, EvidentError } from '../../core/errors.ts';
import type { PgQueryable } from './driver.ts';
import { pgError } from './errors.ts';
import { ident } from './migrations.ts';

/** Table privileges of the service role, by table. grant-check.ts reports any beyond these. */
export const SERVICE_TABLE_PRIVILEGES: Readonly<Record<string, readonly string[]>> = {
  meta: ['SELECT'],
  logs: ['SELECT', 'INSERT'],
  entries: ['SELECT', 'INSERT'],
  entry_secrets: ['SELECT', 'INSERT', 'DELETE'],
  erasures: ['SELECT', 'INSERT'],
  tree_nodes: ['SELECT', 'INSERT'],
  checkpoints: ['SELECT', 'INSERT'],
  api_keys: ['SELECT'],
  // write-ahead intents (not a table of record): written and retired by every append path
  intents: ['SELECT', 'INSERT', 'DELETE'],
  // witness cosignatures the serve process gathers for its checkpoints (append-only)
  checkpoint_cosignatures: ['SELECT', 'INSERT'],
  // the state of an evident witness run as the service role (append-only)
  witness_logs: ['SELECT', 'INSERT'],
  witness_checkpoints: ['SELECT', 'INSERT'],
  // pruning is the owner's (evident archive run): the service only reads what was pruned
  pruned_ranges: ['SELECT'],
  pruned_leaves: ['SELECT'],
  // alerts: raised once (INSERT ... ON CONFLICT DO NOTHING); deliveries claimed and marked done
  alerts: ['SELECT', 'INSERT'],
  alert_deliveries: ['SELECT', 'INSERT', 'UPDATE'],
};

/** Column privileges of the service role: `table.column` to privileges. */
export const SERVICE_COLUMN_PRIVILEGES: Readonly<Record<string, readonly string[]>> = {
  'logs.size': ['UPDATE'],
  'logs.last_hash': ['UPDATE'],
  'logs.frontier': ['UPDATE'],
};

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
  const out = [
    `REVOKE ALL ON ALL TABLES IN SCHEMA ${s} FROM ${r}`,
    `REVOKE ALL ON ALL SEQUENCES IN SCHEMA ${s} FROM ${r}`,
    `REVOKE ALL ON SCHEMA ${s} FROM ${r}`,
    `GRANT USAGE ON SCHEMA ${s} TO ${r}`,
  ];
  for (const [table, privileges] of Object.entries(SERVICE_TABLE_PRIVILEGES)) {
    out.push(`GRANT ${privileges.join(', ')} ON ${s}.${table} TO ${r}`);
  }
  for (const [column, privileges] of Object.entries(SERVICE_COLUMN_PRIVILEGES)) {
    const [table, name] = column.split('.') as [string, string];
    out.push(`GRANT ${privileges.join(', ')} (${name}) ON ${s}.${table} TO ${r}`);
  }
  return out;
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
