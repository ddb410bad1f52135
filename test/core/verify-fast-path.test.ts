/**
 * The verifier's fast paths are the general ones in other clothes: hexEquals is toHex and
 * compare, CompactRange.push is append without the node list, Lookahead.nextInPage is next()
 * without an await, utf8Length is the encoded length, and eventSizeBound never undercuts the
 * exact size it lets validation skip. Each is held to the general path here.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { hexEquals, toHex, utf8, utf8Length } from '../../src/core/bytes.ts';
import { canonicalize } from '../../src/core/canonical.ts';
import type { Entry } from '../../src/core/event/entry.ts';
import { eventSizeBound } from '../../src/core/event/validate.ts';
import { leafHash } from '../../src/core/hash.ts';
import { CompactRange } from '../../src/core/merkle/index.ts';
import { Lookahead } from '../../src/core/verify/lookahead.ts';
import { isRun } from '../../src/core/verify/runs.ts';

describe('hexEquals', () => {
  it('is toHex(b) === s, for the hex itself, any one-character change, case and length changes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 40 }), fc.nat(), fc.string({ maxLength: 4 }), (b, at, junk) => {
        const hex = toHex(b);
        assert.equal(hexEquals(b, hex), true);
        const candidates: unknown[] = [
          hex.toUpperCase(),
          `${hex}0`,
          hex.slice(1),
          junk,
          hex + junk,
          null,
          undefined,
          42,
          [hex],
        ];
        if (hex.length > 0) {
          const i = at % hex.length;
          for (const c of '0123456789abcdefABCDEFg\u0000')
            candidates.push(hex.slice(0, i) + c + hex.slice(i + 1));
        }
        for (const s of candidates) assert.equal(hexEquals(b, s), toHex(b) === s, JSON.stringify(s));
      }),
      { numRuns: 500 },
    );
  });
});

describe('CompactRange.push', () => {
  it('leaves the same frontier and root as append at every size up to 300', () => {
    const a = CompactRange.empty();
    const p = CompactRange.empty();
    for (let i = 0; i < 300; i++) {
      const h = leafHash(new Uint8Array([i & 255, i >> 8]));
      a.append(h);
      p.push(h);
      assert.equal(p.size, a.size);
      assert.equal(toHex(p.encode()), toHex(a.encode()));
      assert.equal(toHex(p.root()), toHex(a.root()));
    }
  });

  it('keeps its own copy of the leaf: changing the caller array later does not change the root', () => {
    const r = CompactRange.empty();
    const h = leafHash(new Uint8Array([1]));
    const before = toHex(h);
    r.push(h);
    h.fill(0);
    assert.equal(toHex(r.root()), before);
  });

  it('refuses what append refuses', () => {
    assert.throws(() => CompactRange.empty().push(new Uint8Array(31)));
  });
});

describe('Lookahead.nextInPage', () => {
  const entry = (index: number) => ({ index }) as unknown as Entry;

  it('yields the same entries and peeks as next() alone, over any split into pages', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.nat({ max: 5 }), { maxLength: 12 }), async (sizes) => {
        let n = 0;
        const pages = sizes.map((s) => Array.from({ length: s }, () => entry(n++)));
        const source = async function* () {
          for (const p of pages) yield p;
        };
        const seen = async (fast: boolean) => {
          const rows = new Lookahead(source());
          const out: [number, number | undefined][] = [];
          for (
            let e = (fast ? rows.nextInPage() : undefined) ?? (await rows.next());
            e !== undefined;
            e = (fast ? rows.nextInPage() : undefined) ?? (await rows.next())
          ) {
            if (isRun(e)) throw new Error('no run was given');
            out.push([e.index, rows.peek()?.index]);
          }
          return out;
        };
        const general = await seen(false);
        assert.deepEqual(await seen(true), general);
        assert.equal(general.length, n);
      }),
      { numRuns: 300 },
    );
  });
});

describe('utf8Length', () => {
  it('is the length of the UTF-8 encoding, for any code units (lone surrogates included)', () => {
    const units = fc.oneof(
      fc.integer({ min: 0, max: 0xffff }),
      fc.integer({ min: 0xd7f0, max: 0xe010 }),
      fc.integer({ min: 0, max: 0x900 }),
    );
    fc.assert(
      fc.property(fc.array(units, { maxLength: 30 }), (codes) => {
        const s = String.fromCharCode(...codes);
        assert.equal(utf8Length(s), utf8(s).length);
      }),
      { numRuns: 2000 },
    );
    for (const s of ['', 'a', 'é', '€', '😀', '\ud800', '\udc00', '\ud800a', 'a\ud800', '\udc00\ud800']) {
      assert.equal(utf8Length(s), utf8(s).length, JSON.stringify(s));
    }
  });
});

describe('eventSizeBound', () => {
  it('is never below the canonical size of the event (so skipping the exact size is safe)', () => {
    const special = fc.constantFrom('\u0000', '\u001f', '"', '\\', 'é', '€', '😀', 'a');
    const text = fc.oneof(
      fc.string({ unit: 'grapheme', maxLength: 12 }),
      fc.string({ unit: special, maxLength: 12 }),
    );
    const json = fc.dictionary(fc.string({ maxLength: 6 }), fc.jsonValue({ maxDepth: 2 }), { maxKeys: 4 });
    const event = fc.record(
      {
        id: text,
        actor_id: text,
        action: text,
        reason: text,
        changed_fields: fc.array(text, { maxLength: 4 }),
        metadata: json,
        old_values: json,
      },
      { requiredKeys: ['actor_id'] },
    );
    fc.assert(
      fc.property(event, (ev) => {
        const sizes = new Map<string, number>();
        for (const f of ['metadata', 'old_values'] as const) {
          if (ev[f] !== undefined) sizes.set(f, utf8Length(canonicalize(ev[f])));
        }
        const bound = eventSizeBound(ev, sizes);
        assert.ok(bound !== undefined && bound >= utf8Length(canonicalize(ev)));
      }),
      { numRuns: 1000 },
    );
  });

  it('leaves what it cannot bound to the exact computation', () => {
    assert.equal(eventSizeBound({ changed_fields: [1] }, new Map()), undefined);
    assert.equal(eventSizeBound({ metadata: {} }, new Map()), undefined);
    assert.equal(
      eventSizeBound({ [Symbol('s')]: 1, a: 'x' } as Record<string, unknown>, new Map()),
      undefined,
    );
  });
});
