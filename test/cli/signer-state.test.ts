/**
 * `--signer-state DIR` and EVIDENT_SIGNER_STATE on the commands that sign, and on serve: the
 * built CLI records what it signed, and a database file restored to an older copy is refused
 * (LOG_FENCED, exit 1) instead of signing a fork; serve refuses a signer state it cannot write.
 */
import assert from 'node:assert/strict';
import { copyFileSync, existsSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ensureBuilt, errorOf, removeTempDirs, run, tempDir } from './helpers.ts';

const lines = (from: number, n: number, tag = 'a') =>
  `${Array.from({ length: n }, (_, i) =>
    JSON.stringify({
      actor_id: 'u',
      actor_type: 'user',
      action: 'read',
      resource_type: 'r',
      resource_id: `${tag}-${from + i}`,
      result: 'success',
      ip_address: '192.0.2.1',
    }),
  ).join('\n')}\n`;

describe('evident --signer-state', () => {
  let dir: string;
  before(async () => {
    ensureBuilt();
    dir = tempDir();
    assert.equal((await run(['init', '--origin', 'cli.test/default'], { cwd: dir })).code, 0);
  });
  after(removeTempDirs);

  it('records the checkpoint append signs; a restored older copy is then refused with LOG_FENCED (exit 1)', async () => {
    const a = await run(['append', '--signer-state', 'state'], { cwd: dir, input: lines(0, 3) });
    assert.equal(a.code, 0, a.stderr);
    copyFileSync(join(dir, 'evident.db'), join(dir, 'older.db'));
    const b = await run(['append', '--json'], {
      cwd: dir,
      input: lines(3, 4),
      env: { EVIDENT_SIGNER_STATE: 'state' },
    });
    assert.equal(b.code, 0, b.stderr);
    const files = readdirSync(join(dir, 'state', encodeURIComponent('cli.test/default')));
    assert.deepEqual(files, [`${'7'.padStart(20, '0')}.checkpoint`]);

    for (const s of ['', '-wal', '-shm']) rmSync(join(dir, `evident.db${s}`), { force: true });
    copyFileSync(join(dir, 'older.db'), join(dir, 'evident.db'));
    const fork = await run(['append', '--signer-state', 'state', '--json'], {
      cwd: dir,
      input: lines(3, 4, 'fork'),
    });
    assert.equal(fork.code, 1, fork.stderr);
    const e = errorOf(fork);
    assert.equal(e.code, 'LOG_FENCED');
    assert.equal(e['source'], 'journal');
    assert.equal(e['published_size'], 7);
    assert.equal(e['tree_size'], 3);
    const cp = await run(['checkpoint', '--json'], { cwd: dir, env: { EVIDENT_SIGNER_STATE: 'state' } });
    assert.equal(cp.code, 1);
    assert.equal(errorOf(cp).code, 'LOG_FENCED');
    // Without the state (the control), the same copy signs a fork of size 7.
    const control = await run(['append'], { cwd: dir, input: lines(3, 4, 'fork') });
    assert.equal(control.code, 0, control.stderr);
    const printed = await run(['checkpoint', '--size', '7'], { cwd: dir });
    assert.equal(printed.code, 0, 'CONTROL: a checkpoint of size 7 of the forked tree was signed');
  });

  it('serve refuses a signer state that is not a writable directory (exit 2, naming the flag)', async () => {
    writeFileSync(join(dir, 'a-file'), 'x');
    const r = await run(['serve', '--signer-state', join(dir, 'a-file', 'sub'), '--port', '0', '--json'], {
      cwd: dir,
    });
    assert.equal(r.code, 2, r.stderr);
    const e = errorOf(r);
    assert.equal(e.code, 'USAGE');
    assert.equal(e['field'], '--signer-state');
    assert.equal(existsSync(join(dir, 'a-file', 'sub')), false);
  });
});
