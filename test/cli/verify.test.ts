import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { generateSigner } from '../../src/core/note-keys.ts';
import type { VerifyReport } from '../../src/core/verify/report.ts';
import { buildFixture, type Fixture } from './fixture.ts';
import { copyLog, ensureBuilt, errorOf, jsonLines, removeTempDirs, run, tempDir } from './helpers.ts';

let fx: Fixture;
before(async () => {
  ensureBuilt();
  fx = await buildFixture();
});
after(removeTempDirs);

function sql(dir: string, statements: string): void {
  const db = new Database(join(dir, 'evident.db'));
  try {
    db.exec(statements);
  } finally {
    db.close();
  }
}

async function verify(cwd: string, args: string[] = []): Promise<{ code: number; report: VerifyReport }> {
  const r = await run(['verify', '--json', ...args], { cwd });
  assert.ok(r.code === 0 || r.code === 1, r.stderr);
  return { code: r.code, report: JSON.parse(r.stdout) as VerifyReport };
}

/** The database file's content, and how much its write-ahead log holds. */
const digest = (dir: string) => {
  const wal = join(dir, 'evident.db-wal');
  return {
    db: createHash('sha256')
      .update(readFileSync(join(dir, 'evident.db')))
      .digest('hex'),
    wal: existsSync(wal) ? statSync(wal).size : 0,
  };
};

describe('evident verify', { concurrency: 4 }, () => {
  it('an intact log verifies (exit 0), with --vkey as a string or a file, and nothing is written', async () => {
    const cwd = copyLog(fx.dir);
    const before = digest(cwd);
    const own = await verify(cwd);
    assert.equal(own.code, 0);
    assert.equal(own.report.ok, true);
    assert.equal(own.report.entries, 20);
    assert.equal(own.report.verified_size, 20);
    const auditor = tempDir();
    writeFileSync(join(auditor, 'audit.vkey'), `${fx.vkey}\n`);
    writeFileSync(join(auditor, 'cp.txt'), fx.note);
    const db = ['--db', join(cwd, 'evident.db')];
    assert.equal((await verify(auditor, [...db, '--vkey', fx.vkey])).code, 0);
    assert.equal(
      (await verify(auditor, [...db, '--vkey', 'audit.vkey', '--trusted-checkpoint', 'cp.txt'])).code,
      0,
    );
    const human = await run(['verify', ...db, '--vkey', fx.vkey], { cwd: auditor });
    assert.equal(human.code, 0);
    assert.deepEqual(digest(cwd), before, 'verify changed the database');
  });

  it('signatures by another key than --vkey: exit 1; a signing key of another log: exit 2', async () => {
    const other = generateSigner('test.example/default').verifierKey;
    const { code, report } = await verify(fx.dir, ['--vkey', other]);
    assert.equal(code, 1);
    assert.equal(report.ok, false);
    const otherKey = join(tempDir(), 'other.key');
    writeFileSync(otherKey, `${generateSigner('elsewhere/default').signerKey}\n`, { mode: 0o600 });
    const mixUp = await run(['verify', '--json', '--key', otherKey], { cwd: fx.dir });
    assert.equal(mixUp.code, 2);
    assert.equal(errorOf(mixUp).code, 'KEY_INVALID');
    const bad = await run(['verify', '--json', '--vkey', 'not-a-key'], { cwd: fx.dir });
    assert.equal(bad.code, 2);
    assert.equal(errorOf(bad).code, 'KEY_INVALID');
  });

  it('a field edited in the database: exit 1, entry_modified at its index', async () => {
    const cwd = copyLog(fx.dir);
    sql(cwd, "DROP TRIGGER entries_no_update; UPDATE entries SET ip_address = '6.6.6.6' WHERE idx = 5;");
    const { code, report } = await verify(cwd);
    assert.equal(code, 1);
    assert.equal(report.first_bad_index, 5);
    assert.ok(report.faults.some((f) => f.kind === 'entry_modified' && f.index === 5));
    const human = await run(['verify'], { cwd });
    assert.equal(human.code, 1);
  });

  it('the tail deleted with its checkpoints: a trusted checkpoint catches it (log_truncated)', async () => {
    const cwd = copyLog(fx.dir);
    const saved = join(cwd, 'checkpoint-20.txt');
    writeFileSync(saved, fx.note);
    sql(
      cwd,
      'DROP TRIGGER entries_prune_only; DELETE FROM entries WHERE idx >= 15;' +
        'DROP TRIGGER checkpoints_no_delete; DELETE FROM checkpoints WHERE size > 15;',
    );
    const { code, report } = await verify(cwd, ['--trusted-checkpoint', saved]);
    assert.equal(code, 1);
    assert.ok(
      report.faults.some((f) => f.kind === 'log_truncated'),
      JSON.stringify(report.faults),
    );
  });

  it('an old backup restored: consistent on its own, caught by the trusted checkpoint', async () => {
    const cwd = copyLog(fx.backup);
    const saved = join(cwd, 'checkpoint-20.txt');
    writeFileSync(saved, fx.note);
    assert.equal((await verify(cwd)).code, 0);
    const { code, report } = await verify(cwd, ['--trusted-checkpoint', saved]);
    assert.equal(code, 1);
    assert.ok(report.faults.some((f) => f.kind === 'log_truncated'));
    const missing = await run(['verify', '--json', '--trusted-checkpoint', 'nope.txt'], { cwd });
    assert.equal(missing.code, 2);
    assert.equal(errorOf(missing).field, '--trusted-checkpoint');
  });

  it('erase, then verify: exit 0, and the values are gone', async () => {
    const cwd = copyLog(fx.dir);
    assert.equal((await run(['key', '--erasure-key', 'erasure.key', '--create'], { cwd })).code, 0);
    const r = await run(
      [
        'erase',
        '--actor-id',
        'alice',
        '--reason',
        'GDPR request #1',
        '--by',
        'dpo@example.com',
        '--erasure-key',
        'erasure.key',
        '--json',
      ],
      { cwd },
    );
    assert.equal(r.code, 0, r.stderr);
    const result = JSON.parse(r.stdout);
    assert.equal(result.entries, 5);
    assert.equal(result.values, 5);
    assert.equal(result.receipt.index, 20);
    const { code, report } = await verify(cwd);
    assert.equal(code, 0, JSON.stringify(report.faults));
    assert.equal(report.entries, 21);
    const q = await run(['query', '--actor-id', 'alice', '--json'], { cwd });
    for (const e of jsonLines<Record<string, unknown>>(q.stdout)) {
      assert.equal(e['new_values'], undefined);
      assert.deepEqual(e['erased'], ['new_values']);
    }
    const [erasure] = jsonLines<Record<string, unknown>>(
      (await run(['query', '--action', 'evident.erasure', '--json'], { cwd })).stdout,
    );
    assert.equal(erasure?.['actor_id'], 'dpo@example.com', 'the erasure names who erased');
    assert.equal(erasure?.['actor_type'], 'admin');
    assert.equal(erasure?.['ip_address'], '127.0.0.1');
    const badType = await run(
      ['erase', '--actor-id', 'bob', '--reason', 'x', '--by', 'dpo', '--by-type', 'robot', '--json'],
      { cwd },
    );
    assert.equal(badType.code, 2);
    assert.equal(errorOf(badType).field, '--by-type');
    const usage = await run(['erase', '--resource-type', 'patient_record', '--reason', 'x', '--json'], {
      cwd,
    });
    assert.equal(usage.code, 2);
    assert.equal(errorOf(usage).field, '--resource-id');
  });
});

describe('evident export and verify-bundle', { concurrency: 4 }, () => {
  async function exported(args: string[] = []): Promise<string> {
    const cwd = copyLog(fx.dir);
    const r = await run(['export', '--out', 'b.bundle', '--json', ...args], { cwd });
    assert.equal(r.code, 0, r.stderr);
    return join(cwd, 'b.bundle');
  }

  it('a bundle verifies offline with --vkey, in a directory without a database', async () => {
    const bundle = await exported();
    const cwd = tempDir();
    const r = await run(['verify-bundle', bundle, '--vkey', fx.vkey, '--json'], { cwd });
    assert.equal(r.code, 0, r.stdout + r.stderr);
    const report = JSON.parse(r.stdout) as VerifyReport;
    assert.equal(report.ok, true);
    assert.equal(report.entries, 20);
    assert.deepEqual(readdirSync(cwd), []);
    const selfTrust = await run(['verify-bundle', bundle, '--json'], { cwd });
    assert.equal(selfTrust.code, 0);
    assert.ok((JSON.parse(selfTrust.stdout) as VerifyReport).warnings.length > 0);
    assert.notEqual(selfTrust.stderr, '');
  });

  it('a bundle of a time range verifies; an edited bundle is exit 1, a garbled one exit 2', async () => {
    // the window is on received_at: the fixture's second append received entries 5 to 19
    const db = new Database(join(fx.dir, 'evident.db'), { readonly: true });
    const since = (
      db.prepare('SELECT received_at FROM entries WHERE idx = 5').get() as { received_at: string }
    ).received_at;
    db.close();
    const until = new Date(Date.parse(since) + 60_000).toISOString();
    const bundle = await exported(['--since', since, '--until', until]);
    const text = readFileSync(bundle, 'utf8');
    const header = JSON.parse(text.slice(0, text.indexOf('\n')));
    assert.equal(header.range.from, 5);
    assert.ok(header.range.to > 11);
    assert.equal(header.window.before.entry.index, 4);
    const ok = await run(['verify-bundle', bundle, '--vkey', fx.vkey, '--json'], { cwd: tempDir() });
    assert.equal(ok.code, 0, ok.stdout);

    const edited = join(tempDir(), 'edited.bundle');
    writeFileSync(edited, text.replace('"ip_address":"10.0.0.11"', '"ip_address":"10.0.0.99"'));
    const bad = await run(['verify-bundle', edited, '--vkey', fx.vkey, '--json'], { cwd: tempDir() });
    assert.equal(bad.code, 1);
    const report = JSON.parse(bad.stdout) as VerifyReport;
    assert.ok(report.faults.some((f) => f.kind === 'entry_modified' && f.index === 11));

    const garbled = join(tempDir(), 'garbled.bundle');
    writeFileSync(garbled, '{"format": nope}\n');
    const g = await run(['verify-bundle', garbled, '--vkey', fx.vkey, '--json'], { cwd: tempDir() });
    assert.equal(g.code, 2);
    assert.equal(errorOf(g).code, 'BUNDLE_INVALID');
  });

  it('export without --out writes the bundle to stdout, and never overwrites a file', async () => {
    const r = await run(['export'], { cwd: fx.dir });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(JSON.parse(r.stdout.slice(0, r.stdout.indexOf('\n'))).format, 'evident-bundle/v1');
    const cwd = copyLog(fx.dir);
    writeFileSync(join(cwd, 'b.bundle'), 'keep me');
    const again = await run(['export', '--out', 'b.bundle', '--json'], { cwd });
    assert.equal(again.code, 2);
    assert.equal(readFileSync(join(cwd, 'b.bundle'), 'utf8'), 'keep me');
  });
});
