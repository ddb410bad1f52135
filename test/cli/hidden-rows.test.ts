/**
 * Through the built CLI: a query result can hide a row whose hash
 * verifies (an index rewritten in sqlite_master); `evident verify` exits 1 naming the index,
 * `evident query --verified` finds the row on an intact log and refuses to answer (exit 1)
 * from a tampered one. `evident keys create` and `keys revoke` are recorded in the log; a key
 * written into the file directly makes verify exit 1 (api_key_unrecorded).
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import type { VerifyReport } from '../../src/core/verify/report.ts';
import { buildFixture, type Fixture } from './fixture.ts';
import { copyLog, ensureBuilt, errorOf, jsonLines, removeTempDirs, run } from './helpers.ts';

let fx: Fixture;
before(async () => {
  ensureBuilt();
  fx = await buildFixture();
});
after(removeTempDirs);

const HIDDEN = ['--resource-type', 'patient_record', '--resource-id', 'p-shared'];

/** Rebuilds entries_resource without p-shared's rows, then makes sqlite_master claim the full index. */
function hideResource(dir: string): void {
  const db = new Database(join(dir, 'evident.db'));
  try {
    const original = db
      .prepare("SELECT sql FROM sqlite_master WHERE name = 'entries_resource'")
      .pluck()
      .get() as string;
    db.exec('DROP INDEX entries_resource');
    db.exec(`${original} WHERE resource_id <> 'p-shared'`);
    db.unsafeMode(true);
    db.pragma('writable_schema = ON');
    db.prepare("UPDATE sqlite_master SET sql = ? WHERE name = 'entries_resource'").run(original);
    db.pragma('writable_schema = OFF');
  } finally {
    db.close();
  }
}

describe('hidden rows and keys outside the log (CLI)', { concurrency: 2 }, () => {
  it('query --verified answers like query on an intact log (exit 0)', async () => {
    const cwd = copyLog(fx.dir);
    const plain = await run(['query', ...HIDDEN, '--json'], { cwd });
    const verified = await run(['query', ...HIDDEN, '--json', '--verified', '--vkey', fx.vkey], { cwd });
    assert.equal(verified.code, 0, verified.stderr);
    assert.deepEqual(jsonLines(verified.stdout), jsonLines(plain.stdout));
    assert.equal(jsonLines(verified.stdout).length, 6);
    const usage = await run(['query', ...HIDDEN, '--vkey', fx.vkey], { cwd });
    assert.equal(usage.code, 2, '--vkey without --verified is a usage error');
  });

  it('query --verified is cut by --limit as query is: a last truncated line with where to go on; --all is refused', async () => {
    const cwd = copyLog(fx.dir);
    const all = jsonLines(
      (await run(['query', ...HIDDEN, '--json', '--verified', '--vkey', fx.vkey], { cwd })).stdout,
    ) as { index: number }[];
    const cut = await run(['query', ...HIDDEN, '--json', '--verified', '--vkey', fx.vkey, '--limit', '2'], {
      cwd,
    });
    assert.equal(cut.code, 0, cut.stderr);
    const lines = jsonLines(cut.stdout) as { index?: number; truncated?: boolean; next_cursor?: number }[];
    assert.deepEqual(
      lines.slice(0, 2).map((e) => e.index),
      all.slice(0, 2).map((e) => e.index),
    );
    assert.deepEqual(lines[2], { truncated: true, next_cursor: all[1]!.index + 1 });
    const rest = await run(
      [
        'query',
        ...HIDDEN,
        '--json',
        '--verified',
        '--vkey',
        fx.vkey,
        '--from-index',
        String(lines[2]!.next_cursor),
      ],
      { cwd },
    );
    assert.deepEqual(
      (jsonLines(rest.stdout) as { index: number }[]).map((e) => e.index),
      all.slice(2).map((e) => e.index),
    );
    const refused = await run(['query', ...HIDDEN, '--json', '--verified', '--all'], { cwd });
    assert.equal(refused.code, 2);
    assert.equal(errorOf(refused).code, 'USAGE');
  });

  it('an index rewritten to hide rows: query misses them, verify exits 1 naming it, query --verified exits 1', async () => {
    const cwd = copyLog(fx.dir);
    hideResource(cwd);
    const plain = await run(['query', ...HIDDEN, '--json'], { cwd });
    assert.equal(plain.code, 0);
    assert.deepEqual(jsonLines(plain.stdout), [], 'the attack hides the six rows from the ordinary query');
    const v = await run(['verify', '--json', '--vkey', fx.vkey], { cwd });
    assert.equal(v.code, 1, v.stderr);
    const report = JSON.parse(v.stdout) as VerifyReport;
    const drift = report.faults.find((f) => f.kind === 'schema_drift');
    assert.ok(drift, JSON.stringify(report.faults));
    assert.equal(drift['name'], 'entries');
    assert.match(String(drift['actual']), /entries_resource/);
    const q = await run(['query', ...HIDDEN, '--json', '--verified', '--vkey', fx.vkey], { cwd });
    assert.equal(q.code, 1);
    assert.equal((JSON.parse(q.stdout) as VerifyReport).ok, false);
  });

  it('keys create and revoke are audit events; a key written into the file → verify exits 1 (api_key_unrecorded)', async () => {
    const cwd = copyLog(fx.dir);
    const made = await run(
      ['keys', 'create', '--log', 'default', '--scope', 'read', '--by', 'ops', '--json'],
      {
        cwd,
      },
    );
    assert.equal(made.code, 0, made.stderr);
    const id = JSON.parse(made.stdout).id as string;
    assert.equal((await run(['keys', 'revoke', id, '--by', 'ops'], { cwd })).code, 0);
    const events = await run(['query', '--resource-type', 'api_key', '--resource-id', id, '--json'], { cwd });
    assert.deepEqual(
      jsonLines(events.stdout).map((e) => [e['action'], e['actor_id']]),
      [
        ['evident.api_key.created', 'ops'],
        ['evident.api_key.revoked', 'ops'],
      ],
    );
    assert.equal((await run(['verify', '--vkey', fx.vkey], { cwd })).code, 0);
    const db = new Database(join(cwd, 'evident.db'));
    db.prepare(
      `INSERT INTO api_keys (key_id, secret_hash, logs, scopes, created_at) VALUES ('abcdefabcdef', ?, '["*"]', '["admin"]', '2020-01-01T00:00:00.000Z')`,
    ).run('1'.repeat(64));
    db.close();
    const v = await run(['verify', '--json', '--vkey', fx.vkey], { cwd });
    assert.equal(v.code, 1);
    const report = JSON.parse(v.stdout) as VerifyReport;
    assert.deepEqual(
      report.faults.map((f) => [f.kind, f['key_id']]),
      [['api_key_unrecorded', 'abcdefabcdef']],
    );
  });
});
