/**
 * The CLI on a log whose head or tree nodes were rewritten in the file: `verify` exits 1 naming
 * the fault, `append` and `prove` refuse with TAMPER_DETECTED and exit 1 (evidence of tampering,
 * not a usage error), and nothing is written or handed out.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import type { VerifyReport } from '../../src/core/verify/report.ts';
import { buildFixture, type Fixture } from './fixture.ts';
import { copyLog, ensureBuilt, errorOf, event, removeTempDirs, run } from './helpers.ts';

let fx: Fixture;
before(async () => {
  ensureBuilt();
  fx = await buildFixture();
});
after(removeTempDirs);

function tampered(statements: string): string {
  const dir = copyLog(fx.dir);
  const db = new Database(join(dir, 'evident.db'));
  try {
    // a careful attacker puts back any trigger it drops, so that no schema drift shows
    const triggers = db
      .prepare("SELECT sql FROM sqlite_master WHERE type = 'trigger'")
      .pluck()
      .all() as string[];
    db.exec(statements);
    const left = new Set(db.prepare("SELECT sql FROM sqlite_master WHERE type = 'trigger'").pluck().all());
    for (const sql of triggers) if (!left.has(sql)) db.exec(sql);
  } finally {
    db.close();
  }
  return dir;
}

async function kinds(cwd: string): Promise<{ code: number; kinds: string[] }> {
  const r = await run(['verify', '--json', '--vkey', fx.vkey], { cwd });
  const report = JSON.parse(r.stdout) as VerifyReport;
  return { code: r.code, kinds: report.faults.map((f) => f.kind) };
}

describe('a poisoned log head', () => {
  it('a zeroed frontier: verify exits 1 (head_mismatch); append exits 1 (TAMPER_DETECTED) and writes nothing', async () => {
    const dir = tampered('UPDATE logs SET frontier = zeroblob(length(frontier))');
    assert.deepEqual(await kinds(dir), { code: 1, kinds: ['head_mismatch'] });
    const r = await run(['append', '--json'], { cwd: dir, input: JSON.stringify(event(50)) });
    assert.equal(r.code, 1, r.stderr);
    assert.deepEqual([errorOf(r).code, errorOf(r)['rule']], ['TAMPER_DETECTED', 'head_mismatch']);
    assert.deepEqual(await kinds(dir), { code: 1, kinds: ['head_mismatch'] });
  });

  it('a grown size: verify exits 1 naming the head, not a truncation', async () => {
    // 20 = 0b10100 and 21 = 0b10101: one more frontier hash
    const dir = tampered('UPDATE logs SET size = 21, frontier = frontier || substr(frontier, 1, 32)');
    assert.deepEqual(await kinds(dir), { code: 1, kinds: ['head_mismatch'] });
  });
});

describe('a corrupted tree node', () => {
  const corrupt =
    'DROP TRIGGER tree_nodes_no_update; UPDATE tree_nodes SET hash = zeroblob(32) WHERE level = 1 AND idx = 2';

  it('verify exits 1 (tree_node_mismatch)', async () => {
    assert.deepEqual(await kinds(tampered(corrupt)), { code: 1, kinds: ['tree_node_mismatch'] });
  });

  it('prove inclusion through it exits 1 (TAMPER_DETECTED) and prints no proof', async () => {
    const dir = tampered(corrupt);
    const r = await run(['prove', 'inclusion', '--index', '6', '--json'], { cwd: dir });
    assert.equal(r.code, 1, r.stderr);
    assert.equal(r.stdout, '');
    assert.deepEqual([errorOf(r).code, errorOf(r)['rule']], ['TAMPER_DETECTED', 'proof_mismatch']);
    const ok = await run(['prove', 'inclusion', '--index', '12', '--json'], { cwd: dir });
    assert.equal(ok.code, 0, ok.stderr);
  });

  it('prove consistency through it exits 1 (TAMPER_DETECTED)', async () => {
    // [8, 10) is on the proof from 10 to 20
    const dir = tampered(
      'DROP TRIGGER tree_nodes_no_update; UPDATE tree_nodes SET hash = zeroblob(32) WHERE level = 1 AND idx = 4',
    );
    const r = await run(['prove', 'consistency', '--from', '10', '--to', '20', '--json'], { cwd: dir });
    assert.equal(r.code, 1, r.stderr);
    assert.equal(errorOf(r).code, 'TAMPER_DETECTED');
  });
});
