/**
 * Rows read as arrays of values (raw mode) become the same entries, keys in the same order, as
 * the object-per-row mapping they replaced, which is kept here as the reference.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import {
  ENTRY_COLUMNS,
  type EntryRow,
  type ErasureRow,
  type SecretRow,
  valuesToEntry,
} from '../../src/store/rows.ts';

const JSON_COLUMNS = new Set(['changed_fields', 'old_values', 'new_values', 'metadata', 'commitments']);

function parseOrRaw(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

/** The object-per-row mapping as it was, but for a committed field's column written beside its side value (kept, the side value set aside). */
function reference(row: EntryRow, secrets: SecretRow[], erased: ErasureRow[]): unknown {
  const e: Record<string, unknown> = { index: row.idx };
  for (const f of ENTRY_COLUMNS.slice(1)) if (!JSON_COLUMNS.has(f) && row[f] !== null) e[f] = row[f];
  for (const f of ENTRY_COLUMNS)
    if (JSON_COLUMNS.has(f) && row[f] !== null) e[f] = parseOrRaw(row[f] as string);
  for (const s of secrets) {
    const c = e['commitments'];
    if (e[s.field] !== undefined) {
      if (typeof c === 'object' && c !== null && Object.hasOwn(c, s.field)) continue;
    } else e[s.field] = parseOrRaw(s.value);
    e.salts ??= {};
    (e.salts as Record<string, string>)[s.field] = s.salt;
  }
  if (erased.length > 0) {
    e.erased = erased.map((x) => x.field).sort();
    e.erased_by = Math.min(...erased.map((x) => x.erasure_idx));
  }
  return e;
}

const cell = fc.oneof(
  fc.constant(null),
  fc.string({ maxLength: 6 }),
  fc.json({ maxDepth: 2 }),
  fc.integer(),
  fc.double(),
  fc.uint8Array({ maxLength: 4 }).map((b) => Buffer.from(b)),
);
const row = fc.tuple(fc.nat(), ...ENTRY_COLUMNS.slice(1).map(() => cell));
const field = fc.constantFrom('old_values', 'new_values', 'metadata');
const secrets = fc.array(
  fc.record({
    idx: fc.constant(0),
    field,
    value: fc.oneof(fc.json({ maxDepth: 2 }), fc.string()),
    salt: fc.string(),
  }),
  { maxLength: 2 },
);
const erasures = fc.array(fc.record({ idx: fc.constant(0), field, erasure_idx: fc.nat() }), { maxLength: 2 });

describe('valuesToEntry', () => {
  it('builds what the object-per-row mapping built, with the keys in the same order', () => {
    fc.assert(
      fc.property(row, secrets, erasures, (values, s, x) => {
        const asObject = Object.fromEntries(ENTRY_COLUMNS.map((c, i) => [c, values[i]])) as EntryRow;
        const got = valuesToEntry(values, s, x);
        const want = reference(asObject, s, x);
        assert.deepStrictEqual(got, want);
        assert.deepEqual(Object.keys(got), Object.keys(want as object));
      }),
      { numRuns: 500 },
    );
  });
});
