/** Database URLs naming several servers (src/store/postgres/hosts.ts): what is accepted, and what is refused. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ErrorCode, isEvidentError } from '../../src/core/errors.ts';
import { parsePostgresUrl } from '../../src/store/postgres/hosts.ts';

function refused(url: string, part: string): void {
  assert.throws(
    () => parsePostgresUrl(url),
    (e: unknown) =>
      isEvidentError(e) &&
      e.code === ErrorCode.USAGE &&
      e.details['field'] === 'db' &&
      e.details['part'] === part,
    url,
  );
}

describe('postgres:// URLs with several hosts', () => {
  it('splits a host list into one URL per server, in order, keeping the other parameters', () => {
    const p = parsePostgresUrl(
      'postgres://app:s%40cret@db1.example:5432,db2.example:5433,[::1]:6000/audit?target_session_attrs=read-write&schema=ev&sslmode=require&application_name=x',
    );
    assert.equal(p.schema, 'ev');
    assert.equal(p.connectionString, undefined);
    assert.deepEqual(p.targets, [
      {
        label: 'db1.example:5432',
        connectionString: 'postgres://app:s%40cret@db1.example:5432/audit?sslmode=require&application_name=x',
      },
      {
        label: 'db2.example:5433',
        connectionString: 'postgres://app:s%40cret@db2.example:5433/audit?sslmode=require&application_name=x',
      },
      {
        label: '[::1]:6000',
        connectionString: 'postgres://app:s%40cret@[::1]:6000/audit?sslmode=require&application_name=x',
      },
    ]);
  });

  it('defaults a missing port to 5432, and takes primary as a synonym of read-write', () => {
    const p = parsePostgresUrl('postgresql://u@a,b:7000/d?target_session_attrs=primary');
    assert.deepEqual(
      p.targets?.map((t) => [t.label, t.connectionString]),
      [
        ['a:5432', 'postgresql://u@a:5432/d'],
        ['b:7000', 'postgresql://u@b:7000/d'],
      ],
    );
  });

  it('searches for the primary with several hosts even without target_session_attrs', () => {
    assert.equal(parsePostgresUrl('postgres://u@a:1,b:2/d').targets?.length, 2);
  });

  it('searches one host for a primary when target_session_attrs asks for it', () => {
    const p = parsePostgresUrl('postgres://u@a:1/d?target_session_attrs=read-write&schema=s');
    assert.deepEqual(p, { targets: [{ label: 'a:1', connectionString: 'postgres://u@a:1/d' }], schema: 's' });
  });

  it('passes a one-host URL on as before (less schema)', () => {
    assert.deepEqual(parsePostgresUrl('postgres://u@h:5432/d'), {
      connectionString: 'postgres://u@h:5432/d',
    });
    assert.deepEqual(parsePostgresUrl('postgres://u@h:5432/d?schema=s&sslmode=disable'), {
      connectionString: 'postgres://u@h:5432/d?sslmode=disable',
      schema: 's',
    });
  });

  it('refuses bad input with USAGE naming the part', () => {
    refused('mysql://u@a:1,b:2/d', 'url');
    refused('postgres://u@a:1,b:x/d', 'port');
    refused('postgres://u@a:1,b:0/d', 'port');
    refused('postgres://u@a:1,b:65536/d', 'port');
    refused('postgres://u@a:1,,b:2/d', 'host');
    refused('postgres://u@a:1,b:2:3/d', 'port');
    refused('postgres://u@a:1,[nothex]:2/d', 'host');
    refused('postgres://u@/d?target_session_attrs=read-write', 'host');
    refused('postgres://u@a:1,b:2/d?target_session_attrs=read-only', 'target_session_attrs');
    refused('postgres://u@a:1,b:2/d?target_session_attrs=standby', 'target_session_attrs');
    refused('postgres://u@a:1,b:2/d?target_session_attrs=any', 'target_session_attrs');
    refused('postgres://u@a:1/d?target_session_attrs=prefer-standby', 'target_session_attrs');
    refused('postgres://u@a:1/d?target_session_attrs=', 'target_session_attrs');
  });
});
