import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { fromBase64, toBase64, toHex } from '../../src/core/bytes.ts';
import { openCheckpoint } from '../../src/core/checkpoint.ts';
import { leafHash } from '../../src/core/hash.ts';
import { verifyConsistency, verifyInclusion } from '../../src/core/merkle/index.ts';
import { verifierFromKey } from '../../src/core/note-keys.ts';
import { buildFixture, type Fixture, ORIGIN } from './fixture.ts';
import { ensureBuilt, errorOf, jsonLines, removeTempDirs, run, tempDir } from './helpers.ts';

let fx: Fixture;
before(async () => {
  ensureBuilt();
  fx = await buildFixture();
});
after(removeTempDirs);

type Row = { index: number; actor_id: string; resource_id: string; result: string; hash: string };

async function query(args: string[]): Promise<Row[]> {
  const r = await run(['query', '--json', ...args], { cwd: fx.dir });
  assert.equal(r.code, 0, r.stderr);
  // A cut answer ends with {"truncated":true,"next_cursor":N} (test/cli/query-pages.test.ts).
  return jsonLines<Row>(r.stdout).filter((x) => !('truncated' in x));
}

const indexes = (rows: Row[]) => rows.map((r) => r.index);

describe('evident query', { concurrency: 4 }, () => {
  it('filters by actor and by resource', async () => {
    const mallory = await query(['--actor-id', 'mallory']);
    assert.deepEqual(indexes(mallory), [9, 10, 11, 12, 13, 14]);
    assert.ok(mallory.every((r) => r.actor_id === 'mallory'));
    const shared = await query(['--resource-type', 'patient_record', '--resource-id', 'p-shared']);
    assert.deepEqual(indexes(shared), [3, 4, 5, 6, 7, 8]);
    assert.deepEqual(indexes(await query(['--result', 'denied,failure', '--actor-id', 'bob'])), [0, 1, 2]);
    assert.deepEqual(indexes(await query(['--ip', '10.0.0.7'])), [7]);
  });

  it('filters by time: --last-days, --last-hours, --since/--until, with --limit and --desc', async () => {
    assert.equal((await query(['--last-days', '7'])).length, 17);
    assert.deepEqual(
      indexes(await query(['--last-hours', '24'])),
      [9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19],
    );
    assert.deepEqual(indexes(await query(['--last-days', '7', '--desc', '--limit', '3'])), [19, 18, 17]);
    const now = Date.now();
    const since = new Date(now - 100 * 3_600_000).toISOString();
    const until = new Date(now - 48 * 3_600_000).toISOString();
    assert.deepEqual(indexes(await query(['--since', since, '--until', until])), [3, 4, 5, 6, 7, 8]);
    assert.deepEqual(indexes(await query(['--from-index', '18'])), [18, 19]);
    const both = await run(['query', '--json', '--since', since, '--last-days', '1'], { cwd: fx.dir });
    assert.equal(both.code, 2);
  });

  it('query failures lists actors with at least MIN failures or denials in the window', async () => {
    const r = await run(['query', 'failures', '--json'], { cwd: fx.dir });
    assert.equal(r.code, 0, r.stderr);
    const rows = jsonLines<{ actor_id: string; failures: number; last_timestamp: string }>(r.stdout);
    assert.deepEqual(
      rows.map((x) => [x.actor_id, x.failures]),
      [['mallory', 6]],
    );
    const wide = await run(['query', 'failures', '--hours', '1000', '--min', '2', '--json'], { cwd: fx.dir });
    assert.deepEqual(
      jsonLines<{ actor_id: string }>(wide.stdout).map((x) => x.actor_id),
      ['mallory', 'bob'],
    );
    // --min is inclusive: mallory has exactly 6, bob exactly 3.
    const exact = await run(['query', 'failures', '--hours', '1000', '--min', '6', '--json'], {
      cwd: fx.dir,
    });
    assert.deepEqual(
      jsonLines<{ actor_id: string }>(exact.stdout).map((x) => x.actor_id),
      ['mallory'],
    );
    const three = await run(['query', 'failures', '--hours', '1000', '--min', '3', '--json'], {
      cwd: fx.dir,
    });
    assert.deepEqual(
      jsonLines<{ actor_id: string }>(three.stdout).map((x) => x.actor_id),
      ['mallory', 'bob'],
    );
    const zero = await run(['query', 'failures', '--min', '0', '--json'], { cwd: fx.dir });
    assert.equal(zero.code, 2);
    assert.equal(errorOf(zero).field, '--min');
    const bad = await run(['query', 'failures', '--hours', 'lots', '--json'], { cwd: fx.dir });
    assert.equal(bad.code, 2);
    assert.equal(errorOf(bad).field, '--hours');
  });

  it('prints a table for people', async () => {
    const r = await run(['query', '--actor-id', 'bob'], { cwd: fx.dir });
    assert.equal(r.code, 0, r.stderr);
    const [header, ...rows] = r.stdout.trimEnd().split('\n');
    assert.match(header!, /INDEX.*TIMESTAMP.*ACTOR.*ACTION.*RESOURCE.*RESULT.*IP/);
    assert.equal(rows.length, 3);
    assert.match(rows[0]!, /^0 .*user:bob.*read.*patient_record\/p-0.*denied.*10\.0\.0\.0$/);
  });
});

describe('evident checkpoint, key, prove', { concurrency: 4 }, () => {
  const open = (note: string) => openCheckpoint(note, verifierFromKey(fx.vkey), ORIGIN).checkpoint;

  it('the checkpoint note verifies with the printed key; --size prints stored notes exactly', async () => {
    const key = await run(['key'], { cwd: fx.dir });
    assert.equal(key.code, 0, key.stderr);
    assert.equal(key.stdout, `${fx.vkey}\n`);
    const cp = openCheckpoint(fx.note, verifierFromKey(key.stdout.trim()), ORIGIN);
    assert.equal(cp.checkpoint.size, 20);

    const same = await run(['checkpoint', '--size', '20'], { cwd: fx.dir });
    assert.equal(same.stdout, fx.note);
    const json = await run(['checkpoint', '--size', '5', '--json'], { cwd: fx.dir });
    const body = JSON.parse(json.stdout);
    assert.deepEqual(Object.keys(body).sort(), ['note', 'root', 'size']);
    assert.equal(body.size, 5);
    assert.equal(body.root, toBase64(open(body.note).rootHash));
    const missing = await run(['checkpoint', '--size', '7', '--json'], { cwd: fx.dir });
    assert.equal(missing.code, 2);
    assert.equal(errorOf(missing).code, 'NOT_FOUND');
  });

  it('evident key without a key file prints the recorded key, with a warning', async () => {
    const r = await run(['key', '--db', `${fx.dir}/evident.db`], { cwd: tempDir() });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, `${fx.vkey}\n`);
    assert.notEqual(r.stderr, '');
  });

  it('EVIDENT_DB and EVIDENT_KEY stand in for --db and --key', async () => {
    const env = { EVIDENT_DB: `${fx.dir}/evident.db`, EVIDENT_KEY: `${fx.dir}/evident.key` };
    const key = await run(['key', '--json'], { cwd: tempDir(), env });
    assert.equal(key.code, 0, key.stderr);
    assert.deepEqual(JSON.parse(key.stdout), { vkey: fx.vkey, source: env.EVIDENT_KEY });
    const q = await run(['query', '--json', '--limit', '2'], { cwd: tempDir(), env });
    assert.deepEqual(indexes(jsonLines<Row>(q.stdout).slice(0, -1)), [0, 1]);
    assert.deepEqual(jsonLines(q.stdout).at(-1), { truncated: true, next_cursor: 2 });
  });

  it('prove inclusion --json verifies against the checkpoint root', async () => {
    const root20 = open(fx.note).rootHash;
    const entries = await query(['--limit', '20']);
    for (const [index, size] of [
      [7, undefined],
      [19, undefined],
      [3, 5],
    ] as const) {
      const args = [
        'prove',
        'inclusion',
        '--index',
        String(index),
        '--json',
        ...(size ? ['--size', String(size)] : []),
      ];
      const r = await run(args, { cwd: fx.dir });
      assert.equal(r.code, 0, r.stderr);
      const proof = JSON.parse(r.stdout);
      assert.deepEqual(Object.keys(proof), ['index', 'size', 'leaf', 'hashes']);
      assert.equal(proof.index, index);
      assert.equal(proof.size, size ?? 20);
      const lh = leafHash(fromBase64(proof.leaf));
      assert.equal(toHex(lh), entries[index]!.hash);
      const root = size
        ? open(
            JSON.parse((await run(['checkpoint', '--size', String(size), '--json'], { cwd: fx.dir })).stdout)
              .note,
          ).rootHash
        : root20;
      verifyInclusion(
        lh,
        index,
        proof.size,
        proof.hashes.map((h: string) => fromBase64(h)),
        root,
      );
    }
    const out = await run(['prove', 'inclusion', '--index', '7', '--size', '5', '--json'], { cwd: fx.dir });
    assert.equal(out.code, 2);
    assert.equal(errorOf(out).code, 'PROOF_RANGE');
    const human = await run(['prove', 'inclusion', '--index', '7'], { cwd: fx.dir });
    assert.equal(human.code, 0);
    assert.match(human.stdout, new RegExp(entries[7]!.hash));
  });

  it('prove consistency --json verifies between the checkpoints of sizes 5 and 20', async () => {
    const r = await run(['prove', 'consistency', '--from', '5', '--to', '20', '--json'], { cwd: fx.dir });
    assert.equal(r.code, 0, r.stderr);
    const body = JSON.parse(r.stdout);
    assert.deepEqual(Object.keys(body), ['hashes']);
    const cp5 = await run(['checkpoint', '--size', '5'], { cwd: fx.dir });
    verifyConsistency(
      5,
      20,
      body.hashes.map((h: string) => fromBase64(h)),
      open(cp5.stdout).rootHash,
      open(fx.note).rootHash,
    );
    const bad = await run(['prove', 'consistency', '--from', '20', '--to', '5', '--json'], { cwd: fx.dir });
    assert.equal(bad.code, 2);
    assert.equal(errorOf(bad).field, '--from');
  });
});
