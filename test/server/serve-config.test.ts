import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { resolveServeConfig } from '../../src/cli/actions/serve-config.ts';
import type { Context, OptionValue } from '../../src/cli/command.ts';
import { isEvidentError } from '../../src/core/errors.ts';

const dir = mkdtempSync(join(tmpdir(), 'evident-serve-config-'));

function ctx(values: Record<string, OptionValue>, env: Record<string, string> = {}): Context {
  const sink = { write: () => true };
  return {
    command: { name: 'serve', summary: '', globals: [], options: {}, examples: [] },
    values,
    positionals: [],
    json: false,
    io: { stdout: sink, stderr: sink, stdin: (async function* () {})(), env },
    now: () => new Date(),
  };
}

describe('evident serve settings', () => {
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('takes each setting from its flag, else the environment, else the config file, else the default', async () => {
    const file = join(dir, 'c.json');
    writeFileSync(
      file,
      JSON.stringify({
        port: 9001,
        host: '0.0.0.0',
        maxBatch: 10,
        publicVerify: ['default', 'payments'],
        trustProxy: ['10.0.0.0/8'],
      }),
    );
    const c = await resolveServeConfig(
      ctx(
        { config: file, port: '9100' },
        { EVIDENT_PORT: '9200', EVIDENT_HOST: '::1', EVIDENT_MAX_BODY_BYTES: '2048' },
      ),
    );
    assert.equal(c.port, 9100, 'flag beats environment and file');
    assert.equal(c.host, '::1', 'environment beats file');
    assert.equal(c.maxBatch, 10, 'file beats default');
    assert.equal(c.maxBodyBytes, 2048);
    assert.deepEqual(c.publicVerify, ['default', 'payments']);
    assert.deepEqual(c.trustProxy, ['10.0.0.0/8']);
    const flag = await resolveServeConfig(ctx({ 'trust-proxy': '127.0.0.1, 10.0.0.0/8,::1' }));
    assert.deepEqual(flag.trustProxy, ['127.0.0.1', '10.0.0.0/8', '::1']);
    assert.equal((await resolveServeConfig(ctx({}))).trustProxy, false, 'default: no proxy trusted');
    assert.equal(c.rateLimit, 6000, 'default');
    assert.equal(c.db, './evident.db');
    const fromEnvFile = await resolveServeConfig(ctx({}, { EVIDENT_CONFIG: file }));
    assert.equal(fromEnvFile.port, 9001);
  });

  it('refuses bad values, naming where they came from', async () => {
    const bad = join(dir, 'bad.json');
    const cases: [Record<string, OptionValue>, Record<string, string>, string?][] = [
      [{ port: '70000' }, {}],
      [{ port: '8o80' }, {}],
      // Every log public would let anyone tell which log names exist.
      [{}, { EVIDENT_PUBLIC_VERIFY: 'true' }],
      [{ 'public-verify': 'default,../x' }, {}],
      [{ config: bad }, {}, '{"publicVerify": true}'],
      [{ 'tls-cert': 'c.pem' }, {}],
      [{ 'log-level': 'loud' }, {}],
      [{ 'max-batch': '0' }, {}],
      [{ config: bad }, {}, '{"prot": 1}'],
      [{ config: bad }, {}, '{"port": "80"}'],
      [{ config: bad }, {}, '{"port": 1, "port": 2}'],
      // Believing any X-Forwarded-For (true) or a hop count is refused.
      [{ 'trust-proxy': 'true' }, {}],
      [{}, { EVIDENT_TRUST_PROXY: '1' }],
      [{ 'trust-proxy': '10.0.0.300' }, {}],
      [{ 'trust-proxy': '10.0.0.0/33' }, {}],
      [{ config: bad }, {}, '{"trustProxy": true}'],
      [{ config: bad }, {}, '{"trustProxy": 2}'],
      [{ config: bad }, {}, '{"trustProxy": []}'],
    ];
    for (const [values, env, text] of cases) {
      if (text !== undefined) writeFileSync(bad, text);
      await assert.rejects(
        resolveServeConfig(ctx(values, env)),
        (e) => isEvidentError(e, 'USAGE'),
        JSON.stringify([values, env, text]),
      );
    }
  });
});
