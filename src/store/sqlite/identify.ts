/**
 * What a SQLite file holds before evident writes to it: nothing yet, an evident store, or
 * another application's tables (a path given by mistake). Writing evident's tables and
 * triggers into someone else's database is refused unless the caller says so.
 */
import type BetterSqlite3 from 'better-sqlite3';
import { ErrorCode, EvidentError } from '../../core/errors.ts';

export type Contents = 'empty' | 'evident' | 'foreign';

/** An evident store has `meta` with its schema version, and `logs`; an empty file has no table at all. */
export function identify(db: BetterSqlite3.Database): { contents: Contents; tables: string[] } {
  const tables = (
    db
      .prepare(
        "SELECT name FROM sqlite_master WHERE type IN ('table', 'view') AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY name",
      )
      .all() as { name: string }[]
  ).map((r) => r.name);
  if (tables.length === 0) return { contents: 'empty', tables };
  if (tables.includes('meta') && tables.includes('logs')) {
    const version = db.prepare("SELECT value FROM meta WHERE key = 'schema_version'").get();
    if (version !== undefined) return { contents: 'evident', tables };
  }
  return { contents: 'foreign', tables };
}

export interface OpenChecks {
  /** Create the store in an empty file (default true); false: STORE_NOT_INITIALIZED. */
  create?: boolean;
  /** Add evident's tables beside another application's (default false: STORE_FOREIGN). */
  allowForeign?: boolean;
}

/** Throws unless migrating `db` is what the caller asked for. */
export function checkContents(db: BetterSqlite3.Database, path: string, o: OpenChecks): void {
  const { contents, tables } = identify(db);
  if (contents === 'foreign' && o.allowForeign !== true) {
    throw new EvidentError(
      ErrorCode.STORE_FOREIGN,
      `${path} is not an evident database: it holds other tables (${tables.slice(0, 5).join(', ')}${tables.length > 5 ? ', ...' : ''}). ` +
        'Give evident a file of its own, or pass --allow-foreign (allowForeign: true in code) to add its tables beside them',
      { path, tables: tables.slice(0, 20) },
    );
  }
  if (contents !== 'evident' && o.create === false) {
    throw new EvidentError(
      ErrorCode.STORE_NOT_INITIALIZED,
      `${path} holds no evident store: run evident init`,
      {
        path,
      },
    );
  }
}
