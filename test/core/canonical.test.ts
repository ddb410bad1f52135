import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { toHex } from '../../src/core/bytes.ts';
import {
  canonicalBytes,
  canonicalize,
  DEFAULT_MAX_DEPTH,
  hasLoneSurrogate,
  sortKeys,
} from '../../src/core/canonical.ts';
import { ErrorCode, EvidentError } from '../../src/core/errors.ts';
import { parseJson } from '../../src/core/json.ts';

/** The code and details of the rejection `fn` throws (never its message). */
function failure(fn: () => unknown): { code: string; rule: unknown; path: unknown } {
  try {
    fn();
  } catch (e) {
    if (!(e instanceof EvidentError)) throw e;
    return { code: e.code, rule: e.details['rule'], path: e.details['path'] };
  }
  return assert.fail('expected a rejection');
}

function rejected(rule: string, path: string) {
  return { code: ErrorCode.CANONICAL_INVALID, rule, path };
}

/** The double whose IEEE-754 bits are the 16 hex digits `hex`. */
function fromIeeeHex(hex: string): number {
  const view = new DataView(new ArrayBuffer(8));
  view.setBigUint64(0, BigInt(`0x${hex}`));
  return view.getFloat64(0);
}

describe('RFC 8785 examples', () => {
  // RFC 8785 §3.2.2 input; §3.2.2 gives the canonical text, §3.2.4 the same as UTF-8 bytes.
  const rfcInput = String.raw`{
    "numbers": [333333333.33333329, 1E30, 4.50, 2e-3, 0.000000000000000000000000001],
    "string": "\u20ac$\u000F\u000aA'\u0042\u0022\u005c\\\"\/",
    "literals": [null, true, false]
  }`;

  test('§3.2.2 sample: canonical text', () => {
    const expected =
      '{"literals":[null,true,false],"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27],"string":"\u20ac$' +
      String.raw`\u000f\nA'B\"\\\\\"/"}`;
    assert.equal(canonicalize(JSON.parse(rfcInput)), expected);
    assert.equal(canonicalize(parseJson(rfcInput)), expected);
  });

  test('§3.2.4 sample: UTF-8 bytes, byte for byte', () => {
    const hex = `
      7b 22 6c 69 74 65 72 61 6c 73 22 3a 5b 6e 75 6c 6c 2c 74 72 75 65 2c 66 61 6c 73 65 5d 2c 22 6e
      75 6d 62 65 72 73 22 3a 5b 33 33 33 33 33 33 33 33 33 2e 33 33 33 33 33 33 33 2c 31 65 2b 33 30
      2c 34 2e 35 2c 30 2e 30 30 32 2c 31 65 2d 32 37 5d 2c 22 73 74 72 69 6e 67 22 3a 22 e2 82 ac 24
      5c 75 30 30 30 66 5c 6e 41 27 42 5c 22 5c 5c 5c 5c 5c 22 2f 22 7d`.replace(/\s+/g, '');
    assert.equal(toHex(canonicalBytes(parseJson(rfcInput))), hex);
  });

  test('§3.2.3 sorting sample: property names ordered by UTF-16 code units', () => {
    const input = String.raw`{
      "\u20ac": "Euro Sign",
      "\r": "Carriage Return",
      "\ufb33": "Hebrew Letter Dalet With Dagesh",
      "1": "One",
      "\ud83d\ude00": "Emoji: Grinning Face",
      "\u0080": "Control",
      "\u00f6": "Latin Small Letter O With Diaeresis"
    }`;
    // The order §3.2.3 lists: "\r", "1", "\u0080", "\u00f6", "\u20ac", "\ud83d\ude00", "\ufb33".
    // The emoji sorts before U+FB33 because its first code unit is 0xD83D.
    const expected =
      String.raw`{"\r":"Carriage Return","1":"One",` +
      '"\u0080":"Control","\u00f6":"Latin Small Letter O With Diaeresis","\u20ac":"Euro Sign",' +
      '"\ud83d\ude00":"Emoji: Grinning Face","\ufb33":"Hebrew Letter Dalet With Dagesh"}';
    assert.equal(canonicalize(parseJson(input)), expected);
    assert.equal(canonicalize(JSON.parse(input)), expected);
  });

  // RFC 8785 Appendix B: IEEE-754 bits → expected JSON text.
  const appendixB: [string, string][] = [
    ['0000000000000000', '0'], // zero
    ['8000000000000000', '0'], // minus zero
    ['0000000000000001', '5e-324'], // min pos number
    ['8000000000000001', '-5e-324'], // min neg number
    ['7fefffffffffffff', '1.7976931348623157e+308'], // max pos number
    ['ffefffffffffffff', '-1.7976931348623157e+308'], // max neg number
    ['4340000000000000', '9007199254740992'], // max pos int
    ['c340000000000000', '-9007199254740992'], // max neg int
    ['4430000000000000', '295147905179352830000'], // ~2**68
    ['44b52d02c7e14af5', '9.999999999999997e+22'],
    ['44b52d02c7e14af6', '1e+23'],
    ['44b52d02c7e14af7', '1.0000000000000001e+23'],
    ['444b1ae4d6e2ef4e', '999999999999999700000'],
    ['444b1ae4d6e2ef4f', '999999999999999900000'],
    ['444b1ae4d6e2ef50', '1e+21'],
    ['3eb0c6f7a0b5ed8c', '9.999999999999997e-7'],
    ['3eb0c6f7a0b5ed8d', '0.000001'],
    ['41b3de4355555553', '333333333.3333332'],
    ['41b3de4355555554', '333333333.33333325'],
    ['41b3de4355555555', '333333333.3333333'],
    ['41b3de4355555556', '333333333.3333334'],
    ['41b3de4355555557', '333333333.33333343'],
    ['becbf647612f3696', '-0.0000033333333333333333'],
    ['43143ff3c1cb0959', '1424953923781206.2'], // round to even
  ];
  for (const [bits, text] of appendixB) {
    test(`Appendix B: ${bits} → ${text}`, () => {
      assert.equal(canonicalize(fromIeeeHex(bits)), text);
      assert.equal(canonicalize([fromIeeeHex(bits)]), `[${text}]`);
    });
  }

  test('Appendix B: NaN and Infinity are errors', () => {
    for (const bits of ['7fffffffffffffff', '7ff0000000000000', 'fff0000000000000']) {
      assert.deepEqual(
        failure(() => canonicalize(fromIeeeHex(bits))),
        rejected('non_finite', ''),
      );
    }
  });

  test('number samples from the §3.2.2 input, one by one', () => {
    // RFC 8785 §3.2.2: 1E30 → 1e+30, 4.50 → 4.5, 2e-3 → 0.002, 1e-27 stays, and
    // 333333333.33333329 → 333333333.3333333. Minus zero serializes as 0 (§3.2.2.3).
    assert.equal(canonicalize(1e30), '1e+30');
    assert.equal(canonicalize(4.5), '4.5');
    assert.equal(canonicalize(0.002), '0.002');
    assert.equal(canonicalize(1e-27), '1e-27');
    assert.equal(canonicalize(-0), '0');
    assert.equal(canonicalize(Number('333333333.33333329')), '333333333.3333333');
  });
});

describe('cyberphone/json-canonicalization testdata (input → output)', () => {
  // Inputs and expected outputs are the files testdata/input/*.json and testdata/output/*.json
  // of github.com/cyberphone/json-canonicalization (the RFC 8785 author's test suite).
  const cases: [string, string, string][] = [
    [
      'arrays',
      '[\n  56,\n  {\n    "d": true,\n    "10": null,\n    "1": [ ]\n  }\n]',
      // output/arrays.json was not in the copy available to us: derived by §3.2.3 by hand.
      '[56,{"1":[],"10":null,"d":true}]',
    ],
    [
      'french',
      '{\n  "peach": "This sorting order",\n  "p\u00e9ch\u00e9": "is wrong according to French",\n' +
        '  "p\u00eache": "but canonicalization MUST",\n  "sin":   "ingnore locale"\n}\n',
      '{"peach":"This sorting order","p\u00e9ch\u00e9":"is wrong according to French",' +
        '"p\u00eache":"but canonicalization MUST","sin":"ingnore locale"}',
    ],
    [
      'structures',
      String.raw`{
  "1": {"f": {"f": "hi","F": 5} ,"\n": 56.0},
  "10": { },
  "": "empty",
  "a": { },
  "111": [ { } ],
  "A": { }
}`,
      String.raw`{"":"empty","1":{"\n":56,"f":{"F":5,"f":"hi"}},"10":{},"111":[{}],"A":{},"a":{}}`,
    ],
    [
      'unicode',
      String.raw`{
  "Unnormalized Unicode":"\u1e0d\u0307"
}
`,
      // No Unicode normalization (§3.2.2.2 keeps strings as they are).
      '{"Unnormalized Unicode":"\u1e0d\u0307"}',
    ],
    [
      'values',
      String.raw`{
  "numbers": [1E30, 4.50, 333333333.33333329, 2e-3, 0.000000000000000000000000001],
  "escaping": "\u20ac$\u000F\u000aA'\u0042\u0022\u005c\\\"\/",
  "literals": [null, true, false]
}`,
      '{"escaping":"\u20ac$' +
        String.raw`\u000f\nA'B\"\\\\\"/","literals":[null,true,false],` +
        '"numbers":[1e+30,4.5,333333333.3333333,0.002,1e-27]}',
    ],
    [
      'weird',
      String.raw`{
  "\u20ac": "Euro Sign",
  "1": "One",
  "\u0080": "Control\u007f",
  "\ud83d\ude02": "Smiley",
  "\u00f6": "Latin Small Letter O With Diaeresis",
  "\ufb33": "Hebrew Letter Dalet With Dagesh",
  "</script>": "Browser Challenge"
}
`,
      '{"1":"One","</script>":"Browser Challenge","\u0080":"Control\u007f",' +
        '"\u00f6":"Latin Small Letter O With Diaeresis","\u20ac":"Euro Sign","\ud83d\ude02":"Smiley",' +
        '"\ufb33":"Hebrew Letter Dalet With Dagesh"}',
    ],
    ['simpleString', '    "this is a test string 1235"', '"this is a test string 1235"'],
  ];
  for (const [name, input, output] of cases) {
    test(name, () => {
      assert.equal(canonicalize(parseJson(input)), output);
      assert.equal(canonicalize(JSON.parse(input)), output);
    });
  }
});

describe('string escaping (§3.2.2.2)', () => {
  /** The escaping §3.2.2.2 prescribes for one code unit, written out independently. */
  function jcsEscape(c: number): string {
    const two: Record<number, string> = {
      8: '\\b',
      9: '\\t',
      10: '\\n',
      12: '\\f',
      13: '\\r',
      34: '\\"',
      92: '\\\\',
    };
    if (two[c] !== undefined) return two[c];
    if (c < 0x20) return `\\u${c.toString(16).padStart(4, '0')}`;
    return String.fromCharCode(c);
  }

  test('every non-surrogate BMP code unit, alone and all together', () => {
    let all = '';
    let expected = '';
    for (let c = 0; c <= 0xffff; c++) {
      if (c >= 0xd800 && c <= 0xdfff) continue;
      const s = String.fromCharCode(c);
      const want = jcsEscape(c);
      assert.equal(canonicalize(s), `"${want}"`, `code unit 0x${c.toString(16)}`);
      all += s;
      expected += want;
    }
    assert.equal(canonicalize(all), `"${expected}"`);
    assert.equal(canonicalize({ [all]: all }), `{"${expected}":"${expected}"}`);
  });

  test('surrogate pairs are written literally (and as 4 UTF-8 bytes)', () => {
    assert.equal(canonicalize('\ud83d\ude00'), '"\ud83d\ude00"');
    assert.equal(canonicalize('\udbff\udfff'), '"\udbff\udfff"');
    assert.equal(toHex(canonicalBytes('\ud83d\ude00')), '22f09f988022');
  });

  test('no escaping of "/", DEL, C1 controls, U+2028/U+2029 or "<"', () => {
    assert.equal(canonicalize('/\u007f\u0085\u2028\u2029<'), '"/\u007f\u0085\u2028\u2029<"');
  });
});

describe('accepted values', () => {
  test('scalars', () => {
    assert.equal(canonicalize(null), 'null');
    assert.equal(canonicalize(true), 'true');
    assert.equal(canonicalize(false), 'false');
    assert.equal(canonicalize(''), '""');
    assert.equal(canonicalize(0), '0');
    assert.equal(canonicalize(-1.5), '-1.5');
    assert.equal(canonicalize(Number.MAX_SAFE_INTEGER), '9007199254740991');
  });

  test('nested structures are sorted at every level; arrays keep their order', () => {
    const v = { b: [3, { z: 1, a: 2 }, 1], a: { d: null, c: [] } };
    assert.equal(canonicalize(v), '{"a":{"c":[],"d":null},"b":[3,{"a":2,"z":1},1]}');
  });

  test('null-prototype objects are plain objects', () => {
    const o = Object.create(null) as Record<string, unknown>;
    o['b'] = 1;
    o['a'] = 2;
    assert.equal(canonicalize(o), '{"a":2,"b":1}');
  });

  test('"__proto__" and "constructor" as own keys are ordinary members', () => {
    const v = parseJson('{"__proto__":{"x":1},"constructor":2}');
    assert.equal(canonicalize(v), '{"__proto__":{"x":1},"constructor":2}');
  });

  test('integer-like keys sort as strings, not numbers', () => {
    assert.equal(canonicalize({ 10: 'a', 9: 'b', 1: 'c' }), '{"1":"c","10":"a","9":"b"}');
  });

  test('the same object twice (not a cycle) is fine', () => {
    const shared = { k: 1 };
    assert.equal(canonicalize({ a: shared, b: [shared, shared] }), '{"a":{"k":1},"b":[{"k":1},{"k":1}]}');
  });

  test(`nesting up to maxDepth (default ${DEFAULT_MAX_DEPTH}) is accepted`, () => {
    let v: unknown = 1;
    for (let i = 0; i < DEFAULT_MAX_DEPTH; i++) v = [v];
    assert.equal(canonicalize(v), `${'['.repeat(DEFAULT_MAX_DEPTH)}1${']'.repeat(DEFAULT_MAX_DEPTH)}`);
    assert.equal(canonicalize({ a: { b: 1 } }, { maxDepth: 2 }), '{"a":{"b":1}}');
    assert.equal(canonicalize('x', { maxDepth: 0 }), '"x"');
  });
});

describe('rejections (code CANONICAL_INVALID, by rule and path)', () => {
  test('NaN and ±Infinity', () => {
    assert.deepEqual(
      failure(() => canonicalize({ metadata: { a: [1, 2, Number.NaN] } })),
      rejected('non_finite', 'metadata.a[2]'),
    );
    assert.deepEqual(
      failure(() => canonicalize([Infinity])),
      rejected('non_finite', '[0]'),
    );
    assert.deepEqual(
      failure(() => canonicalize({ x: -Infinity })),
      rejected('non_finite', 'x'),
    );
  });

  test('lone surrogates in string values', () => {
    for (const s of ['\ud800', '\udc00', 'a\udbffb', '\ude00\ud83d', 'x\ud83d', '\ud83d\ude00\ude00']) {
      assert.deepEqual(
        failure(() => canonicalize({ s })),
        rejected('lone_surrogate', 's'),
      );
      assert.deepEqual(
        failure(() => canonicalize([s])),
        rejected('lone_surrogate', '[0]'),
      );
    }
  });

  test('lone surrogates in keys', () => {
    assert.deepEqual(
      failure(() => canonicalize({ a: { '\ud800': 1 } })),
      rejected('lone_surrogate', 'a["\\ud800"]'),
    );
    assert.deepEqual(
      failure(() => canonicalize({ 'k\udfff': 1 })),
      rejected('lone_surrogate', '["k\\udfff"]'),
    );
  });

  test('undefined is never dropped: members, elements, holes, root', () => {
    assert.deepEqual(
      failure(() => canonicalize({ a: 1, b: undefined })),
      rejected('undefined', 'b'),
    );
    assert.deepEqual(
      failure(() => canonicalize([1, undefined])),
      rejected('undefined', '[1]'),
    );
    const sparse = [1];
    sparse[2] = 3; // leaves a hole at index 1
    assert.deepEqual(
      failure(() => canonicalize({ list: sparse })),
      rejected('undefined', 'list[1]'),
    );
    assert.deepEqual(
      failure(() => canonicalize(undefined)),
      rejected('undefined', ''),
    );
  });

  test('functions, symbols and bigints', () => {
    assert.deepEqual(
      failure(() => canonicalize({ f: () => 1 })),
      rejected('unsupported_type', 'f'),
    );
    assert.deepEqual(
      failure(() => canonicalize([Symbol('s')])),
      rejected('unsupported_type', '[0]'),
    );
    assert.deepEqual(
      failure(() => canonicalize({ n: 10n })),
      rejected('unsupported_type', 'n'),
    );
  });

  test('class instances and non-plain objects', () => {
    class Point {
      x = 1;
    }
    const values: unknown[] = [
      new Date(0),
      new Map([['a', 1]]),
      new Set([1]),
      new Point(),
      new Uint8Array(2),
      new String('s'),
      new Number(1),
      /re/,
      new Error('e'),
      Promise.resolve(),
    ];
    for (const v of values) {
      assert.deepEqual(
        failure(() => canonicalize({ x: { y: v } })),
        rejected('unsupported_type', 'x.y'),
      );
    }
  });

  test('symbol-keyed properties would be invisible: rejected', () => {
    assert.deepEqual(
      failure(() => canonicalize({ a: { [Symbol('k')]: 1 } })),
      rejected('unsupported_type', 'a'),
    );
  });

  test('cycles, direct and indirect, in objects and arrays', () => {
    const o: Record<string, unknown> = { a: 1 };
    o['self'] = o;
    assert.deepEqual(
      failure(() => canonicalize(o)),
      rejected('cycle', 'self'),
    );
    const a: unknown[] = [];
    a.push(1, [a]);
    assert.deepEqual(
      failure(() => canonicalize(a)),
      rejected('cycle', '[1][0]'),
    );
    const x: Record<string, unknown> = {};
    const y = { back: x };
    x['y'] = [y];
    assert.deepEqual(
      failure(() => canonicalize({ root: x })),
      rejected('cycle', 'root.y[0].back'),
    );
  });

  test('nesting deeper than maxDepth', () => {
    let v: unknown = 1;
    for (let i = 0; i < DEFAULT_MAX_DEPTH + 1; i++) v = [v];
    const path = '[0]'.repeat(DEFAULT_MAX_DEPTH);
    assert.deepEqual(
      failure(() => canonicalize(v)),
      rejected('max_depth', path),
    );
    assert.deepEqual(
      failure(() => canonicalize({ a: { b: {} } }, { maxDepth: 2 })),
      rejected('max_depth', 'a.b'),
    );
    assert.deepEqual(
      failure(() => canonicalize([], { maxDepth: 0 })),
      rejected('max_depth', ''),
    );
  });

  test('non-identifier keys are quoted in paths', () => {
    assert.deepEqual(
      failure(() => canonicalize({ 'a.b': { '': { 'x y': [Number.NaN] } } })),
      rejected('non_finite', '["a.b"][""]["x y"][0]'),
    );
  });

  test('a bad maxDepth option is a programming error (RangeError)', () => {
    for (const maxDepth of [-1, 1.5, Number.NaN, 1e6]) {
      assert.throws(() => canonicalize(1, { maxDepth }), RangeError);
    }
  });
});

// ---------------------------------------------------------------------------------------------
// Property tests.

/** Doubles whose canonical text parseJson reads back (integers in 2^53..1e21 are written in full). */
const jsonNumber = fc
  .double({ noNaN: true, noDefaultInfinity: true })
  .filter((n) => !Number.isInteger(n) || Number.isSafeInteger(n) || Math.abs(n) >= 1e21);
const key = fc.oneof(
  fc.string({ unit: 'binary' }),
  fc.constantFrom('__proto__', 'constructor', 'toString', '', '1', '10', '\ud83d\ude00', '\ufb33', '\r'),
);
const { json } = fc.letrec((tie) => ({
  json: fc.oneof(
    { depthSize: 'small' },
    fc.constant(null),
    fc.boolean(),
    jsonNumber,
    fc.string({ unit: 'binary' }),
    fc.array(tie('json'), { maxLength: 5 }),
    fc.dictionary(key, tie('json'), { maxKeys: 5, noNullPrototype: true }),
  ),
}));

/** `v` with every -0 made 0: the one change canonicalization makes to a value (§3.2.2.3). */
function withoutMinusZero(v: unknown): unknown {
  if (Object.is(v, -0)) return 0;
  if (Array.isArray(v)) return v.map(withoutMinusZero);
  if (v !== null && typeof v === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) {
      Object.defineProperty(out, k, {
        value: withoutMinusZero(x),
        enumerable: true,
        writable: true,
        configurable: true,
      });
    }
    return out;
  }
  return v;
}

/** `v` rebuilt with every object's keys inserted in reverse order. */
function reversedKeys(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(reversedKeys);
  if (v !== null && typeof v === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v).reverse()) {
      Object.defineProperty(out, k, {
        value: reversedKeys(x),
        enumerable: true,
        writable: true,
        configurable: true,
      });
    }
    return out;
  }
  return v;
}

/**
 * Independent oracle for well-formed UTF-16: a UTF-8 round trip replaces lone surrogates.
 * The decoder keeps a leading U+FEFF (by default it would strip it as a byte order mark).
 */
function isWellFormed(s: string): boolean {
  return new TextDecoder('utf-8', { ignoreBOM: true }).decode(new TextEncoder().encode(s)) === s;
}

describe('properties', () => {
  test('parseJson(canonicalize(v)) deep-equals v (modulo -0); JSON.parse agrees', () => {
    fc.assert(
      fc.property(json, (v) => {
        const text = canonicalize(v);
        assert.deepStrictEqual(parseJson(text), withoutMinusZero(v));
        assert.deepStrictEqual(JSON.parse(text), withoutMinusZero(v));
      }),
      { numRuns: 500 },
    );
  });

  test('canonicalize is idempotent and ignores key insertion order', () => {
    fc.assert(
      fc.property(json, (v) => {
        const text = canonicalize(v);
        assert.equal(canonicalize(parseJson(text)), text);
        assert.equal(canonicalize(reversedKeys(v)), text);
      }),
      { numRuns: 500 },
    );
  });

  test('canonical bytes are the UTF-8 of the canonical text', () => {
    fc.assert(
      fc.property(json, (v) => {
        assert.equal(new TextDecoder().decode(canonicalBytes(v)), canonicalize(v));
      }),
    );
  });

  test('numbers: the text reads back as the same double (RFC 8785 §3.2.2.3)', () => {
    fc.assert(
      fc.property(fc.double({ noNaN: true, noDefaultInfinity: true }), (n) => {
        const text = canonicalize(n);
        assert.equal(Number(text), n === 0 ? 0 : n);
        assert.equal(text, String(n));
      }),
      { numRuns: 2000 },
    );
  });

  test('sortKeys orders keys as the default sort does, by insertion up to 16 keys and beyond', () => {
    const codeUnit = fc.integer({ min: 0, max: 0xffff }).map((c) => String.fromCharCode(c));
    const key = fc.oneof(
      fc.string({ unit: codeUnit, maxLength: 4 }),
      fc.constantFrom('a', 'ab', 'b', '\ud83d\ude00'),
    );
    fc.assert(
      fc.property(fc.uniqueArray(key, { maxLength: 40 }), (keys) => {
        const expected = [...keys].sort();
        const given = [...keys];
        assert.deepEqual(sortKeys(given), expected);
        assert.deepEqual(given, expected, 'sorted in place');
      }),
      { numRuns: 2000 },
    );
  });

  test('a string is rejected exactly when it holds a lone surrogate (value or key)', () => {
    const codeUnit = fc.integer({ min: 0, max: 0xffff }).map((c) => String.fromCharCode(c));
    // U+FEFF is listed: a UTF-8 decoder strips it as a byte order mark unless told not to.
    const anyUnit = fc.oneof(codeUnit, fc.constantFrom('\ud800', '\udc00', '\ud83d\ude00', '\ufeff'));
    fc.assert(
      fc.property(fc.string({ unit: anyUnit, maxLength: 8 }), (s) => {
        assert.equal(hasLoneSurrogate(s), !isWellFormed(s));
        if (isWellFormed(s)) {
          assert.equal(JSON.parse(canonicalize({ [s]: s }))[s], s);
        } else {
          assert.deepEqual(
            failure(() => canonicalize(s)),
            rejected('lone_surrogate', ''),
          );
          assert.equal(failure(() => canonicalize({ [s]: 1 })).rule, 'lone_surrogate');
        }
      }),
      { numRuns: 2000 },
    );
  });

  test('any JS value: either canonical JSON that JSON.parse reads, or CANONICAL_INVALID', () => {
    const anything = fc.anything({
      withBigInt: true,
      withBoxedValues: true,
      withDate: true,
      withMap: true,
      withSet: true,
      withNullPrototype: true,
      withObjectString: true,
      withSparseArray: true,
      withTypedArray: true,
      withUnicodeString: true,
    });
    fc.assert(
      fc.property(anything, (v) => {
        let text: string;
        try {
          text = canonicalize(v);
        } catch (e) {
          assert.ok(e instanceof EvidentError, String(e));
          assert.equal(e.code, ErrorCode.CANONICAL_INVALID);
          return;
        }
        assert.equal(canonicalize(JSON.parse(text)), text);
      }),
      { numRuns: 1000 },
    );
  });
});
