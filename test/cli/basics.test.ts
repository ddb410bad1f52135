import assert from 'node:assert/strict';
import { chmodSync, existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { optionsOf } from '../../src/cli/args.ts';
import type { Command } from '../../src/cli/command.ts';
import { COMMANDS } from '../../src/cli/commands.ts';
import { ensureBuilt, errorOf, event, jsonLines, lines, removeTempDirs, run, tempDir } from './helpers.ts';

before(ensureBuilt);
after(removeTempDirs);

async function initialised(): Promise<string> {
  const cwd = tempDir();
  const r = await run(['init', '--origin', 'test.example/default'], { cwd });
  assert.equal(r.code, 0, r.stderr);
  return cwd;
}

describe('evident: the README flow', () => {
  it('init, append one JSON object, verify: exit 0', async () => {
    const cwd = tempDir();
    const init = await run(['init', '--json'], { cwd });
    assert.equal(init.code, 0, init.stderr);
    const info = JSON.parse(init.stdout);
    assert.match(info.vkey, /^[^+\s]+\+[0-9a-f]{8}\+[A-Za-z0-9+/]+=*$/);
    assert.match(info.origin, /\/default$/);
    assert.equal(info.key_created, true);

    const append = await run(['append'], { cwd, input: JSON.stringify(event(1)) });
    assert.equal(append.code, 0, append.stderr);
    assert.match(append.stdout, /^#0 [0-9a-f-]{36} [0-9a-f]{64}\n$/);

    const verify = await run(['verify'], { cwd });
    assert.equal(verify.code, 0, verify.stdout + verify.stderr);
    assert.equal(verify.stderr.includes('Error'), false);
  });
});

describe('evident: help and usage', { concurrency: 4 }, () => {
  const all: Command[] = COMMANDS.flatMap((c) => [c, ...(c.subcommands ?? [])]);

  it('evident --help lists every command, one line each', async () => {
    const r = await run(['--help'], { cwd: tempDir() });
    assert.equal(r.code, 0);
    for (const c of COMMANDS) assert.match(r.stdout, new RegExp(`^  ${c.name} `, 'm'));
  });

  for (const c of all) {
    it(`evident ${c.name} --help lists its flags, defaults and an example`, async () => {
      const r = await run([...c.name.split(' '), '--help'], { cwd: tempDir() });
      assert.equal(r.code, 0, r.stderr);
      for (const [name, spec] of Object.entries(optionsOf(c))) {
        assert.ok(r.stdout.includes(`--${name}`), `--${name} missing from evident ${c.name} --help`);
        if (spec.default) assert.ok(r.stdout.includes(spec.default), `default of --${name} missing`);
      }
      assert.match(r.stdout, /Examples?:\n {2}.*evident /);
    });
  }

  it('--version prints the version', async () => {
    const r = await run(['--version'], { cwd: tempDir() });
    assert.equal(r.code, 0);
    assert.match(r.stdout, /^\d+\.\d+\.\d+/);
  });

  it('an unknown flag is a usage error naming the flag (exit 2)', async () => {
    const cwd = tempDir();
    const human = await run(['query', '--bogus'], { cwd });
    assert.equal(human.code, 2);
    assert.ok(human.stderr.includes('--bogus'));
    assert.equal(human.stderr.trim().split('\n').length, 1);
    assert.equal(human.stderr.includes('    at '), false, 'no stack trace');
    const json = await run(['verify', '--bogus', '--json'], { cwd });
    assert.equal(json.code, 2);
    assert.equal(errorOf(json).code, 'USAGE');
    assert.equal(errorOf(json).field, '--bogus');
  });

  it('an unknown command, a missing subcommand and a flag of another command are usage errors', async () => {
    const cwd = tempDir();
    for (const args of [
      ['frobnicate'],
      ['prove'],
      ['verify-bundle', 'x', '--db', 'x.db'],
      ['query', 'stray'],
    ]) {
      const r = await run([...args, '--json'], { cwd });
      assert.equal(r.code, 2, args.join(' '));
      assert.equal(errorOf(r).code, 'USAGE', args.join(' '));
    }
  });

  it('a bad flag value names the flag', async () => {
    const cwd = await initialised();
    for (const [args, flagName] of [
      [['query', '--since', 'yesterday'], '--since'],
      [['query', '--limit', '0'], '--limit'],
      [['query', '--last-days', 'x'], '--last-days'],
      [['query', '--result', 'maybe'], '--result'],
      [['query', '--ip', '999.1.1.1'], '--ip'],
      [['prove', 'inclusion'], '--index'],
    ] as const) {
      const r = await run([...args, '--json'], { cwd });
      assert.equal(r.code, 2, args.join(' '));
      assert.equal(errorOf(r).field, flagName, args.join(' '));
    }
  });

  it('a missing database is exit 2 with NOT_FOUND, and creates nothing', async () => {
    const cwd = tempDir();
    const r = await run(['query', '--json'], { cwd });
    assert.equal(r.code, 2);
    assert.equal(errorOf(r).code, 'NOT_FOUND');
    assert.equal(existsSync(join(cwd, 'evident.db')), false);
  });
});

describe('evident init', { concurrency: 4 }, () => {
  it('creates the key file with mode 0600; a key file readable by others is refused', async () => {
    const cwd = await initialised();
    const key = join(cwd, 'evident.key');
    assert.equal(statSync(key).mode & 0o777, 0o600);
    chmodSync(key, 0o644);
    const r = await run(['append', '--json'], { cwd, input: JSON.stringify(event(1)) });
    assert.equal(r.code, 2);
    assert.equal(errorOf(r).code, 'KEY_INVALID');
    const c = await run(['checkpoint', '--json'], { cwd });
    assert.equal(c.code, 2);
    assert.equal(errorOf(c).code, 'KEY_INVALID');
  });

  it('refuses an existing log or origin; an existing key file serves a new log with a key of its own', async () => {
    const cwd = await initialised();
    const again = await run(['init', '--origin', 'test.example/default', '--json'], { cwd });
    assert.equal(again.code, 2);
    assert.equal(errorOf(again).code, 'USAGE');
    const sameOrigin = await run(['init', '--log', 'second', '--origin', 'test.example/default', '--json'], {
      cwd,
    });
    assert.equal(sameOrigin.code, 2);
    assert.equal(errorOf(sameOrigin).field, 'origin');
    const second = await run(['init', '--log', 'second', '--origin', 'test.example/second', '--json'], {
      cwd,
    });
    assert.equal(second.code, 0, second.stderr);
    const out = JSON.parse(second.stdout);
    assert.equal(out.key_created, false);
    const first = JSON.parse((await run(['key', '--json'], { cwd })).stdout).vkey;
    assert.match(out.vkey, /^test\.example\/second\+[0-9a-f]{8}\+/);
    assert.notEqual(out.vkey, first);
    assert.equal(
      JSON.parse((await run(['key', '--log', 'second', '--json'], { cwd })).stdout).vkey,
      out.vkey,
    );
  });

  it('leaves no key or database behind when it refuses', async () => {
    const cwd = tempDir();
    const r = await run(['init', '--erasable', 'actor_id', '--json'], { cwd });
    assert.equal(r.code, 2);
    assert.equal(errorOf(r).field, '--erasable');
    const bad = await run(['init', '--log', 'Bad Name', '--json'], { cwd });
    assert.equal(bad.code, 2);
    assert.equal(existsSync(join(cwd, 'evident.key')), false);
    assert.equal(existsSync(join(cwd, 'evident.db')), false);
  });
});

describe('evident append', { concurrency: 4 }, () => {
  it('JSON Lines with bad lines: exit 2, every bad line reported with its field, nothing written', async () => {
    const cwd = await initialised();
    const input = [
      JSON.stringify(event(1)),
      JSON.stringify({ ...event(2), actor_type: 'robot' }),
      '{"actor_id": oops}',
      '',
      JSON.stringify({ ...event(5), extra: true, result: undefined }),
      JSON.stringify(event(6)),
    ].join('\n');
    const r = await run(['append', '--json'], { cwd, input });
    assert.equal(r.code, 2);
    const err = errorOf(r);
    assert.equal(err.code, 'VALIDATION_FAILED');
    const issues = err['issues'] as { line: number; field: string; rule: string }[];
    assert.deepEqual(
      issues.map((i) => [i.line, i.field, i.rule]).sort(),
      [
        [2, 'actor_type', 'enum'],
        [3, '(json)', 'syntax'],
        [5, 'extra', 'unknown_field'],
        [5, 'result', 'required'],
      ].sort(),
    );
    const human = await run(['append'], { cwd, input });
    assert.equal(human.code, 2);
    assert.match(human.stderr, /^line 2: actor_type: .* \(enum\)$/m);
    assert.match(human.stderr, /^line 5: result: .* \(required\)$/m);
    const q = await run(['query', '--json'], { cwd });
    assert.equal(q.code, 0);
    assert.equal(q.stdout, '');
  });

  it('a JSON array: one receipt per event, in order', async () => {
    const cwd = await initialised();
    const r = await run(['append', '--json'], { cwd, input: JSON.stringify([event(1), event(2), event(3)]) });
    assert.equal(r.code, 0, r.stderr);
    const receipts = jsonLines<{ id: string; index: number; hash: string }>(r.stdout);
    assert.deepEqual(
      receipts.map((x) => x.index),
      [0, 1, 2],
    );
    for (const x of receipts) assert.deepEqual(Object.keys(x).sort(), ['hash', 'id', 'index']);
    const bad = await run(['append', '--json'], {
      cwd,
      input: JSON.stringify([event(1), { actor_id: 'x' }]),
    });
    assert.equal(bad.code, 2);
    const issues = errorOf(bad)['issues'] as { item: number }[];
    assert.ok(issues.length > 1 && issues.every((i) => i.item === 1));
  });

  it('the same id and content again is idempotent; the same id with other content is ID_CONFLICT', async () => {
    const cwd = await initialised();
    const id = '01890a5d-ac96-774b-bcce-b302099a8057';
    const ev = event(1, { id });
    const first = await run(['append', '--json'], { cwd, input: lines([event(0), ev]) });
    assert.equal(first.code, 0, first.stderr);
    const original = jsonLines(first.stdout)[1]!;
    const again = await run(['append', '--json'], { cwd, input: JSON.stringify(ev) });
    assert.equal(again.code, 0, again.stderr);
    assert.deepEqual(JSON.parse(again.stdout), { ...original, duplicate: true });
    const human = await run(['append'], { cwd, input: JSON.stringify(ev) });
    assert.equal(human.stdout, `#1 ${id} ${original['hash']} (duplicate)\n`);
    const conflict = await run(['append', '--json'], {
      cwd,
      input: JSON.stringify({ ...ev, action: 'delete' }),
    });
    assert.equal(conflict.code, 2);
    assert.equal(errorOf(conflict).code, 'ID_CONFLICT');
    const inInput = await run(['append', '--json'], {
      cwd,
      input: lines([
        event(5, { id: '01890a5d-ac96-774b-bcce-b302099a8058' }),
        event(6, { id: '01890a5d-ac96-774b-bcce-b302099a8058' }),
      ]),
    });
    assert.equal(inInput.code, 2);
    assert.equal((errorOf(inInput)['issues'] as { rule: string; line: number }[])[0]!.line, 2);
  });

  it('empty input and a missing key are input errors', async () => {
    const cwd = await initialised();
    const empty = await run(['append', '--json'], { cwd, input: '\n' });
    assert.equal(empty.code, 2);
    assert.equal(errorOf(empty).code, 'USAGE');
    const noKey = await run(['append', '--json', '--key', 'missing.key'], {
      cwd,
      input: JSON.stringify(event(1)),
    });
    assert.equal(noKey.code, 2);
    assert.equal(errorOf(noKey).code, 'KEY_INVALID');
  });
});
