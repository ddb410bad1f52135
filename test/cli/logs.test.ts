/** evident logs; keys create refusing a log that does not exist; "no log named" naming those that do. */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { buildFixture, type Fixture, ORIGIN } from './fixture.ts';
import { copyLog, ensureBuilt, errorOf, jsonLines, removeTempDirs, run, tempDir } from './helpers.ts';

let fx: Fixture;
before(async () => {
  ensureBuilt();
  fx = await buildFixture();
});
after(removeTempDirs);

describe('evident logs', { concurrency: 4 }, () => {
  it('lists each log with its size, origin and latest checkpoint (--json: one object a line)', async () => {
    const dir = copyLog(fx.dir);
    const second = await run(['init', '--log', 'payments', '--origin', 'test.example/payments'], {
      cwd: dir,
    });
    assert.equal(second.code, 0, second.stderr);
    const r = await run(['logs', '--json'], { cwd: dir });
    assert.equal(r.code, 0, r.stderr);
    const logs = jsonLines<Record<string, unknown>>(r.stdout);
    assert.deepEqual(
      logs.map((l) => [l['name'], l['origin'], l['size']]),
      [
        ['default', ORIGIN, 20],
        ['payments', 'test.example/payments', 0],
      ],
    );
    const cp = logs[0]!['checkpoint'] as { size: number; created_at: string };
    assert.equal(cp.size, 20);
    assert.ok(!Number.isNaN(Date.parse(cp.created_at)));
    assert.equal(logs[1]!['checkpoint'], null);
    const text = await run(['logs'], { cwd: dir });
    assert.equal(text.code, 0, text.stderr);
    assert.match(text.stdout, /^NAME +SIZE +ORIGIN/);
    assert.match(text.stdout, /^default +20 +test\.example\/default +20 /m);
  });

  it('a database without logs: an empty list; no database: NOT_FOUND, exit 2', async () => {
    const missing = await run(['logs', '--json'], { cwd: tempDir() });
    assert.equal(missing.code, 2);
    assert.equal(errorOf(missing).code, 'NOT_FOUND');
  });
});

describe('a log that does not exist', { concurrency: 4 }, () => {
  it('keys create --log typo is refused (NOT_FOUND, exit 2) and creates no key', async () => {
    const dir = copyLog(fx.dir);
    const r = await run(['keys', 'create', '--log', 'defualt', '--scope', 'read', '--json'], { cwd: dir });
    assert.equal(r.code, 2);
    const e = errorOf(r);
    assert.equal(e.code, 'NOT_FOUND');
    assert.equal(e['field'], '--log');
    assert.deepEqual(e['logs'], ['default']);
    const list = await run(['keys', 'list', '--json'], { cwd: dir });
    assert.equal(list.stdout, '');
    const some = await run(['keys', 'create', '--log', 'default,defualt', '--scope', 'read', '--json'], {
      cwd: dir,
    });
    assert.equal(some.code, 2);
    assert.deepEqual(errorOf(some)['missing'], ['defualt']);
  });

  it('keys create --allow-missing-log, and --log * or existing logs, are accepted', async () => {
    const dir = copyLog(fx.dir);
    // a key reaching no log at all is refused even so: its creation must be recorded in a log
    const nowhere = await run(
      ['keys', 'create', '--log', 'later', '--allow-missing-log', '--scope', 'admin', '--json'],
      {
        cwd: dir,
      },
    );
    assert.equal(nowhere.code, 2, nowhere.stderr);
    assert.equal(errorOf(nowhere).code, 'NOT_FOUND');
    for (const args of [
      ['--log', 'later,default', '--allow-missing-log'],
      ['--log', '*'],
      ['--log', 'default'],
    ]) {
      const r = await run(['keys', 'create', ...args, '--scope', 'admin', '--json'], { cwd: dir });
      assert.equal(r.code, 0, r.stderr);
    }
  });

  it('"no log named X" lists the logs that exist', async () => {
    const r = await run(['query', '--log', 'defualt', '--json'], { cwd: fx.dir });
    assert.equal(r.code, 2);
    const e = errorOf(r);
    assert.equal(e.code, 'NOT_FOUND');
    assert.deepEqual(e['logs'], ['default']);
    const text = await run(['verify', '--log', 'defualt'], { cwd: fx.dir });
    assert.equal(text.code, 2);
    assert.match(text.stderr, /default/);
    assert.match(text.stderr, /evident logs/);
  });
});
