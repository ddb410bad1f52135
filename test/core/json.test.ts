import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { ErrorCode, EvidentError } from '../../src/core/errors.ts';
import { type ParseJsonOptions, parseJson, parseJsonLines } from '../../src/core/json.ts';

interface Failure {
  code: string;
  rule: unknown;
  offset: unknown;
  line: unknown;
  column: unknown;
}

function details(e: EvidentError): Failure {
  const { rule, offset, line, column } = e.details;
  return { code: e.code, rule, offset, line, column };
}

/** The code and details of the rejection of `text` (never its message). */
function failure(text: string, options?: ParseJsonOptions): Failure {
  try {
    parseJson(text, options);
  } catch (e) {
    if (!(e instanceof EvidentError)) throw e;
    return details(e);
  }
  return assert.fail(`expected ${JSON.stringify(text)} to be rejected`);
}

function rejected(rule: string, offset: number, line = 1, column = offset + 1): Failure {
  return { code: ErrorCode.JSON_INVALID, rule, offset, line, column };
}

function ruleOf(text: string, options?: ParseJsonOptions): unknown {
  return failure(text, options).rule;
}

describe('valid JSON: same value as JSON.parse', () => {
  const docs = [
    'null',
    'true',
    'false',
    '0',
    '-0',
    '1',
    '-1',
    '123456789012345',
    '1234567890123456',
    '9007199254740991',
    '-9007199254740991',
    '1.5',
    '-0.0',
    '1e3',
    '1E+3',
    '1e-3',
    '2.5E-10',
    '1e308',
    '5e-324',
    '1e-400',
    '0.1',
    '9007199254740993.5',
    '9007199254740993e0',
    '""',
    '"abc"',
    String.raw`"\" \\ \/ \b \f \n \r \t"`,
    String.raw`"\u0000\u001f\u0041\u00e9\u20AC\uFFFF"`,
    String.raw`"\ud83d\ude00 \uD83D\uDE00"`,
    '"\ud83d\ude00 \u00e9 \u2028 \u007f"',
    '[]',
    '{}',
    '[1,[2,[3]],{"a":[]}]',
    ' \t\r\n{ "a" : 1 , "b" :[ true , false , null ] } \r\n\t ',
    '{"":0,"a":{"b":{"c":"d"}}}',
    '{"a":1,"A":2,"\u0061\u0301":3}',
    '{"1":1,"10":2,"2":3}',
  ];
  for (const text of docs) {
    test(JSON.stringify(text), () => {
      const value = parseJson(text);
      assert.deepStrictEqual(value, JSON.parse(text));
    });
  }

  test('-0 is kept as -0, like JSON.parse', () => {
    assert.ok(Object.is(parseJson('-0'), -0));
  });
});

describe('__proto__ and other Object.prototype names become own data properties', () => {
  test('{"__proto__":{"x":1}}', () => {
    const v = parseJson('{"__proto__":{"x":1}}') as Record<string, unknown>;
    assert.equal(Object.getPrototypeOf(v), Object.prototype);
    assert.deepEqual(Object.getOwnPropertyDescriptor(v, '__proto__'), {
      value: { x: 1 },
      writable: true,
      enumerable: true,
      configurable: true,
    });
    assert.equal((v as { x?: unknown }).x, undefined);
    assert.deepEqual(Object.keys(v), ['__proto__']);
    assert.equal(({} as { x?: unknown }).x, undefined); // Object.prototype untouched
  });

  test('nested and alongside other members', () => {
    const v = parseJson('{"a":[{"__proto__":null,"b":1}]}') as { a: Record<string, unknown>[] };
    const inner = v.a[0]!;
    assert.equal(Object.getPrototypeOf(inner), Object.prototype);
    assert.ok(Object.hasOwn(inner, '__proto__'));
    assert.equal(Object.getOwnPropertyDescriptor(inner, '__proto__')?.value, null);
    assert.equal(inner['b'], 1);
  });

  test('constructor, toString, hasOwnProperty, valueOf', () => {
    const text = '{"constructor":{"prototype":{"p":1}},"toString":1,"hasOwnProperty":2,"valueOf":3}';
    const v = parseJson(text) as Record<string, unknown>;
    assert.equal(Object.getPrototypeOf(v), Object.prototype);
    assert.deepEqual(Object.keys(v), ['constructor', 'toString', 'hasOwnProperty', 'valueOf']);
    assert.deepEqual(v['constructor'], { prototype: { p: 1 } });
    assert.equal(({} as { p?: unknown }).p, undefined);
  });

  test('a duplicated __proto__ is a duplicate key', () => {
    assert.deepEqual(failure('{"__proto__":1,"__proto__":2}'), rejected('duplicate_key', 15));
  });
});

describe('rejections (code JSON_INVALID, by rule and position)', () => {
  test('duplicate keys, also when spelled differently', () => {
    assert.deepEqual(failure('{"a":1,"a":2}'), rejected('duplicate_key', 7));
    assert.deepEqual(failure('{"a":1,"\\u0061":2}'), rejected('duplicate_key', 7));
    assert.deepEqual(failure('[{"x":{"k":1,"k":1}}]'), rejected('duplicate_key', 13));
    // The same key in two different objects is fine.
    assert.deepEqual(parseJson('[{"k":1},{"k":2}]'), [{ k: 1 }, { k: 2 }]);
  });

  test('lone surrogates as escapes', () => {
    assert.deepEqual(failure(String.raw`"\uD800"`), rejected('lone_surrogate', 1));
    assert.deepEqual(failure(String.raw`"\udc00"`), rejected('lone_surrogate', 1));
    assert.deepEqual(failure(String.raw`"ab\uD800\u0041"`), rejected('lone_surrogate', 3));
    assert.deepEqual(failure(String.raw`"\uD800x"`), rejected('lone_surrogate', 1));
    assert.deepEqual(failure(String.raw`"\uDE00\uD83D"`), rejected('lone_surrogate', 1));
    assert.deepEqual(failure(String.raw`"\uD83D\uD83D\uDE00"`), rejected('lone_surrogate', 1));
    assert.deepEqual(failure(String.raw`{"\uDBFF":1}`), rejected('lone_surrogate', 2));
  });

  test('raw lone surrogate code units in the text', () => {
    assert.deepEqual(failure('"\ud800"'), rejected('lone_surrogate', 1));
    assert.deepEqual(failure('"a\udc00"'), rejected('lone_surrogate', 2));
    assert.deepEqual(failure('"\ude00\ud83d"'), rejected('lone_surrogate', 1));
    assert.deepEqual(failure('{"k\ud800":1}'), rejected('lone_surrogate', 3));
    // A raw half next to an escaped half is not a pair in the text: rejected too.
    assert.deepEqual(failure('"\ud83d\\uDE00"'), rejected('lone_surrogate', 1));
    assert.equal(ruleOf('"\\uD83D\ude00"'), 'lone_surrogate');
  });

  test('nesting deeper than maxDepth (default 64)', () => {
    const ok = `${'['.repeat(64)}${']'.repeat(64)}`;
    assert.equal(JSON.stringify(parseJson(ok)), ok);
    assert.deepEqual(failure(`${'['.repeat(65)}${']'.repeat(65)}`), rejected('max_depth', 64));
    assert.deepEqual(failure('{"a":{"b":[1]}}', { maxDepth: 2 }), rejected('max_depth', 10));
    assert.deepEqual(failure('[]', { maxDepth: 0 }), rejected('max_depth', 0));
    assert.equal(parseJson('1', { maxDepth: 0 }), 1);
  });

  test('a million open brackets fail fast, without a stack overflow', () => {
    const started = performance.now();
    assert.deepEqual(failure('['.repeat(1_000_000)), rejected('max_depth', 64));
    assert.deepEqual(failure('{"a":'.repeat(1_000_000)), rejected('max_depth', 320));
    assert.ok(performance.now() - started < 2000);
  });

  test('integer literals beyond ±(2^53 - 1)', () => {
    assert.deepEqual(failure('9007199254740992'), rejected('unsafe_integer', 0));
    assert.deepEqual(failure('-9007199254740992'), rejected('unsafe_integer', 0));
    assert.deepEqual(failure('[1, 9007199254740993]'), rejected('unsafe_integer', 4));
    assert.deepEqual(failure('{"n":12345678901234567890}'), rejected('unsafe_integer', 5));
    assert.equal(ruleOf(`1${'0'.repeat(400)}`), 'unsafe_integer');
    // With a fraction or exponent a literal is a float, and rounding is expected.
    assert.equal(parseJson('9007199254740993.0'), 9007199254740992);
    assert.equal(parseJson('1e20'), 1e20);
  });

  test('numbers too large for a double', () => {
    assert.deepEqual(failure('1e400'), rejected('number_overflow', 0));
    assert.deepEqual(failure('[-1.5e999]'), rejected('number_overflow', 1));
  });

  test('syntax errors', () => {
    const cases: [string, number][] = [
      ['', 0],
      ['   ', 3],
      ['{', 1],
      ['[', 1],
      ['[1,]', 3],
      ['[,1]', 1],
      ['[1 2]', 3],
      ['{"a":1,}', 7],
      ['{"a" 1}', 5],
      ['{"a":}', 5],
      ['{a:1}', 1],
      ["{'a':1}", 1],
      ['{1:1}', 1],
      ['01', 1],
      ['-01', 2],
      ['1.', 2],
      ['.5', 0],
      ['+1', 0],
      ['-', 1],
      ['-a', 1],
      ['1e', 2],
      ['1e+', 3],
      ['1.e5', 2],
      ['tru', 0],
      ['nul', 0],
      ['True', 0],
      ['NaN', 0],
      ['Infinity', 0],
      ['-Infinity', 1],
      ['"abc', 4],
      ['"\\', 2],
      ['"\\x"', 1],
      ['"\\u12G4"', 5],
      ['"\\u12"', 5],
      ['"\t"', 1],
      ['"a\nb"', 2],
      ['"\u0000"', 1],
      ['\u00a01', 0],
      ['\u000b1', 0],
      ['\u000c1', 0],
      ['\u20281', 0],
      ['/* c */ 1', 0],
      ['[1]/', 3],
    ];
    for (const [text, offset] of cases) {
      const f = failure(text);
      assert.equal(f.code, ErrorCode.JSON_INVALID);
      assert.equal(f.rule, text === '[1]/' ? 'trailing_data' : 'syntax', JSON.stringify(text));
      assert.equal(f.offset, offset, JSON.stringify(text));
      assert.throws(() => JSON.parse(text), SyntaxError);
    }
  });

  test('data after the value', () => {
    assert.deepEqual(failure('1 2'), rejected('trailing_data', 2));
    assert.deepEqual(failure('{} x'), rejected('trailing_data', 3));
    assert.deepEqual(failure('[]]'), rejected('trailing_data', 2));
    assert.deepEqual(failure('"a""b"'), rejected('trailing_data', 3));
    assert.deepEqual(failure('{"a":1}\n{"b":2}'), rejected('trailing_data', 8, 2, 1));
  });

  test('a leading byte order mark', () => {
    assert.deepEqual(failure('\ufeff{}'), rejected('bom', 0));
    assert.equal(ruleOf(' \ufeff{}'), 'syntax');
  });

  test('maxLength, in UTF-16 code units', () => {
    assert.deepEqual(failure('[1,2,3]', { maxLength: 6 }), rejected('too_long', 6));
    assert.deepEqual(parseJson('[1,2,3]', { maxLength: 7 }), [1, 2, 3]);
    assert.throws(() => parseJson('1', { maxLength: -1 }), RangeError);
    assert.throws(() => parseJson('1', { maxDepth: 1.5 }), RangeError);
  });

  test('line and column are 1-based, counted in code units', () => {
    const text = '{\n  "a": 1,\n  "b": [1, 2,, 3]\n}';
    assert.deepEqual(failure(text), rejected('syntax', 25, 3, 14));
    assert.deepEqual(failure('{\n"a":1,\n"a":2}'), rejected('duplicate_key', 9, 3, 1));
  });
});

describe('parseJsonLines', () => {
  test('one entry per non-blank line, good or bad, with file line numbers', () => {
    const text = '{"a":1}\n\n[1,2]\r\n{"a":1,"a":2}\n   \n"\\uD800"\nnull\n{"tail":true}';
    const lines = parseJsonLines(text);
    assert.deepEqual(
      lines.map((l) => l.line),
      [1, 3, 4, 6, 7, 8],
    );
    assert.deepEqual(lines[0], { line: 1, value: { a: 1 } });
    assert.deepEqual(lines[1], { line: 3, value: [1, 2] });
    assert.deepEqual(details(lines[2]!.error!), rejected('duplicate_key', 23, 4, 8));
    assert.deepEqual(details(lines[3]!.error!), rejected('lone_surrogate', 35, 6, 2));
    assert.deepEqual(lines[4], { line: 7, value: null });
    assert.deepEqual(lines[5], { line: 8, value: { tail: true } });
  });

  test('blank or empty input gives no entries; a final newline adds none', () => {
    assert.deepEqual(parseJsonLines(''), []);
    assert.deepEqual(parseJsonLines('\n\r\n \t\n'), []);
    assert.deepEqual(parseJsonLines('1\n2\n'), [
      { line: 1, value: 1 },
      { line: 2, value: 2 },
    ]);
  });

  test('a value cannot span lines, and each line is its own document', () => {
    const lines = parseJsonLines('{"a":\n1}\n2 3');
    assert.deepEqual(
      lines.map((l) => l.error && details(l.error).rule),
      ['syntax', 'trailing_data', 'trailing_data'],
    );
  });

  test('options apply per line; a BOM is rejected on line 1', () => {
    const lines = parseJsonLines('\ufeff1\n[[1]]\n[2]', { maxDepth: 1, maxLength: 4 });
    assert.equal(lines[0]!.error && details(lines[0]!.error).rule, 'bom');
    assert.equal(lines[1]!.error && details(lines[1]!.error).rule, 'too_long');
    assert.deepEqual(lines[2], { line: 3, value: [2] });
    const deep = parseJsonLines('[[1]]', { maxDepth: 1 });
    assert.deepEqual(details(deep[0]!.error!), rejected('max_depth', 1));
  });
});

// ---------------------------------------------------------------------------------------------
// Property tests against JSON.parse.

/** True when every number in `v` survives JSON.stringify → strict parse (see unsafe_integer). */
function numbersSafe(v: unknown): boolean {
  if (typeof v === 'number') return !Number.isInteger(v) || Number.isSafeInteger(v) || Math.abs(v) >= 1e21;
  if (Array.isArray(v)) return v.every(numbersSafe);
  if (v !== null && typeof v === 'object') return Object.values(v).every(numbersSafe);
  return true;
}

/** The same JSON text with every non-ASCII code unit written as a \uXXXX escape. */
function asciiOnly(text: string): string {
  return text.replace(/[\u007f-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

function isWellFormed(s: string): boolean {
  // ignoreBOM: a decoder otherwise drops a leading U+FEFF, and '\ufeff' would look ill-formed.
  return new TextDecoder('utf-8', { ignoreBOM: true }).decode(new TextEncoder().encode(s)) === s;
}

describe('properties', () => {
  const values = fc.oneof(fc.jsonValue(), fc.jsonValue({ stringUnit: 'binary' })).filter(numbersSafe);

  test('agrees with JSON.parse on JSON.stringify of any JSON value (compact, indented, escaped)', () => {
    fc.assert(
      fc.property(values, (v) => {
        for (const text of [
          JSON.stringify(v),
          JSON.stringify(v, null, 2),
          asciiOnly(JSON.stringify(v, null, '\t')),
        ]) {
          assert.deepStrictEqual(parseJson(text), JSON.parse(text));
        }
      }),
      { numRuns: 500 },
    );
  });

  test('integer-valued doubles from 2^53 to 1e21 are refused as unsafe_integer', () => {
    const big = fc.integer({ min: 54, max: 69 }).chain((e) => fc.double({ min: 2 ** (e - 1), max: 2 ** e }));
    fc.assert(
      fc.property(big, fc.boolean(), (x, negative) => {
        const n = Math.floor(x) * (negative ? -1 : 1);
        fc.pre(Math.abs(n) > Number.MAX_SAFE_INTEGER && Math.abs(n) < 1e21);
        assert.equal(ruleOf(JSON.stringify([n])), 'unsafe_integer');
      }),
    );
  });

  test('any string: read back exactly, or rejected as lone_surrogate (raw or escaped)', () => {
    const codeUnit = fc.integer({ min: 0, max: 0xffff }).map((c) => String.fromCharCode(c));
    const anyUnit = fc.oneof(codeUnit, fc.constantFrom('\ud800', '\udc00', '\ud83d\ude00', '"', '\\'));
    fc.assert(
      fc.property(fc.string({ unit: anyUnit, maxLength: 8 }), (s) => {
        // JSON.stringify escapes lone surrogates (\udxxx) and writes pairs raw.
        const texts = [JSON.stringify(s), asciiOnly(JSON.stringify(s))];
        for (const text of texts) {
          if (isWellFormed(s)) assert.equal(parseJson(text), s);
          else assert.equal(ruleOf(text), 'lone_surrogate');
        }
        // The same code units raw in the text (minus those a string cannot hold unescaped).
        const raw = s.replace(/["\\\u0000-\u001f]/g, '');
        if (isWellFormed(raw)) assert.equal(parseJson(`"${raw}"`), raw);
        else assert.equal(ruleOf(`"${raw}"`), 'lone_surrogate');
      }),
      { numRuns: 2000 },
    );
  });

  test('mutated JSON: parseJson accepts only what JSON.parse accepts, with the same value', () => {
    const alphabet = fc.constantFrom(...'{}[],:"\\ 0123456789-+.eEtrufalsn\n\tuDdA/x'.split(''));
    const mutated = fc
      .tuple(
        fc.jsonValue(),
        fc.array(fc.tuple(fc.nat(), fc.nat(2), alphabet), { minLength: 1, maxLength: 3 }),
      )
      .map(([v, edits]) => {
        let text = JSON.stringify(v);
        for (const [at, kind, ch] of edits) {
          const i = text.length === 0 ? 0 : at % (text.length + 1);
          if (kind === 0) text = text.slice(0, i) + ch + text.slice(i);
          else if (kind === 1) text = text.slice(0, i) + text.slice(i + 1);
          else text = text.slice(0, i) + ch + text.slice(i + 1);
        }
        return text;
      });
    fc.assert(
      fc.property(mutated, (text) => {
        let expected: unknown;
        let nativeOk = true;
        try {
          expected = JSON.parse(text);
        } catch {
          nativeOk = false;
        }
        let ours: unknown;
        try {
          ours = parseJson(text);
        } catch (e) {
          assert.ok(e instanceof EvidentError, String(e));
          assert.equal(e.code, ErrorCode.JSON_INVALID);
          const rule = e.details['rule'];
          // Grammar errors must be grammar errors for JSON.parse too; the rest are our stricter rules.
          if (rule === 'syntax' || rule === 'trailing_data') assert.equal(nativeOk, false, text);
          else
            assert.ok(
              ['duplicate_key', 'unsafe_integer', 'number_overflow', 'lone_surrogate'].includes(String(rule)),
            );
          return;
        }
        assert.ok(nativeOk, `accepted what JSON.parse rejects: ${text}`);
        assert.deepStrictEqual(ours, expected);
      }),
      { numRuns: 3000 },
    );
  });
});
