/**
 * Forged erasures through the real bin: `evident append` refuses the ledger's own actions,
 * `evident erase` signs with the erasure key, and `evident verify` / `verify-bundle` with
 * `--erasure-key` exit 1 on an erasure that key did not sign (0, and "ERASURES
 * UNAUTHENTICATED", without it). The forged erasure is written as a database writer would,
 * through the store's own write path, and then signed over by an honest `evident checkpoint`.
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { VerifyReport } from '../../src/core/verify/report.ts';
import { openLedger } from '../../src/ledger/open.ts';
import { forgeErasure } from '../ledger/forge-support.ts';
import { buildFixture, type Fixture } from './fixture.ts';
import { copyLog, ensureBuilt, errorOf, event, removeTempDirs, run } from './helpers.ts';

let fx: Fixture;
before(async () => {
  ensureBuilt();
  fx = await buildFixture();
});
after(removeTempDirs);

/** A copy of the log with an erasure key beside it; returns its directory and the erasure verifier key. */
async function withErasureKey(): Promise<{ cwd: string; evkey: string }> {
  const cwd = copyLog(fx.dir);
  const k = await run(['key', '--erasure-key', 'erasure.key', '--create'], { cwd });
  assert.equal(k.code, 0, k.stderr);
  return { cwd, evkey: k.stdout.trim() };
}

/** A forged erasure of alice's values (entries 15-19), then an honest checkpoint over it, saved as cp.txt. */
async function forged(cwd: string): Promise<void> {
  const l = await openLedger({ db: join(cwd, 'evident.db'), key: join(cwd, 'evident.key') });
  try {
    await forgeErasure(l, {
      erase: [15, 16, 17, 18, 19].map((index) => ({ index, field: 'new_values' as const })),
      subject: { actor_id: 'alice' },
    });
  } finally {
    await l.close();
  }
  const cp = await run(['checkpoint'], { cwd });
  assert.equal(cp.code, 0, cp.stderr);
  writeFileSync(join(cwd, 'cp.txt'), cp.stdout);
}

async function verify(cwd: string, args: string[]): Promise<{ code: number; report: VerifyReport }> {
  const r = await run(['verify', '--json', '--vkey', fx.vkey, ...args], { cwd });
  assert.ok(r.code === 0 || r.code === 1, r.stderr);
  return { code: r.code, report: JSON.parse(r.stdout) as VerifyReport };
}

describe('forged erasures, through the CLI', { concurrency: 4 }, () => {
  it('evident append refuses an evident.* action: exit 2, VALIDATION_FAILED on action', async () => {
    const cwd = copyLog(fx.dir);
    const r = await run(['append', '--json'], {
      cwd,
      input: JSON.stringify({
        ...event(1),
        action: 'evident.erasure',
        metadata: { subject: { actor_id: 'alice' } },
      }),
    });
    assert.equal(r.code, 2, r.stderr);
    const e = errorOf(r);
    assert.equal(e.code, 'VALIDATION_FAILED');
    assert.deepEqual(
      (e['issues'] as { field: string; rule: string }[]).map((i) => [i.field, i.rule]),
      [['action', 'reserved']],
    );
  });

  it('a forged erasure: verify --vkey --trusted-checkpoint --erasure-key exits 1; without the erasure key, 0 and unauthenticated', async () => {
    const { cwd, evkey } = await withErasureKey();
    await forged(cwd);
    const caught = await verify(cwd, ['--trusted-checkpoint', 'cp.txt', '--erasure-key', evkey]);
    assert.equal(caught.code, 1);
    assert.deepEqual(
      caught.report.faults.map((f) => [f.kind, f.index]),
      [
        ['value_missing', 15],
        ['value_missing', 16],
        ['value_missing', 17],
        ['value_missing', 18],
        ['value_missing', 19],
        ['erasure_unauthorised', 20],
      ],
    );
    const blind = await verify(cwd, ['--trusted-checkpoint', 'cp.txt']);
    assert.equal(blind.code, 0);
    assert.deepEqual(blind.report.erasures, { events: 1, authorised: 0, unauthenticated: 1 });
    const text = await run(['verify', '--vkey', fx.vkey, '--trusted-checkpoint', 'cp.txt'], { cwd });
    assert.equal(text.code, 0);
    assert.match(text.stdout, /^OK, ERASURES UNAUTHENTICATED: /);
  });

  it('evident erase signs with --erasure-key (required), and verify --erasure-key accepts it', async () => {
    const { cwd, evkey } = await withErasureKey();
    const missing = await run(['erase', '--actor-id', 'alice', '--reason', 'GDPR #1', '--json'], { cwd });
    assert.equal(missing.code, 2);
    assert.equal(errorOf(missing).field, '--erasure-key');
    const absent = await run(
      ['erase', '--actor-id', 'alice', '--reason', 'GDPR #1', '--erasure-key', 'nope.key', '--json'],
      { cwd },
    );
    assert.equal(absent.code, 2);
    assert.equal(errorOf(absent).code, 'KEY_INVALID');
    const ok = await run(
      ['erase', '--actor-id', 'alice', '--reason', 'GDPR #1', '--erasure-key', 'erasure.key', '--json'],
      { cwd },
    );
    assert.equal(ok.code, 0, ok.stderr);
    const cp = await run(['checkpoint'], { cwd });
    writeFileSync(join(cwd, 'cp.txt'), cp.stdout);
    const r = await verify(cwd, ['--trusted-checkpoint', 'cp.txt', '--erasure-key', evkey]);
    assert.equal(r.code, 0, JSON.stringify(r.report.faults));
    assert.deepEqual(r.report.erasures, { events: 1, authorised: 1, unauthenticated: 0 });
    // the erasure key file as the verifier: refused, it holds a private key (exit 2)
    const wrong = await run(['verify', '--json', '--erasure-key', 'erasure.key'], { cwd });
    assert.equal(wrong.code, 2);
    assert.equal(errorOf(wrong).field, '--erasure-key');
  });

  it('an erasure key that is the checkpoint key is refused: exit 2, KEY_INVALID', async () => {
    const cwd = copyLog(fx.dir);
    const r = await run(['verify', '--json', '--vkey', fx.vkey, '--erasure-key', fx.vkey], { cwd });
    assert.equal(r.code, 2);
    assert.deepEqual([errorOf(r).code, errorOf(r)['reason']], ['KEY_INVALID', 'same-as-checkpoint-key']);
    const b = await run(['verify', '--json', '--erasure-key', fx.vkey], { cwd });
    assert.equal(b.code, 2, 'the log recorded key counts too');
  });

  it('verify-bundle --erasure-key: 0 for an authorised erasure, 1 for a forged one', async () => {
    const { cwd, evkey } = await withErasureKey();
    const ok = await run(
      ['erase', '--actor-id', 'carol', '--reason', 'GDPR #2', '--erasure-key', 'erasure.key'],
      { cwd },
    );
    assert.equal(ok.code, 0, ok.stderr);
    await forged(cwd);
    assert.equal((await run(['export', '--out', 'b.bundle'], { cwd })).code, 0);
    const r = await run(['verify-bundle', 'b.bundle', '--json', '--vkey', fx.vkey, '--erasure-key', evkey], {
      cwd,
    });
    assert.equal(r.code, 1, r.stderr);
    const report = JSON.parse(r.stdout) as VerifyReport;
    assert.deepEqual(report.erasures, { events: 2, authorised: 1, unauthenticated: 0 });
    assert.deepEqual(
      report.faults.map((f) => f.kind).filter((k) => k === 'erasure_unauthorised'),
      ['erasure_unauthorised'],
    );
    const blind = await run(['verify-bundle', 'b.bundle', '--json', '--vkey', fx.vkey], { cwd });
    assert.equal(blind.code, 0, blind.stdout);
    assert.equal((JSON.parse(blind.stdout) as VerifyReport).erasures.unauthenticated, 2);
  });
});
