/**
 * What a PostgreSQL schema holds before evident writes to it: nothing (absent, or created empty
 * by an administrator for the owner), an evident store, or another application's relations (a
 * URL or `?schema=` given by mistake). The catalogs answer for any role, privileges or not.
 */
import { ErrorCode, EvidentError } from '../../core/errors.ts';
import type { PgQueryable } from './driver.ts';

export type SchemaContents = 'missing' | 'empty' | 'evident' | 'foreign';

export interface SchemaFound {
  contents: SchemaContents;
  /** Tables, views and sequences in the schema, by name. */
  relations: string[];
}

/** Functions are not counted: extensions put theirs in `public`, and they are not data. */
export async function identifySchema(db: PgQueryable, schema: string): Promise<SchemaFound> {
  const { rows } = await db.query<{ present: boolean; relations: string[] | null }>(
    `SELECT n.oid IS NOT NULL AS present,
       (SELECT array_agg(c.relname::text ORDER BY c.relname) FROM pg_catalog.pg_class c
         WHERE c.relnamespace = n.oid AND c.relkind IN ('r', 'p', 'v', 'm', 'f', 'S')) AS relations
     FROM (SELECT $1::text AS name) want LEFT JOIN pg_catalog.pg_namespace n ON n.nspname = want.name`,
    [schema],
  );
  const row = rows[0];
  const relations = row?.relations ?? [];
  if (!row?.present) return { contents: 'missing', relations };
  if (relations.length === 0) return { contents: 'empty', relations };
  if (relations.includes('meta') && relations.includes('logs')) return { contents: 'evident', relations };
  return { contents: 'foreign', relations };
}

export interface SchemaChecks {
  /** Create the store in an absent or empty schema (default true); false: STORE_NOT_INITIALIZED. */
  create?: boolean;
  /** Add evident's tables beside another application's (default false: STORE_FOREIGN). */
  allowForeign?: boolean;
}

/** Throws unless writing evident's tables into this schema is what the caller asked for. */
export function checkSchema(found: SchemaFound, schema: string, o: SchemaChecks): void {
  const { contents, relations } = found;
  if (contents === 'foreign' && o.allowForeign !== true) {
    const shown = `${relations.slice(0, 5).join(', ')}${relations.length > 5 ? ', ...' : ''}`;
    throw new EvidentError(
      ErrorCode.STORE_FOREIGN,
      `schema ${schema} is not an evident store: it holds other relations (${shown}). ` +
        'Give evident a schema of its own (?schema=NAME in the URL), or pass --allow-foreign (allowForeign: true in code) to add its tables beside them',
      { schema, tables: relations.slice(0, 20) },
    );
  }
  if (contents !== 'evident' && o.create === false) {
    throw new EvidentError(
      ErrorCode.STORE_NOT_INITIALIZED,
      `schema ${schema} ${contents === 'missing' ? 'does not exist' : 'holds no evident store'} in this database: run evident init (as the schema's owner)`,
      { schema },
    );
  }
}
