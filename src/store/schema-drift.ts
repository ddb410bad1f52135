/**
 * Schema drift: an index, trigger, policy or grant that differs from what the migrations
 * created. Queries and the append-only guarantee rest on these objects (a partial index the
 * planner trusts can hide rows from a query; a disabled trigger lets rows change), yet no hash
 * covers them: `evident verify` compares them with a reference built from the migrations.
 */
export interface SchemaDrift {
  /** What kind of database object: index, trigger, table, view, function, policy, rls, grant, integrity. */
  object: string;
  /** The object's name (for a grant: `role on table`). */
  name: string;
  /** missing: the migrations made it and it is gone; extra: they never made it; changed: it differs. */
  change: 'missing' | 'extra' | 'changed';
  /** What the migrations made (absent for extra objects). */
  expected?: string;
  /** What the database holds now (absent for missing objects). */
  actual?: string;
}

/** The outcome of a schema check: the drifts, or why the schema could not be checked. */
export interface SchemaCheck {
  drifts: SchemaDrift[];
  /** Set when no comparison could be made (then `drifts` is empty and proves nothing). */
  unchecked?: string;
}

/** Compares two catalogs of `kind:name` to definition; drifts sorted by object and name. */
export function diffCatalogs(expected: Map<string, string>, actual: Map<string, string>): SchemaDrift[] {
  const out: SchemaDrift[] = [];
  const split = (key: string) => {
    const at = key.indexOf(':');
    return { object: key.slice(0, at), name: key.slice(at + 1) };
  };
  for (const [key, def] of expected) {
    const got = actual.get(key);
    if (got === undefined) out.push({ ...split(key), change: 'missing', expected: def });
    else if (got !== def) out.push({ ...split(key), change: 'changed', expected: def, actual: got });
  }
  for (const [key, def] of actual) {
    if (!expected.has(key)) out.push({ ...split(key), change: 'extra', actual: def });
  }
  return out.sort((a, b) => (a.object + a.name < b.object + b.name ? -1 : 1));
}
