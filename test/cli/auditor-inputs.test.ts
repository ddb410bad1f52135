/**
 * The auditor's own mistakes are input errors (exit 2), and a checkpoint that fails the key
 * the operator or auditor holds is evidence (exit 1): `evident verify` and `verify-bundle`
 * with --vkey, --key and --trusted-checkpoint, on real files.
 */
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { parseNote, signNote } from '../../src/core/note.ts';
import { generateSigner } from '../../src/core/note-keys.ts';
import type { VerifyReport } from '../../src/core/verify/report.ts';
import { buildFixture, type Fixture, ORIGIN } from './fixture.ts';
import { copyLog, ensureBuilt, errorOf, event, lines, removeTempDirs, run, tempDir } from './helpers.ts';

let fx: Fixture;
/** Another log, of another origin, with its own key. */
let other: { dir: string; vkey: string; note: string };
before(async () => {
  ensureBuilt();
  fx = await buildFixture();
  const dir = tempDir();
  const init = await run(['init', '--origin', 'other.example/default', '--json'], { cwd: dir });
  assert.equal(init.code, 0, init.stderr);
  assert.equal((await run(['append'], { cwd: dir, input: lines([event(1), event(2)]) })).code, 0);
  const cp = await run(['checkpoint'], { cwd: dir });
  other = { dir, vkey: JSON.parse(init.stdout).vkey, note: cp.stdout };
});
after(removeTempDirs);

const report = (stdout: string) => JSON.parse(stdout) as VerifyReport;

function file(text: string): string {
  const path = join(tempDir(), 'cp.txt');
  writeFileSync(path, text);
  return path;
}

describe('trusted checkpoint files and verifier keys: mistakes are exit 2', { concurrency: 4 }, () => {
  it('a checkpoint file without its final newline, or with CRLF line endings, is read as the note (exit 0)', async () => {
    const db = ['--db', join(fx.dir, 'evident.db'), '--vkey', fx.vkey];
    for (const text of [
      fx.note.slice(0, -1),
      fx.note.replace(/\n/g, '\r\n'),
      fx.note.replace(/\n/g, '\r\n').slice(0, -2),
    ]) {
      const r = await run(['verify', '--json', ...db, '--trusted-checkpoint', file(text)], {
        cwd: tempDir(),
      });
      assert.equal(r.code, 0, r.stdout + r.stderr);
    }
    // The repair does not weaken the signature check: an edited root still fails, as evidence.
    const [origin, size, root] = fx.note.split('\n');
    const flipped = root!.startsWith('A') ? `B${root!.slice(1)}` : `A${root!.slice(1)}`;
    const edited = fx.note.replace(`${origin}\n${size}\n${root}\n`, `${origin}\n${size}\n${flipped}\n`);
    const r = await run(
      ['verify', '--json', ...db, '--trusted-checkpoint', file(edited.replace(/\n/g, '\r\n'))],
      {
        cwd: tempDir(),
      },
    );
    assert.equal(r.code, 1, r.stderr);
    assert.ok(report(r.stdout).faults.some((f) => f.kind === 'checkpoint_signature_invalid'));
  });

  it('a file that is not a signed checkpoint: exit 2 TRUSTED_CHECKPOINT_INVALID (malformed)', async () => {
    for (const text of ['hello\n', fx.note.replace('\n', '\r'), `${fx.note}\n\n`, `\ufeff${fx.note}`]) {
      const r = await run(['verify', '--json', '--trusted-checkpoint', file(text)], { cwd: fx.dir });
      assert.equal(r.code, 2, r.stdout);
      assert.equal(errorOf(r).code, 'TRUSTED_CHECKPOINT_INVALID');
      assert.equal(errorOf(r)['reason'], 'malformed');
    }
  });

  it('a checkpoint of another log: exit 2 (other-log), with or without --vkey, for verify and verify-bundle', async () => {
    const cp = file(other.note);
    for (const args of [[], ['--vkey', fx.vkey]]) {
      const r = await run(['verify', '--json', ...args, '--trusted-checkpoint', cp], { cwd: fx.dir });
      assert.equal(r.code, 2, r.stdout);
      assert.equal(errorOf(r).code, 'TRUSTED_CHECKPOINT_INVALID');
      assert.equal(errorOf(r)['reason'], 'other-log');
    }
    const cwd = copyLog(fx.dir);
    assert.equal((await run(['export', '--out', 'b.bundle'], { cwd })).code, 0);
    const b = await run(
      ['verify-bundle', join(cwd, 'b.bundle'), '--json', '--vkey', fx.vkey, '--trusted-checkpoint', cp],
      {
        cwd,
      },
    );
    assert.equal(b.code, 2, b.stdout);
    assert.equal(errorOf(b)['reason'], 'other-log');
  });

  it("a --vkey whose name is not the log's: exit 2 KEY_INVALID (key-name-mismatch), for verify and verify-bundle", async () => {
    const r = await run(['verify', '--json', '--vkey', other.vkey], { cwd: fx.dir });
    assert.equal(r.code, 2, r.stdout);
    assert.equal(errorOf(r).code, 'KEY_INVALID');
    assert.equal(errorOf(r)['reason'], 'key-name-mismatch');
    const cwd = copyLog(fx.dir);
    assert.equal((await run(['export', '--out', 'b.bundle'], { cwd })).code, 0);
    const b = await run(['verify-bundle', join(cwd, 'b.bundle'), '--json', '--vkey', other.vkey], { cwd });
    assert.equal(b.code, 2, b.stdout);
    assert.equal(errorOf(b)['reason'], 'key-name-mismatch');
  });

  it('a checkpoint of this log signed under another name than --vkey: exit 2 (not-signed-by-key); under the right name by another key: exit 1', async () => {
    const body = parseNote(fx.note).text;
    const stranger = file(signNote(body, [generateSigner('stranger.example/witness').signer]));
    const r = await run(['verify', '--json', '--vkey', fx.vkey, '--trusted-checkpoint', stranger], {
      cwd: fx.dir,
    });
    assert.equal(r.code, 2, r.stdout);
    assert.equal(errorOf(r)['reason'], 'not-signed-by-key');
    const impostor = file(signNote(body, [generateSigner(ORIGIN).signer]));
    const e = await run(['verify', '--json', '--vkey', fx.vkey, '--trusted-checkpoint', impostor], {
      cwd: fx.dir,
    });
    assert.equal(e.code, 1, e.stderr);
    assert.ok(report(e.stdout).faults.some((f) => f.kind === 'checkpoint_signature_invalid'));
    assert.ok(
      !report(e.stdout).warnings.some((w) => w.startsWith('no checkpoint kept outside')),
      'one was given',
    );
  });
});

describe('a replaced verifier key is evidence (exit 1)', { concurrency: 4 }, () => {
  /** The attack: a new key under the log's name signs every stored checkpoint again, and is recorded as the log's key. */
  function replaceKey(dir: string, o: { resign: boolean }): string {
    const attacker = generateSigner(ORIGIN);
    const db = new Database(join(dir, 'evident.db'));
    try {
      // a careful attacker puts the triggers back afterwards, so that no schema drift shows
      const triggers = db
        .prepare("SELECT sql FROM sqlite_master WHERE name IN ('logs_no_rewrite', 'checkpoints_no_update')")
        .all() as { sql: string }[];
      db.exec('DROP TRIGGER logs_no_rewrite; DROP TRIGGER checkpoints_no_update;');
      db.prepare('UPDATE logs SET vkey = ?').run(attacker.verifierKey);
      if (o.resign) {
        const rows = db.prepare('SELECT size, note FROM checkpoints').all() as {
          size: number;
          note: string;
        }[];
        for (const row of rows) {
          db.prepare('UPDATE checkpoints SET note = ? WHERE size = ?').run(
            signNote(parseNote(row.note).text, [attacker.signer]),
            row.size,
          );
        }
      }
      for (const t of triggers) db.exec(t.sql);
    } finally {
      db.close();
    }
    return attacker.verifierKey;
  }

  it("with the operator's key file present: exit 1 (checkpoint_signature_invalid, verifier_key_replaced)", async () => {
    const cwd = copyLog(fx.dir);
    replaceKey(cwd, { resign: true });
    const r = await run(['verify', '--json'], { cwd });
    assert.equal(r.code, 1, r.stdout + r.stderr);
    const kinds = report(r.stdout).faults.map((f) => f.kind);
    assert.ok(kinds.includes('checkpoint_signature_invalid'), kinds.join());
    assert.ok(kinds.includes('verifier_key_replaced'), kinds.join());
    const auditor = await run(['verify', '--json', '--vkey', fx.vkey], { cwd });
    assert.equal(auditor.code, 1);
  });

  it('only the recorded key replaced: exit 1 (verifier_key_replaced)', async () => {
    const cwd = copyLog(fx.dir);
    replaceKey(cwd, { resign: false });
    const r = await run(['verify', '--json'], { cwd });
    assert.equal(r.code, 1, r.stdout + r.stderr);
    assert.deepEqual(
      report(r.stdout).faults.map((f) => f.kind),
      ['verifier_key_replaced'],
    );
  });

  it('no key given: a checkpoint kept outside catches it (exit 1); without one it cannot be told (exit 0, warned)', async () => {
    const cwd = copyLog(fx.dir);
    replaceKey(cwd, { resign: true });
    const elsewhere = tempDir();
    const db = ['--db', join(cwd, 'evident.db')];
    const kept = await run(['verify', '--json', ...db, '--trusted-checkpoint', file(fx.note)], {
      cwd: elsewhere,
    });
    assert.equal(kept.code, 1, kept.stdout + kept.stderr);
    assert.ok(report(kept.stdout).faults.some((f) => f.kind === 'checkpoint_signature_invalid'));
    const blind = await run(['verify', '--json', ...db], { cwd: elsewhere });
    assert.equal(blind.code, 0);
    assert.ok(report(blind.stdout).warnings.some((w) => w.includes('--vkey')));
  });

  it('the log\'s recorded origin rewritten: still evidence (exit 1), not turned into a "wrong key" answer', async () => {
    const cwd = copyLog(fx.dir);
    const db = new Database(join(cwd, 'evident.db'));
    try {
      db.exec("DROP TRIGGER logs_no_rewrite; UPDATE logs SET origin = 'renamed.example/default';");
    } finally {
      db.close();
    }
    const r = await run(['verify', '--json', '--vkey', fx.vkey, '--trusted-checkpoint', file(fx.note)], {
      cwd,
    });
    assert.equal(r.code, 1, r.stdout + r.stderr);
    assert.ok(report(r.stdout).faults.some((f) => f.kind === 'checkpoint_malformed'));
  });

  it('a key file that serves this log through a derived key verifies it (exit 0)', async () => {
    const cwd = tempDir();
    writeFileSync(join(cwd, 'evident.key'), `${generateSigner('keys.example/root').signerKey}\n`, {
      mode: 0o600,
    });
    assert.equal((await run(['init', '--origin', 'derived.example/default'], { cwd })).code, 0);
    assert.equal((await run(['append'], { cwd, input: lines([event(1)]) })).code, 0);
    const fresh = await run(['verify', '--json'], { cwd });
    assert.equal(fresh.code, 0, fresh.stdout + fresh.stderr);
    assert.equal((await run(['checkpoint'], { cwd })).code, 0);
    assert.equal((await run(['verify', '--json'], { cwd })).code, 0);
  });

  it('a key file of another deployment stays a mix-up: exit 2 KEY_INVALID', async () => {
    const r = await run(['verify', '--json', '--key', join(other.dir, 'evident.key')], { cwd: fx.dir });
    assert.equal(r.code, 2, r.stdout);
    assert.equal(errorOf(r).code, 'KEY_INVALID');
    assert.equal(
      readFileSync(join(other.dir, 'evident.key'), 'utf8').startsWith('PRIVATE+KEY+other.example'),
      true,
    );
  });
});

describe('verify-bundle --trusted-checkpoint: rollbacks and forks', { concurrency: 4 }, () => {
  it('a bundle older than the trusted checkpoint: exit 2 TRUSTED_CHECKPOINT_UNCHECKED (beyond-bundle), never 0', async () => {
    const old = copyLog(fx.backup);
    assert.equal((await run(['export', '--out', 'b.bundle'], { cwd: old })).code, 0);
    const bundle = join(old, 'b.bundle');
    const five = await run(['checkpoint'], { cwd: old });
    assert.equal(
      (
        await run(['verify-bundle', bundle, '--vkey', fx.vkey, '--trusted-checkpoint', file(five.stdout)], {
          cwd: old,
        })
      ).code,
      0,
    );
    const r = await run(
      ['verify-bundle', bundle, '--json', '--vkey', fx.vkey, '--trusted-checkpoint', file(fx.note)],
      {
        cwd: old,
      },
    );
    assert.equal(r.code, 2, r.stdout + r.stderr);
    assert.equal(errorOf(r).code, 'TRUSTED_CHECKPOINT_UNCHECKED');
    const rep = report(r.stdout);
    assert.equal(rep.ok, false);
    assert.deepEqual(
      rep.unchecked?.map((u) => [u.size, u.reason]),
      [[20, 'beyond-bundle']],
    );
    const human = await run(
      ['verify-bundle', bundle, '--vkey', fx.vkey, '--trusted-checkpoint', file(fx.note)],
      { cwd: old },
    );
    assert.equal(human.code, 2);
    assert.doesNotMatch(human.stdout, /^OK/);
  });

  it('export --consistency-from: a trusted checkpoint outside the range is checked; without the proof, exit 2', async () => {
    const five = await run(['checkpoint'], { cwd: copyLog(fx.backup) });
    const cp5 = file(five.stdout);
    const cwd = copyLog(fx.dir);
    // --since selects by received_at: a window after every entry gives the range [20, 20), past size 5
    const range = ['--since', new Date(Date.now() + 3_600_000).toISOString()];
    assert.equal((await run(['export', '--out', 'plain.bundle', ...range], { cwd })).code, 0);
    assert.equal(
      (await run(['export', '--out', 'proved.bundle', ...range, '--consistency-from', '5'], { cwd })).code,
      0,
    );
    const plain = await run(
      ['verify-bundle', 'plain.bundle', '--json', '--vkey', fx.vkey, '--trusted-checkpoint', cp5],
      {
        cwd,
      },
    );
    assert.equal(plain.code, 2, plain.stdout);
    assert.deepEqual(
      report(plain.stdout).unchecked?.map((u) => u.reason),
      ['no-consistency-proof'],
    );
    const proved = await run(
      ['verify-bundle', 'proved.bundle', '--json', '--vkey', fx.vkey, '--trusted-checkpoint', cp5],
      {
        cwd,
      },
    );
    assert.equal(proved.code, 0, proved.stdout + proved.stderr);
    const beyond = await run(['export', '--out', 'x.bundle', '--json', '--consistency-from', '999'], { cwd });
    assert.equal(beyond.code, 2);
    assert.equal(errorOf(beyond).code, 'PROOF_RANGE');
    const word = await run(['export', '--out', 'y.bundle', '--json', '--consistency-from', 'five'], { cwd });
    assert.equal(word.code, 2);
    assert.equal(errorOf(word).field, '--consistency-from');
  });
});

describe('verify-bundle reads bundle text as docs/formats.md says', () => {
  it('blank lines, CRLF and numbers in another form: exit 0; a number beyond a double: exit 2', async () => {
    const cwd = copyLog(fx.dir);
    assert.equal((await run(['export', '--out', 'b.bundle'], { cwd })).code, 0);
    const text = readFileSync(join(cwd, 'b.bundle'), 'utf8');
    const [header, ...entries] = text.split('\n');
    const loose = [
      ' \t',
      '',
      header,
      '',
      ...entries.map((l) => l.replace(/"index":(\d+)/, '"index":$1.0')),
      '  ',
    ]
      .join('\r\n')
      .replace('"tree_size":20', '"tree_size":2e1');
    assert.ok(loose.includes('"tree_size":2e1') && loose.includes('"index":0.0'));
    writeFileSync(join(cwd, 'loose.bundle'), loose);
    const ok = await run(['verify-bundle', 'loose.bundle', '--json', '--vkey', fx.vkey], { cwd });
    assert.equal(ok.code, 0, ok.stdout + ok.stderr);
    assert.equal(report(ok.stdout).entries, 20);
    writeFileSync(join(cwd, 'huge.bundle'), text.replace(/"index":3,/, '"index":3e400,'));
    const huge = await run(['verify-bundle', 'huge.bundle', '--json', '--vkey', fx.vkey], { cwd });
    assert.equal(huge.code, 2, huge.stdout);
    assert.equal(errorOf(huge).code, 'BUNDLE_INVALID');
  });
});
