/** The CLI reads the signing key itself from $EVIDENT_SIGNING_KEY (src/cli/signing-key.ts). */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ensureBuilt, errorOf, event, removeTempDirs, run, tempDir } from './helpers.ts';

before(ensureBuilt);
after(removeTempDirs);

describe('$EVIDENT_SIGNING_KEY at the CLI edge', () => {
  it('stands in for the key file: append and checkpoint sign with it; key names it as the source', async () => {
    const owner = tempDir();
    const init = await run(['init', '--origin', 'test.example/default', '--json'], { cwd: owner });
    assert.equal(init.code, 0, init.stderr);
    const secret = readFileSync(join(owner, 'evident.key'), 'utf8').trim();
    const env = { EVIDENT_SIGNING_KEY: secret, EVIDENT_DB: join(owner, 'evident.db') };
    const elsewhere = tempDir(); // no key file here
    const append = await run(['append', '--json'], { cwd: elsewhere, env, input: JSON.stringify(event(1)) });
    assert.equal(append.code, 0, append.stderr);
    const key = await run(['key', '--json'], { cwd: elsewhere, env });
    assert.deepEqual(JSON.parse(key.stdout), {
      vkey: JSON.parse(init.stdout).vkey,
      source: '$EVIDENT_SIGNING_KEY',
    });
    const bad = await run(['append', '--json'], {
      cwd: elsewhere,
      env: { ...env, EVIDENT_SIGNING_KEY: 'not a key' },
      input: JSON.stringify(event(2)),
    });
    assert.equal(bad.code, 2);
    assert.equal(errorOf(bad).code, 'KEY_INVALID');
    assert.ok(!bad.stderr.includes(secret));
  });
});
