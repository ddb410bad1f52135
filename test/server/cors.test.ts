/**
 * Cross-origin access (--cors-origin): off by default; the named origins only, `null` (a page
 * opened from a file) only when named; preflights answered before any key check; `*` refused.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { resolveServeConfig } from '../../src/cli/actions/serve-config.ts';
import type { Context, OptionValue } from '../../src/cli/command.ts';
import { isEvidentError } from '../../src/core/errors.ts';
import { resolveCorsOrigins } from '../../src/server/cors.ts';
import { setup } from './helpers.ts';

const preflight = (origin: string) => ({
  method: 'OPTIONS' as const,
  url: '/v1/logs/default/checkpoint',
  headers: {
    origin,
    'access-control-request-method': 'GET',
    'access-control-request-headers': 'authorization',
  },
});

describe('cross-origin access to the API', () => {
  it('is off by default: no CORS header, and a preflight is not answered as one', async () => {
    const f = await setup();
    try {
      const r = await f.app.inject({
        method: 'GET',
        url: '/v1/logs/default/checkpoint',
        headers: { ...f.auth(f.keys.verify), origin: 'null' },
      });
      assert.equal(r.statusCode, 200);
      assert.equal(r.headers['access-control-allow-origin'], undefined);
      const p = await f.app.inject(preflight('null'));
      assert.equal(p.headers['access-control-allow-origin'], undefined);
      assert.notEqual(p.statusCode, 204);
    } finally {
      await f.close();
    }
  });

  it('allows the named origins only, answering their preflights before any key check', async () => {
    const f = await setup({ corsOrigin: ['null', 'https://audit.example.com'] });
    try {
      const p = await f.app.inject(preflight('null'));
      assert.equal(p.statusCode, 204);
      assert.equal(p.headers['access-control-allow-origin'], 'null');
      assert.match(String(p.headers['access-control-allow-headers']), /Authorization/);
      const get = await f.app.inject({
        method: 'GET',
        url: '/v1/logs/default/checkpoint',
        headers: { ...f.auth(f.keys.verify), origin: 'https://audit.example.com' },
      });
      assert.equal(get.statusCode, 200);
      assert.equal(get.headers['access-control-allow-origin'], 'https://audit.example.com');
      assert.equal(get.headers['vary'], 'Origin');
      // An error answer carries the header too, so the page can read the error code.
      const denied = await f.app.inject({
        method: 'GET',
        url: '/v1/logs/default/events',
        headers: { origin: 'null' },
      });
      assert.equal(denied.statusCode, 401);
      assert.equal(denied.headers['access-control-allow-origin'], 'null');
      const other = await f.app.inject(preflight('https://evil.example'));
      assert.equal(other.headers['access-control-allow-origin'], undefined);
      assert.notEqual(other.statusCode, 204);
    } finally {
      await f.close();
    }
  });

  it('refuses what is not an origin, and *', () => {
    for (const bad of [
      '*',
      'https://a.example/path',
      'ftp://a.example',
      'a.example',
      'HTTPS://A.EXAMPLE',
      [''],
    ]) {
      assert.throws(() => resolveCorsOrigins(bad), RangeError, JSON.stringify(bad));
    }
    assert.deepEqual(resolveCorsOrigins('null, http://127.0.0.1:8080'), ['null', 'http://127.0.0.1:8080']);
    assert.deepEqual(resolveCorsOrigins(undefined), []);
  });
});

describe('evident serve --cors-origin', () => {
  const dir = mkdtempSync(join(tmpdir(), 'evident-cors-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  const ctx = (values: Record<string, OptionValue>, env: Record<string, string> = {}): Context => {
    const sink = { write: () => true };
    return {
      command: { name: 'serve', summary: '', globals: [], options: {}, examples: [] },
      values,
      positionals: [],
      json: false,
      io: { stdout: sink, stderr: sink, stdin: (async function* () {})(), env },
      now: () => new Date(),
    };
  };

  it('defaults to none, reads the flag and the environment, and refuses a bad origin as USAGE on --cors-origin', async () => {
    assert.deepEqual((await resolveServeConfig(ctx({}))).corsOrigin, []);
    assert.deepEqual((await resolveServeConfig(ctx({ 'cors-origin': 'null' }))).corsOrigin, ['null']);
    assert.deepEqual(
      (await resolveServeConfig(ctx({}, { EVIDENT_CORS_ORIGIN: 'https://a.example' }))).corsOrigin,
      ['https://a.example'],
    );
    await assert.rejects(
      resolveServeConfig(ctx({ 'cors-origin': '*' })),
      (e) => isEvidentError(e, 'USAGE') && e.details['field'] === '--cors-origin',
    );
  });
});
