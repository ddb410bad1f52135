import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ErrorCode, EvidentError, type FieldIssue, ValidationError } from '../../src/core/errors.ts';
import { LIMITS, REQUIRED_FIELDS } from '../../src/core/event/schema.ts';
import { validateEvent } from '../../src/core/event/validate.ts';
import { parseJson } from '../../src/core/json.ts';

const BASE = {
  actor_id: 'user-1',
  actor_type: 'user',
  action: 'read',
  resource_type: 'patient_record',
  resource_id: 'p-1',
  result: 'success',
  ip_address: '10.0.0.1',
} as const;

const UUID_V7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
const FIXED_NOW = new Date('2026-03-04T05:06:07.089Z');

/** The issues of the rejection of `input` as [field, rule] pairs (never messages). */
function issuesOf(input: unknown): [string, string][] {
  try {
    validateEvent(input);
  } catch (e) {
    assert.ok(e instanceof ValidationError, `expected a ValidationError, got ${String(e)}`);
    assert.equal(e.code, ErrorCode.VALIDATION_FAILED);
    assert.deepEqual((e.details as { issues: FieldIssue[] }).issues, e.issues, 'issues are in details too');
    return e.issues.map((i) => [i.field, i.rule]);
  }
  return assert.fail(`expected ${JSON.stringify(input)} to be rejected`);
}

function rejectsWith(input: unknown, field: string, rule: string): void {
  assert.deepEqual(issuesOf(input), [[field, rule]]);
}

function accepted(input: unknown) {
  return validateEvent(input, { now: () => FIXED_NOW });
}

/** An event built from JSON text, so that keys like `__proto__` are own properties. */
function fromJson(extra: string): unknown {
  return parseJson(`{${JSON.stringify(BASE).slice(1, -1)},${extra}}`);
}

describe('a valid event', () => {
  test('a minimal event passes; the id becomes a UUIDv7 and the timestamp is filled', () => {
    const ev = accepted({ ...BASE });
    assert.match(ev.id, UUID_V7);
    assert.equal(ev.timestamp, FIXED_NOW.toISOString());
    const { id: _id, timestamp: _ts, ...rest } = ev;
    assert.deepEqual(rest, BASE, 'nothing else is added, dropped or rewritten');
  });

  test('the input object is not mutated', () => {
    const input = { ...BASE, ip_address: '2001:DB8::1' };
    accepted(input);
    assert.deepEqual(input, { ...BASE, ip_address: '2001:DB8::1' });
  });

  test('a client id and timestamp are kept as sent', () => {
    const id = '01890a5d-ac96-774b-bcce-b302099a8057';
    const ev = accepted({ ...BASE, id, timestamp: '2024-01-02T03:04:05.678Z' });
    assert.equal(ev.id, id);
    assert.equal(ev.timestamp, '2024-01-02T03:04:05.678Z');
  });

  test('every optional field is accepted', () => {
    const full = {
      ...BASE,
      user_agent: 'Mozilla/5.0',
      session_id: 's-1',
      reason: 'line one\nline two\tindented\r\n',
      changed_fields: ['name'],
      old_values: { name: 'a' },
      new_values: { name: 'b' },
      metadata: { nested: { list: [1, 2.5, true, null, 'x'] } },
    };
    const ev = accepted(full);
    assert.deepEqual(
      { ...ev, id: undefined, timestamp: undefined },
      { ...full, id: undefined, timestamp: undefined },
    );
  });

  test('successive generated ids are distinct UUIDv7s in creation order', () => {
    const ids = Array.from({ length: 200 }, () => validateEvent({ ...BASE }).id);
    assert.equal(new Set(ids).size, ids.length);
    for (const id of ids) assert.match(id, UUID_V7);
    assert.deepEqual([...ids].sort(), ids);
  });
});

describe('required fields', () => {
  for (const field of REQUIRED_FIELDS) {
    test(`${field} missing → required`, () => {
      const { [field]: _gone, ...rest } = BASE;
      rejectsWith(rest, field, 'required');
    });
  }

  test('ip_address missing → required, unless actor_type is system', () => {
    const { ip_address: _gone, ...rest } = BASE;
    rejectsWith(rest, 'ip_address', 'required');
    for (const actor_type of ['service', 'admin', 'anonymous']) {
      rejectsWith({ ...rest, actor_type }, 'ip_address', 'required');
    }
    assert.equal(accepted({ ...rest, actor_type: 'system' }).ip_address, undefined);
  });

  test('an empty required string → min_length', () => {
    rejectsWith({ ...BASE, actor_id: '' }, 'actor_id', 'min_length');
    rejectsWith({ ...BASE, action: '' }, 'action', 'min_length');
  });
});

describe('types and enums', () => {
  test('wrong types', () => {
    rejectsWith({ ...BASE, actor_id: 5 }, 'actor_id', 'type');
    rejectsWith({ ...BASE, resource_id: ['p-1'] }, 'resource_id', 'type');
    rejectsWith({ ...BASE, ip_address: 167772161 }, 'ip_address', 'type');
    rejectsWith({ ...BASE, timestamp: 1700000000000 }, 'timestamp', 'type');
    rejectsWith({ ...BASE, changed_fields: 'name' }, 'changed_fields', 'type');
    rejectsWith({ ...BASE, changed_fields: [1] }, 'changed_fields[0]', 'type');
    rejectsWith({ ...BASE, metadata: [] }, 'metadata', 'type');
    rejectsWith({ ...BASE, old_values: 'x' }, 'old_values', 'type');
    rejectsWith({ ...BASE, metadata: { when: new Date(0) } }, 'metadata.when', 'type');
    rejectsWith({ ...BASE, metadata: { n: Number.NaN } }, 'metadata.n', 'type');
    rejectsWith({ ...BASE, metadata: { n: Number.POSITIVE_INFINITY } }, 'metadata.n', 'type');
    rejectsWith({ ...BASE, reason: undefined }, 'reason', 'type');
    rejectsWith({ ...BASE, metadata: { a: undefined } }, 'metadata.a', 'type');
  });

  test('an event that is not a JSON object', () => {
    for (const x of [null, undefined, 'event', 42, [], [BASE], new Map()]) rejectsWith(x, '(event)', 'type');
  });

  test('bad enums → enum', () => {
    rejectsWith({ ...BASE, actor_type: 'robot' }, 'actor_type', 'enum');
    rejectsWith({ ...BASE, actor_type: 'User' }, 'actor_type', 'enum');
    rejectsWith({ ...BASE, result: 'ok' }, 'result', 'enum');
    rejectsWith({ ...BASE, result: 'SUCCESS' }, 'result', 'enum');
  });

  test('ids must be lowercase canonical UUIDs', () => {
    rejectsWith({ ...BASE, id: 'not-a-uuid' }, 'id', 'format');
    rejectsWith({ ...BASE, id: '01890A5D-AC96-774B-BCCE-B302099A8057' }, 'id', 'format');
    rejectsWith({ ...BASE, id: '01890a5dac96774bbcceb302099a8057' }, 'id', 'format');
  });
});

describe('IP addresses', () => {
  test('malformed addresses → format', () => {
    for (const ip of [
      '010.0.0.1', // leading zero: octal to some parsers
      '10.0.0.01',
      '256.1.1.1',
      '1.2.3.256',
      '1.2.3',
      '1.2.3.4.5',
      '1.2.3.4 ',
      ' 1.2.3.4',
      '1..3.4',
      '+1.2.3.4',
      'localhost',
      'garbage',
      '',
      'fe80::1%eth0', // zone id
      'fe80::1%1',
      '1::2::3',
      '12345::1',
      ':1:2:3:4:5:6:7',
      '1:2:3:4:5:6:7:8:9',
      '1:2:3:4::5:6:7:8',
      '::ffff:1.2.3.04',
      '::ffff:256.1.1.1',
      '1.2.3.4::',
      'g::1',
    ]) {
      assert.deepEqual(issuesOf({ ...BASE, ip_address: ip }), [['ip_address', 'format']], ip);
    }
  });

  test('IPv4 is kept as written when already canonical', () => {
    for (const ip of ['0.0.0.0', '10.0.0.1', '255.255.255.255', '192.168.100.200']) {
      assert.equal(accepted({ ...BASE, ip_address: ip }).ip_address, ip);
    }
  });

  test('IPv6 is written in the RFC 5952 canonical form', () => {
    const cases: [string, string][] = [
      ['2001:DB8:0:0:0:0:0:1', '2001:db8::1'],
      ['2001:0db8:0000:0000:0000:0000:0000:0001', '2001:db8::1'],
      ['2001:db8::1', '2001:db8::1'],
      ['0:0:0:0:0:0:0:1', '::1'],
      ['0:0:0:0:0:0:0:0', '::'],
      ['::', '::'],
      ['1::', '1::'],
      // §4.2.2: a single zero group is not shortened
      ['2001:db8:0:1:1:1:1:1', '2001:db8:0:1:1:1:1:1'],
      // §4.2.3: the longest run is shortened; of equal runs, the first
      ['2001:0:0:1:0:0:0:1', '2001:0:0:1::1'],
      ['2001:db8:0:0:1:0:0:1', '2001:db8::1:0:0:1'],
      ['FE80::ABCD:EF01', 'fe80::abcd:ef01'],
      ['1:2:3:4:5:6:7::', '1:2:3:4:5:6:7:0'],
    ];
    for (const [input, canonical] of cases) {
      assert.equal(accepted({ ...BASE, ip_address: input }).ip_address, canonical, input);
    }
  });

  test('IPv4-mapped IPv6 keeps its dotted tail (RFC 5952 §5)', () => {
    const cases: [string, string][] = [
      ['::ffff:192.0.2.1', '::ffff:192.0.2.1'],
      ['::FFFF:192.0.2.1', '::ffff:192.0.2.1'],
      ['::ffff:c000:0201', '::ffff:192.0.2.1'],
      ['0:0:0:0:0:ffff:192.0.2.1', '::ffff:192.0.2.1'],
    ];
    for (const [input, canonical] of cases) {
      assert.equal(accepted({ ...BASE, ip_address: input }).ip_address, canonical, input);
    }
  });
});

describe('timestamps', () => {
  test('RFC 3339 UTC with an uppercase Z is accepted, with up to 9 fraction digits', () => {
    for (const ts of [
      '2026-01-31T23:59:59Z',
      '2026-01-31T23:59:59.1Z',
      '2026-01-31T23:59:59.123Z',
      '2026-01-31T23:59:59.123456789Z',
      '2024-02-29T12:00:00Z', // leap year
      '2000-02-29T00:00:00Z', // divisible by 400: leap
    ]) {
      assert.equal(accepted({ ...BASE, timestamp: ts }).timestamp, ts, ts);
    }
  });

  test('anything else → format', () => {
    for (const ts of [
      '2026-01-31T23:59:59+01:00', // not UTC
      '2026-01-31T23:59:59+00:00', // UTC, but not written with Z
      '2026-01-31T23:59:59z', // lowercase z
      '2026-01-31t23:59:59Z', // lowercase t
      '2026-01-31 23:59:59Z',
      '2026-01-31T23:59:59', // no zone
      '2026-01-31',
      '2026-02-30T00:00:00Z', // Feb 30
      '2023-02-29T00:00:00Z', // not a leap year
      '2100-02-29T00:00:00Z', // divisible by 100, not 400
      '2026-04-31T00:00:00Z',
      '2026-13-01T00:00:00Z',
      '2026-00-10T00:00:00Z',
      '2026-01-00T00:00:00Z',
      '2026-01-01T24:00:00Z',
      '2026-01-01T23:60:00Z',
      '2026-12-31T23:59:60Z', // leap second
      'yesterday',
    ]) {
      rejectsWith({ ...BASE, timestamp: ts }, 'timestamp', 'format');
    }
  });

  test('over-long timestamps → max_length', () => {
    rejectsWith({ ...BASE, timestamp: '2026-01-31T23:59:59.1234567890Z' }, 'timestamp', 'max_length');
  });
});

describe('bounded strings and control characters', () => {
  test('oversized strings → max_length; at the limit is fine', () => {
    const limits: [string, number][] = [
      ['actor_id', LIMITS.shortText],
      ['resource_id', LIMITS.shortText],
      ['session_id', LIMITS.shortText],
      ['action', LIMITS.name],
      ['resource_type', LIMITS.name],
      ['user_agent', LIMITS.userAgent],
      ['reason', LIMITS.reason],
    ];
    for (const [field, max] of limits) {
      accepted({ ...BASE, [field]: 'x'.repeat(max) });
      rejectsWith({ ...BASE, [field]: 'x'.repeat(max + 1) }, field, 'max_length');
    }
    rejectsWith(
      { ...BASE, changed_fields: ['x'.repeat(LIMITS.shortText + 1)] },
      'changed_fields[0]',
      'max_length',
    );
    rejectsWith(
      { ...BASE, changed_fields: Array(LIMITS.changedFields + 1).fill('f') },
      'changed_fields',
      'max_items',
    );
  });

  test('control characters in single-line fields → format', () => {
    for (const bad of ['a\nb', 'a\rb', 'a\tb', 'a\u0000b', 'a\u001bb', 'a\u007fb']) {
      rejectsWith({ ...BASE, actor_id: bad }, 'actor_id', 'format');
      rejectsWith({ ...BASE, user_agent: bad }, 'user_agent', 'format');
      rejectsWith({ ...BASE, changed_fields: [bad] }, 'changed_fields[0]', 'format');
    }
  });

  test('reason is free text: tab, LF, CR allowed; other controls → format', () => {
    accepted({ ...BASE, reason: 'a\tb\nc\r\nd' });
    for (const bad of ['a\u0000b', 'a\u0007b', 'a\u000bb', 'a\u000cb', 'a\u001fb', 'a\u007fb']) {
      rejectsWith({ ...BASE, reason: bad }, 'reason', 'format');
    }
  });
});

describe('structure', () => {
  test('an unknown top-level field → unknown_field', () => {
    rejectsWith({ ...BASE, extra: 1 }, 'extra', 'unknown_field');
    rejectsWith({ ...BASE, index: 3 }, 'index', 'unknown_field');
    rejectsWith({ ...BASE, hash: 'ab' }, 'hash', 'unknown_field');
    rejectsWith({ ...BASE, prev_hash: 'GENESIS' }, 'prev_hash', 'unknown_field');
  });

  test('null for an optional field → not_null', () => {
    for (const f of ['id', 'timestamp', 'ip_address', 'user_agent', 'reason', 'changed_fields', 'metadata']) {
      rejectsWith({ ...BASE, [f]: null }, f, 'not_null');
    }
  });

  test('null inside metadata is a value like any other', () => {
    assert.deepEqual(accepted({ ...BASE, metadata: { a: null } }).metadata, { a: null });
  });

  test('metadata nested past the depth limit → max_depth', () => {
    const nest = (n: number): unknown => (n === 0 ? 'leaf' : { a: nest(n - 1) });
    accepted({ ...BASE, metadata: nest(LIMITS.jsonDepth - 1) as Record<string, unknown> });
    const issues = issuesOf({ ...BASE, metadata: nest(LIMITS.jsonDepth + 5) });
    assert.equal(issues.length, 1);
    assert.equal(issues[0]![1], 'max_depth');
    assert.match(issues[0]![0], /^metadata(\.a)+$/);
    const arrays = issuesOf({ ...BASE, metadata: { l: JSON.parse('['.repeat(40) + ']'.repeat(40)) } });
    assert.deepEqual(
      arrays.map(([, rule]) => rule),
      ['max_depth'],
    );
  });

  test('__proto__, constructor and prototype keys → forbidden_key, at any depth', () => {
    rejectsWith(fromJson('"metadata":{"__proto__":{"admin":true}}'), 'metadata.__proto__', 'forbidden_key');
    rejectsWith(
      fromJson('"metadata":{"constructor":{"prototype":1}}'),
      'metadata.constructor',
      'forbidden_key',
    );
    rejectsWith(fromJson('"metadata":{"prototype":1}'), 'metadata.prototype', 'forbidden_key');
    rejectsWith(
      fromJson('"new_values":{"x":[{"__proto__":1}]}'),
      'new_values.x[0].__proto__',
      'forbidden_key',
    );
    rejectsWith(fromJson('"__proto__":{"x":1}'), '__proto__', 'forbidden_key');
    // and the parser did not pollute anything along the way
    assert.equal(({} as Record<string, unknown>)['admin'], undefined);
  });

  test('lone surrogates in strings and keys → unicode', () => {
    rejectsWith({ ...BASE, actor_id: 'a\ud800' }, 'actor_id', 'unicode');
    rejectsWith({ ...BASE, reason: '\udc00b' }, 'reason', 'unicode');
    rejectsWith({ ...BASE, metadata: { a: ['ok', 'x\udbff'] } }, 'metadata.a[1]', 'unicode');
    rejectsWith({ ...BASE, metadata: { 'k\udc00': 1 } }, 'metadata.k\udc00', 'unicode');
    // a proper pair is fine
    assert.equal(accepted({ ...BASE, actor_id: 'emoji \ud83d\ude00' }).actor_id, 'emoji 😀');
  });

  test('integers beyond 2^53 → unsafe_integer', () => {
    rejectsWith({ ...BASE, metadata: { n: 2 ** 53 } }, 'metadata.n', 'unsafe_integer');
    rejectsWith({ ...BASE, old_values: { n: -(2 ** 53) } }, 'old_values.n', 'unsafe_integer');
    accepted({ ...BASE, metadata: { max: Number.MAX_SAFE_INTEGER, min: Number.MIN_SAFE_INTEGER, f: 0.1 } });
  });

  test('a JSON field over 64 KiB of canonical JSON → max_bytes', () => {
    const atLimit = { s: 'x'.repeat(LIMITS.jsonBytes - '{"s":""}'.length) };
    accepted({ ...BASE, metadata: atLimit });
    for (const f of ['metadata', 'old_values', 'new_values']) {
      rejectsWith({ ...BASE, [f]: { s: `${atLimit.s}x` } }, f, 'max_bytes');
    }
    // UTF-8 bytes count, not UTF-16 code units
    rejectsWith({ ...BASE, metadata: { s: 'é'.repeat(LIMITS.jsonBytes / 2) } }, 'metadata', 'max_bytes');
  });

  test('a whole event over its byte limit → max_bytes on (event)', () => {
    const big = { s: 'x'.repeat(LIMITS.jsonBytes - 100) };
    const three = { ...BASE, metadata: big, old_values: big, new_values: big };
    accepted(three);
    const fields = Array(LIMITS.changedFields).fill('f'.repeat(LIMITS.shortText));
    accepted({ ...BASE, changed_fields: fields });
    // each field within its own limit, the whole over 256 KiB
    rejectsWith({ ...three, changed_fields: fields }, '(event)', 'max_bytes');
  });
});

describe('many faults at once', () => {
  test('every broken field of the schema is listed', () => {
    const issues = issuesOf({
      actor_type: 'robot',
      actor_id: '',
      result: 'ok',
      extra: 1,
      action: 'a'.repeat(200),
    });
    const expected: [string, string][] = [
      ['resource_type', 'required'],
      ['resource_id', 'required'],
      ['extra', 'unknown_field'],
      ['actor_id', 'min_length'],
      ['actor_type', 'enum'],
      ['action', 'max_length'],
      ['result', 'enum'],
      ['ip_address', 'required'],
    ];
    assert.deepEqual(sortIssues(issues), sortIssues(expected));
  });

  test('format faults of several fields are listed together', () => {
    const issues = issuesOf({
      ...BASE,
      ip_address: '999.1.1.1',
      timestamp: 'yesterday',
      metadata: { s: 'x'.repeat(LIMITS.jsonBytes) },
    });
    assert.deepEqual(
      sortIssues(issues),
      sortIssues([
        ['ip_address', 'format'],
        ['timestamp', 'format'],
        ['metadata', 'max_bytes'],
      ]),
    );
  });

  test('faults of different kinds in one event are all listed', () => {
    // a null, a forbidden key, a bad enum, a bad IP address and a bad timestamp: five fields at fault
    const input = parseJson(
      '{"actor_id":"u","actor_type":"robot","action":"read","resource_type":"r","resource_id":"i",' +
        '"result":"success","ip_address":"999.1.1.1","timestamp":"yesterday","reason":null,' +
        '"metadata":{"__proto__":1}}',
    );
    const fields = new Set(issuesOf(input).map(([f]) => f));
    assert.deepEqual(
      [...fields].sort(),
      ['actor_type', 'ip_address', 'metadata.__proto__', 'reason', 'timestamp'].sort(),
      'every field at fault is named, whichever check finds it',
    );
  });
});

describe('parser and validation together', () => {
  test('duplicate keys are refused by the parser before validation (JSON_INVALID, duplicate_key)', () => {
    const text = `{${JSON.stringify(BASE).slice(1, -1)},"actor_id":"mallory"}`;
    // JSON.parse would keep the last actor_id and hide the first: the event would pass validation
    assert.equal(accepted(JSON.parse(text)).actor_id, 'mallory');
    try {
      parseJson(text);
      assert.fail('expected JSON_INVALID');
    } catch (e) {
      assert.ok(e instanceof EvidentError);
      assert.equal(e.code, ErrorCode.JSON_INVALID);
      assert.equal(e.details['rule'], 'duplicate_key');
    }
  });

  test('nested duplicate keys and integers the parser keeps exact', () => {
    const dup = `{${JSON.stringify(BASE).slice(1, -1)},"metadata":{"a":1,"a":2}}`;
    assert.throws(
      () => parseJson(dup),
      (e: unknown) => e instanceof EvidentError && e.details['rule'] === 'duplicate_key',
    );
    const big = `{${JSON.stringify(BASE).slice(1, -1)},"metadata":{"n":9007199254740993}}`;
    assert.throws(
      () => parseJson(big),
      (e: unknown) => e instanceof EvidentError && e.details['rule'] === 'unsafe_integer',
    );
  });
});

function sortIssues(xs: [string, string][]): [string, string][] {
  return [...xs].sort((a, b) => (a[0] + a[1] < b[0] + b[1] ? -1 : 1));
}
