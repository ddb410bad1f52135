/**
 * The SQLite schema as the migrations made it, compared with the file's. Anyone who can write
 * the file can drop a trigger, replace an index by a partial one, or rewrite sqlite_master
 * itself (PRAGMA writable_schema) so that the text claims a full index over a b-tree that
 * lacks rows. The first two show in sqlite_master's text; the third only in the index's
 * contents, which PRAGMA integrity_check compares with the table, row by row.
 */
import type BetterSqlite3 from 'better-sqlite3';
import { diffCatalogs, type SchemaCheck } from '../schema-drift.ts';
import { migrate } from './migrations.ts';

type Db = BetterSqlite3.Database;

/** `type:name` to the SQL text of every schema object (SQLite's own sqlite_* objects aside). */
function catalog(db: Db): Map<string, string> {
  const rows = db
    .prepare(
      "SELECT type, name, tbl_name, sql FROM sqlite_schema WHERE name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY type, name",
    )
    .all() as { type: string; name: string; tbl_name: string; sql: string | null }[];
  return new Map(rows.map((r) => [`${r.type}:${r.name}`, `${r.tbl_name}: ${r.sql ?? ''}`]));
}

let reference: Map<string, string> | undefined;

/**
 * What the migrations create, built once per process in an in-memory database. The driver is
 * taken from the open database, so that this module loads without better-sqlite3 installed
 * (an optional peer, loaded by the store only when a SQLite file is opened).
 */
function expectedCatalog(like: Db): Map<string, string> {
  if (!reference) {
    const Driver = like.constructor as typeof BetterSqlite3;
    const db = new Driver(':memory:');
    try {
      migrate(db);
      reference = catalog(db);
    } finally {
      db.close();
    }
  }
  return reference;
}

/**
 * Drifts of the file's schema from the migrations': objects added, removed or redefined, and
 * index contents that disagree with the tables (integrity_check reads every index: O(n log n),
 * in the order of the verification that calls it).
 */
export function sqliteSchemaCheck(db: Db): SchemaCheck {
  const drifts = diffCatalogs(expectedCatalog(db), catalog(db));
  for (const table of [
    'entries',
    'entry_secrets',
    'erasures',
    'tree_nodes',
    'checkpoints',
    'api_keys',
    'pruned_ranges',
    'pruned_leaves',
  ]) {
    let problems: string[];
    try {
      problems = db.prepare(`PRAGMA integrity_check(${table})`).pluck().all() as string[];
    } catch (e) {
      problems = [String((e as Error).message ?? e)];
    }
    if (problems.length === 1 && problems[0] === 'ok') continue;
    drifts.push({
      object: 'integrity',
      name: table,
      change: 'changed',
      expected: 'ok',
      actual: problems.slice(0, 5).join('; '),
    });
  }
  return { drifts };
}
