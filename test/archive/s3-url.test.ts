/**
 * The S3 target's URL (src/archive/s3-url.ts): every malformed part refused with USAGE naming
 * the part; the normalised URL carries no secret. Then opening a target where no S3 answers. No
 * server needed.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { openS3Target } from '../../src/archive/s3.ts';
import { parseS3Url } from '../../src/archive/s3-url.ts';
import { ErrorCode, type EvidentError } from '../../src/core/errors.ts';

function refusal(url: string): string {
  try {
    parseS3Url(url);
  } catch (e) {
    assert.equal((e as EvidentError).code, ErrorCode.USAGE, url);
    return String((e as EvidentError).details['field']);
  }
  assert.fail(`accepted: ${url}`);
}

describe('S3 target URL', () => {
  it('parses bucket, prefix, endpoint, region and path style', () => {
    assert.deepEqual(
      parseS3Url('s3://audit-archive/prod/log-1?endpoint=http://127.0.0.1:7480&region=us-east-1'),
      {
        bucket: 'audit-archive',
        prefix: 'prod/log-1/',
        endpoint: 'http://127.0.0.1:7480',
        region: 'us-east-1',
        forcePathStyle: true,
        url: 's3://audit-archive/prod/log-1/?endpoint=http://127.0.0.1:7480&region=us-east-1',
      },
    );
    // AWS: virtual-hosted style unless asked; no prefix is the bucket's root.
    assert.deepEqual(parseS3Url(new URL('s3://audit.archive')), {
      bucket: 'audit.archive',
      prefix: '',
      forcePathStyle: false,
      url: 's3://audit.archive/',
    });
    const minio = parseS3Url('s3://b-1/a/?endpoint=https://minio.example:9000/&force_path_style=false');
    assert.equal(minio.forcePathStyle, false);
    assert.equal(minio.prefix, 'a/');
    assert.equal(minio.url, 's3://b-1/a/?endpoint=https://minio.example:9000&force_path_style=false');
  });

  it('refuses each malformed part, naming it', () => {
    const cases: Array<[string, string]> = [
      ['https://bucket/x', 'scheme'],
      ['s3:/bucket/x', 'scheme'],
      ['s3://', 'bucket'],
      ['s3:///x', 'bucket'],
      ['s3://ab/x', 'bucket'],
      ['s3://Audit/x', 'bucket'],
      ['s3://audit_archive/x', 'bucket'],
      ['s3://-audit/x', 'bucket'],
      ['s3://audit..archive/x', 'bucket'],
      ['s3://192.168.1.10/x', 'bucket'],
      [`s3://${'a'.repeat(64)}/x`, 'bucket'],
      ['s3://audit:9000/x', 'bucket'],
      ['s3://AKIA:secret@audit/x', 'credentials'],
      ['s3://audit/a//b', 'prefix'],
      ['s3://audit/a/../b', 'prefix'],
      ['s3://audit/a/%ZZ', 'prefix'],
      ['s3://audit/a%0Ab', 'prefix'],
      ['s3://audit/x#frag', 'fragment'],
      ['s3://audit/x?endpoint=127.0.0.1:7480', 'endpoint'],
      ['s3://audit/x?endpoint=ftp://host', 'endpoint'],
      ['s3://audit/x?endpoint=http://key:secret@host', 'endpoint'],
      ['s3://audit/x?endpoint=http://host/?a=b', 'endpoint'],
      ['s3://audit/x?region=US_EAST', '?region'],
      ['s3://audit/x?force_path_style=yes', '?force_path_style'],
      ['s3://audit/x?access_key=AKIA', '?access_key'],
      ['s3://audit/x?region=eu-west-1&region=us-east-1', '?region'],
    ];
    for (const [url, field] of cases) assert.equal(refusal(url), field, url);
  });

  it('never shows a secret: credentials in the URL are refused, not hidden', () => {
    for (const url of ['s3://key:secret@audit/x', 's3://audit/x?endpoint=http://u:p@127.0.0.1:7480']) {
      try {
        parseS3Url(url);
        assert.fail(url);
      } catch (e) {
        assert.doesNotMatch((e as Error).message, /secret|:p@/);
      }
    }
  });
});

describe('opening an S3 target with no server to reach', () => {
  const saved = { ...process.env };
  const reset = () => {
    for (const k of Object.keys(process.env)) if (!(k in saved)) delete process.env[k];
    Object.assign(process.env, saved);
  };

  it('no region anywhere (AWS, no ?region, no AWS_REGION, no profile): USAGE naming ?region', async () => {
    try {
      for (const k of ['AWS_REGION', 'AWS_DEFAULT_REGION', 'AWS_PROFILE']) delete process.env[k];
      process.env['AWS_CONFIG_FILE'] = '/nonexistent/config';
      process.env['AWS_SHARED_CREDENTIALS_FILE'] = '/nonexistent/credentials';
      process.env['AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED'] = 'true';
      await assert.rejects(openS3Target('s3://audit-archive/x'), (e: EvidentError) => {
        assert.equal(e.code, ErrorCode.USAGE);
        assert.equal(e.details['field'], '?region');
        return true;
      });
    } finally {
      reset();
    }
  });

  it('an endpoint where nothing listens, or no credentials: ARCHIVE_UNAVAILABLE with target and cause, at once', async () => {
    try {
      process.env['AWS_ACCESS_KEY_ID'] = 'evident-test';
      process.env['AWS_SECRET_ACCESS_KEY'] = 'evident-test-secret';
      process.env['AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED'] = 'true';
      const url = 's3://audit-archive/x?endpoint=http://127.0.0.1:9';
      const t0 = performance.now();
      await assert.rejects(openS3Target(url, { maxAttempts: 1 }), (e: EvidentError) => {
        assert.equal(e.code, ErrorCode.ARCHIVE_UNAVAILABLE);
        assert.equal(e.details['target'], 's3://audit-archive/x/?endpoint=http://127.0.0.1:9');
        assert.match(String(e.details['cause']), /ECONNREFUSED/);
        return true;
      });
      assert.ok(performance.now() - t0 < 5000);
      for (const k of ['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_SESSION_TOKEN', 'AWS_PROFILE'])
        delete process.env[k];
      process.env['AWS_CONFIG_FILE'] = '/nonexistent/config';
      process.env['AWS_SHARED_CREDENTIALS_FILE'] = '/nonexistent/credentials';
      process.env['AWS_EC2_METADATA_DISABLED'] = 'true';
      await assert.rejects(openS3Target(url, { maxAttempts: 1 }), (e: EvidentError) => {
        assert.equal(e.code, ErrorCode.ARCHIVE_UNAVAILABLE);
        assert.match(String(e.details['cause']), /credentials/i);
        return true;
      });
    } finally {
      reset();
    }
  });
});
