/**
 * A small JSON Schema validator for the test's OCSF schemas (test/vectors/ocsf): type, enum,
 * const, required, properties, additionalProperties, items, minItems, minLength, minimum,
 * pattern, anyOf and local $ref. Any other keyword fails loudly, so that the schemas never
 * say more than is checked.
 */
type Schema = Record<string, unknown>;

const KNOWN = new Set([
  '$schema',
  '$id',
  '$defs',
  'title',
  'description',
  'type',
  'enum',
  'const',
  'required',
  'properties',
  'additionalProperties',
  'items',
  'minItems',
  'minLength',
  'minimum',
  'pattern',
  'anyOf',
  '$ref',
]);

function typeOf(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  if (typeof v === 'number') return Number.isInteger(v) ? 'integer' : 'number';
  return typeof v;
}

export function validate(root: Schema, value: unknown): string[] {
  return check(root, root, value, '$');
}

function check(root: Schema, schema: Schema, value: unknown, at: string): string[] {
  const errors: string[] = [];
  const walk = (s: Schema, v: unknown, path: string): void => {
    for (const k of Object.keys(s))
      if (!KNOWN.has(k)) throw new Error(`schema keyword ${k} is not supported`);
    if (typeof s['$ref'] === 'string') {
      const name = (s['$ref'] as string).replace('#/$defs/', '');
      const target = (root['$defs'] as Record<string, Schema>)[name];
      if (!target) throw new Error(`unknown $ref ${s['$ref']}`);
      walk(target, v, path);
    }
    const t = typeOf(v);
    if (s['type'] !== undefined) {
      const want = s['type'] as string;
      if (!(t === want || (want === 'number' && t === 'integer'))) errors.push(`${path}: ${t}, not ${want}`);
    }
    if (s['enum'] && !(s['enum'] as unknown[]).includes(v))
      errors.push(`${path}: ${JSON.stringify(v)} not in enum`);
    if ('const' in s && s['const'] !== v) errors.push(`${path}: ${JSON.stringify(v)} is not ${s['const']}`);
    if (typeof v === 'string') {
      if (typeof s['minLength'] === 'number' && v.length < s['minLength']) errors.push(`${path}: too short`);
      if (typeof s['pattern'] === 'string' && !new RegExp(s['pattern'] as string, 'u').test(v))
        errors.push(`${path}: does not match ${s['pattern']}`);
    }
    if (typeof v === 'number' && typeof s['minimum'] === 'number' && v < s['minimum'])
      errors.push(`${path}: below ${s['minimum']}`);
    if (Array.isArray(v)) {
      if (typeof s['minItems'] === 'number' && v.length < s['minItems'])
        errors.push(`${path}: too few items`);
      if (s['items']) {
        for (const [i, x] of v.entries()) walk(s['items'] as Schema, x, `${path}[${i}]`);
      }
    }
    if (t === 'object') {
      const o = v as Record<string, unknown>;
      for (const r of (s['required'] as string[] | undefined) ?? [])
        if (!(r in o)) errors.push(`${path}: missing required ${r}`);
      const props = (s['properties'] as Record<string, Schema> | undefined) ?? {};
      for (const [k, x] of Object.entries(o)) {
        if (props[k]) walk(props[k], x, `${path}.${k}`);
        else if (s['additionalProperties'] === false)
          errors.push(`${path}: attribute ${k} is not in the class`);
      }
    }
    if (Array.isArray(s['anyOf'])) {
      const ok = (s['anyOf'] as Schema[]).some((alt) => check(root, alt, v, path).length === 0);
      if (!ok) errors.push(`${path}: matches none of anyOf`);
    }
  };
  walk(schema, value, at);
  return errors;
}
