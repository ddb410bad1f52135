/** Creating the outbox's tables and trigger in the application's database, idempotently. */
import { isEvidentError } from '../core/errors.ts';
import { pgError } from '../store/postgres/errors.ts';
import type { OutboxQueryable } from './pg.ts';
import { DEFAULT_OUTBOX_SCHEMA, OUTBOX_TABLE, outboxDdl, REJECTED_TABLE } from './sql.ts';

export interface InstallOptions {
  /** The schema to hold the outbox (default `public`; created if missing). */
  schema?: string;
}

/**
 * Creates what is missing of the outbox (schema, tables, notify trigger) and leaves the rest,
 * rows included, as it is: run it at every start. When everything is there it only looks. Needs the privilege to create in the schema;
 * deployments that run their own migrations apply `outboxDdl(schema)` (docs/outbox.md) instead.
 * Throws USAGE for a bad schema name, STORE_BUSY or STORE_FAILED for the database's refusal.
 */
export async function installOutbox(db: OutboxQueryable, options: InstallOptions = {}): Promise<void> {
  const schema = options.schema ?? DEFAULT_OUTBOX_SCHEMA;
  const ddl = outboxDdl(schema);
  try {
    // Already there: nothing to do, and no privilege needed beyond USAGE on the schema (the DDL
    // would need CREATE on the database and ownership, which a least-privilege role lacks).
    const q = `"${schema}"`;
    const { rows } = await db.query<{ ok: boolean }>(
      `SELECT to_regclass($1) IS NOT NULL AND to_regclass($2) IS NOT NULL AND EXISTS (
         SELECT 1 FROM pg_trigger WHERE tgrelid = to_regclass($1) AND tgname = 'evident_outbox_notify') AS ok`,
      [`${q}.${OUTBOX_TABLE}`, `${q}.${REJECTED_TABLE}`],
    );
    if (rows[0]?.ok) return;
    await db.query(ddl);
  } catch (e) {
    throw isEvidentError(e) ? e : pgError(e);
  }
}
