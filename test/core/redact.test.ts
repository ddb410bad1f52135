import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { redactDeep, redactUrls } from '../../src/core/redact.ts';

describe('redactUrls', () => {
  it('hides URL passwords and password parameters, nothing else', () => {
    const cases: [string, string][] = [
      ['postgres://evident:s3cret@db:5432/audit', 'postgres://evident:***@db:5432/audit'],
      [
        'cannot open postgres://u:p%40ss@h/db?schema=x: refused',
        'cannot open postgres://u:***@h/db?schema=x: refused',
      ],
      ['postgresql://u:pa/ss@h/db', 'postgresql://u:***@h/db'],
      ['postgres://u:a@b@h/db', 'postgres://u:***@h/db'],
      [
        'postgres://h/db?user=u&password=s3cret&sslmode=require',
        'postgres://h/db?user=u&password=***&sslmode=require',
      ],
      ['host=db user=u password=s3cret dbname=x', 'host=db user=u password=*** dbname=x'],
      ['"sslpassword=k3y"', '"sslpassword=***"'],
      ['postgres://evident@db/audit', 'postgres://evident@db/audit'],
      ['http://127.0.0.1:8080/v1/logs', 'http://127.0.0.1:8080/v1/logs'],
      ['./evident.db', './evident.db'],
    ];
    for (const [input, want] of cases) assert.equal(redactUrls(input), want, input);
  });

  it('redactDeep reaches every string of a JSON value', () => {
    assert.deepEqual(redactDeep({ a: ['postgres://u:p@h/x', 1], b: { c: 'password=z' }, d: null }), {
      a: ['postgres://u:***@h/x', 1],
      b: { c: 'password=***' },
      d: null,
    });
  });
});
