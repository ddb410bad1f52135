/**
 * One home per default: the ledger's in src/ledger/defaults.ts, the server's in
 * src/server/options.ts (DEFAULTS), the CLI's own in src/cli/defaults.ts; help text and the
 * serve settings read them instead of repeating the numbers.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { before, describe, it } from 'node:test';
import { SERVE_SETTINGS } from '../../src/cli/actions/serve-settings.ts';
import { DEFAULT_DB, DEFAULT_KEY } from '../../src/cli/defaults.ts';
import { LEDGER_DEFAULTS } from '../../src/ledger/defaults.ts';
import { DEFAULTS } from '../../src/server/options.ts';
import { ensureBuilt, ROOT, run, tempDir } from './helpers.ts';

before(ensureBuilt);

const setting = (config: string) => SERVE_SETTINGS.find((s) => s.config === config)!.default;

describe('defaults: one home each', () => {
  it("serve's settings show the server's and the ledger's defaults, not copies of them", async () => {
    assert.equal(setting('host'), DEFAULTS.host);
    assert.equal(setting('port'), String(DEFAULTS.port));
    assert.equal(setting('maxBatch'), String(DEFAULTS.maxBatch));
    assert.equal(setting('maxBodyBytes'), String(DEFAULTS.maxBodyBytes));
    assert.equal(setting('bodyTimeoutMs'), String(DEFAULTS.bodyTimeoutMs));
    assert.equal(setting('rateLimit'), String(DEFAULTS.rateLimit.max));
    assert.equal(setting('checkpointIntervalMs'), String(DEFAULTS.checkpointIntervalMs));
    assert.equal(setting('maxPending'), String(LEDGER_DEFAULTS.maxPending));
    assert.equal(DEFAULTS.maxPending, LEDGER_DEFAULTS.maxPending);
    assert.equal(setting('db'), DEFAULT_DB);
    assert.equal(setting('key'), DEFAULT_KEY);
    const help = await run(['serve', '--help'], { cwd: tempDir() });
    assert.match(help.stdout, new RegExp(`\\(default: ${DEFAULTS.maxBodyBytes}\\)`));
  });

  it('no default is a bare number repeated in the ledger, the server or the serve settings', () => {
    for (const file of [
      'src/ledger/ledger.ts',
      'src/server/logs.ts',
      'src/server/start.ts',
      'src/cli/actions/serve-settings.ts',
      'src/cli/globals.ts',
    ]) {
      const text = readFileSync(`${ROOT}/${file}`, 'utf8');
      assert.doesNotMatch(text, /\?\? [1-9][0-9_]*[;,)]/, `${file}: a numeric fallback`);
      assert.doesNotMatch(text, /default: '[0-9.]+'/, `${file}: a default written as text`);
      assert.doesNotMatch(text, /'\.\/evident\.(db|key)'/, `${file}: a default path`);
    }
  });
});
