/**
 * The CLI side of tiles and proof files: `evident prove inclusion --format tlog-proof`, then
 * `evident verify-proof` offline (exit 0 valid, 1 when the proof or a signature fails, with
 * TLOG_PROOF_REJECTED, 2 for a malformed file or bad flags), and `evident export --tiles`
 * (incremental, one log per directory).
 */
import assert from 'node:assert/strict';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fromBase64, toBase64 } from '../../src/core/bytes.ts';
import { cosign, cosignerFromSeed, formatCosignerKey } from '../../src/core/cosignature.ts';
import { formatSignatureLine } from '../../src/core/note.ts';
import { generateSigner } from '../../src/core/note-keys.ts';
import { parseTlogProof } from '../../src/core/tlog/proof-file.ts';
import { buildFixture, type Fixture } from './fixture.ts';
import { ensureBuilt, errorOf, removeTempDirs, run, tempDir } from './helpers.ts';

let fx: Fixture;
let proof: string;
before(async () => {
  ensureBuilt();
  fx = await buildFixture();
  const r = await run(['prove', 'inclusion', '--index', '7', '--format', 'tlog-proof'], { cwd: fx.dir });
  assert.equal(r.code, 0, r.stderr);
  proof = r.stdout;
});
after(removeTempDirs);

/** Runs verify-proof on `text` (written to a file) with the log's key unless `args` say otherwise. */
async function verifyProof(text: string, args: string[] = ['--vkey', fx.vkey]) {
  const dir = tempDir();
  writeFileSync(join(dir, 'p.tlog-proof'), text);
  return run(['verify-proof', 'p.tlog-proof', '--json', ...args], { cwd: dir });
}

/** The proof with line `n` (0-based) replaced. */
function withLine(text: string, n: number, replace: (line: string) => string): string {
  const lines = text.split('\n');
  lines[n] = replace(lines[n]!);
  return lines.join('\n');
}

/** Flips one bit of a base64 value, keeping it canonical. */
function flip(b64: string, at = 0): string {
  const bytes = fromBase64(b64);
  bytes[at]! ^= 1;
  return toBase64(bytes);
}

describe('prove inclusion --format tlog-proof and verify-proof', () => {
  it('writes a C2SP tlog-proof file that verifies offline with the published key', async () => {
    const p = parseTlogProof(proof);
    assert.equal(p.index, 7);
    assert.ok(proof.startsWith('c2sp.org/tlog-proof@v1\nextra '));
    assert.ok(p.checkpoint.startsWith(`${fx.note.split('\n')[0]}\n20\n`), 'the checkpoint of size 20');
    const r = await verifyProof(proof);
    assert.equal(r.code, 0, r.stderr);
    const out = JSON.parse(r.stdout);
    assert.equal(out.ok, true);
    assert.equal(out.index, 7);
    assert.equal(out.size, 20);
    assert.equal(out.leaf_from, 'extra');
  });

  it("checks the leaf given with --leaf or --entry instead of the file's own", async () => {
    const dir = tempDir();
    const p = parseTlogProof(proof);
    writeFileSync(join(dir, 'leaf'), p.extra!);
    writeFileSync(join(dir, 'p'), proof);
    const ok = await run(['verify-proof', 'p', '--vkey', fx.vkey, '--leaf', 'leaf'], { cwd: dir });
    assert.equal(ok.code, 0, ok.stderr);
    const q = await run(['query', '--json', '--limit', '20'], { cwd: fx.dir });
    assert.equal(q.code, 0, q.stderr);
    const entries = q.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l))
      .flatMap((x) => (Array.isArray(x.entries) ? x.entries : [x]))
      .filter((e) => typeof e.index === 'number');
    writeFileSync(join(dir, 'e7.json'), JSON.stringify(entries.find((e) => e.index === 7)));
    writeFileSync(join(dir, 'e8.json'), JSON.stringify(entries.find((e) => e.index === 8)));
    assert.equal(
      (await run(['verify-proof', 'p', '--vkey', fx.vkey, '--entry', 'e7.json'], { cwd: dir })).code,
      0,
    );
    const other = await run(['verify-proof', 'p', '--json', '--vkey', fx.vkey, '--entry', 'e8.json'], {
      cwd: dir,
    });
    assert.equal(other.code, 1, 'another entry is not what the proof proves');
    assert.equal(errorOf(other).code, 'TLOG_PROOF_REJECTED');
    assert.equal(errorOf(other)['cause'], 'PROOF_ROOT_MISMATCH');
  });

  it('exit 1 with TLOG_PROOF_REJECTED for a tampered proof, a wrong signature or a wrong index', async () => {
    const lines = proof.split('\n');
    const firstHash = lines.findIndex((l) => l.length === 44 && !l.startsWith('extra'));
    const sig = lines.findIndex((l) => l.startsWith('\u2014 '));
    const cases: [string, string, string][] = [
      ['a proof hash changed', withLine(proof, firstHash, (l) => flip(l)), 'PROOF_ROOT_MISMATCH'],
      [
        'the checkpoint signature changed',
        withLine(proof, sig, (l) => {
          const [dash, name, b64] = l.split(' ');
          return `${dash} ${name} ${flip(b64!, 10)}`;
        }),
        'NOTE_SIGNATURE_INVALID',
      ],
      ['another index', withLine(proof, 2, () => 'index 6'), 'PROOF_ROOT_MISMATCH'],
      ['an index beyond the tree', withLine(proof, 2, () => 'index 25'), 'PROOF_INVALID'],
      ['a proof hash dropped', lines.filter((_, i) => i !== firstHash).join('\n'), 'PROOF_INVALID'],
    ];
    for (const [what, text, cause] of cases) {
      const r = await verifyProof(text);
      assert.equal(r.code, 1, `${what}: ${r.stderr}`);
      assert.equal(errorOf(r).code, 'TLOG_PROOF_REJECTED', what);
      assert.equal(errorOf(r)['cause'], cause, what);
    }
  });

  it('exit 2 for a malformed file, a missing or foreign key', async () => {
    const malformed: [string, string][] = [
      ['another header', proof.replace('c2sp.org/tlog-proof@v1', 'c2sp.org/tlog-proof@v2')],
      ['an index with a leading zero', withLine(proof, 2, () => 'index 07')],
      ['a hash that is not base64', withLine(proof, 3, () => 'not base64!')],
      ['no checkpoint', `${proof.split('\n\n')[0]}\n\n`],
      ['not a proof at all', 'hello\n'],
    ];
    for (const [what, text] of malformed) {
      const r = await verifyProof(text);
      assert.equal(r.code, 2, `${what}: ${r.stderr}`);
      assert.equal(errorOf(r).code, 'TLOG_PROOF_MALFORMED', what);
    }
    const noKey = await verifyProof(proof, []);
    assert.equal(noKey.code, 2);
    assert.equal(errorOf(noKey).code, 'USAGE');
    const foreign = generateSigner('elsewhere.example/log').verifierKey;
    const other = await verifyProof(proof, ['--vkey', foreign]);
    assert.equal(other.code, 2);
    assert.equal(errorOf(other).code, 'KEY_INVALID');
  });
});

describe('verify-proof with a witness quorum', () => {
  const name = 'witness.test/w1';
  const seed = new Uint8Array(32).fill(41);
  const witness = formatCosignerKey(name, cosignerFromSeed(name, seed).publicKey);

  it("holds when the proof's checkpoint carries the cosignature, exit 1 WITNESS_QUORUM_UNMET when not", async () => {
    const bare = await verifyProof(proof, ['--vkey', fx.vkey, '--witness', witness]);
    assert.equal(bare.code, 1, bare.stderr);
    assert.equal(errorOf(bare).code, 'WITNESS_QUORUM_UNMET');

    // the witness cosigns the checkpoint body (C2SP tlog-cosignature): one more signature line
    const [head, checkpoint] = [proof.slice(0, proof.indexOf('\n\n') + 2), parseTlogProof(proof).checkpoint];
    const body = checkpoint.slice(0, checkpoint.indexOf('\n\n') + 1);
    const line = formatSignatureLine(cosign(body, name, seed, 1_700_000_000));
    const cosigned = await verifyProof(`${head}${checkpoint}${line}`, [
      '--vkey',
      fx.vkey,
      '--witness',
      witness,
    ]);
    assert.equal(cosigned.code, 0, cosigned.stderr);
    assert.deepEqual(JSON.parse(cosigned.stdout).cosigned_by, [name]);
  });
});

describe('export --tiles', () => {
  it('writes the tiles, then only what changed; refuses a directory of another log', async () => {
    const out = join(tempDir(), 'tiles');
    const first = await run(['export', '--tiles', out, '--json'], { cwd: fx.dir });
    assert.equal(first.code, 0, first.stderr);
    const r1 = JSON.parse(first.stdout);
    assert.equal(r1.tree_size, 20);
    assert.equal(r1.written, 3, 'tile/0/000.p/20, tile/entries/000.p/20, checkpoint');
    assert.equal(readFileSync(join(out, 'tile/0/000.p/20')).length, 20 * 32);
    assert.equal(readFileSync(join(out, 'checkpoint'), 'utf8'), fx.note);
    const mtime = statSync(join(out, 'tile/0/000.p/20')).mtimeMs;
    const second = await run(['export', '--tiles', out, '--json'], { cwd: fx.dir });
    assert.equal(second.code, 0, second.stderr);
    assert.deepEqual([JSON.parse(second.stdout).written, JSON.parse(second.stdout).kept], [1, 2]);
    assert.equal(statSync(join(out, 'tile/0/000.p/20')).mtimeMs, mtime, 'kept, not rewritten');

    const other = tempDir();
    assert.equal((await run(['init', '--origin', 'other.example/default'], { cwd: other })).code, 0);
    assert.equal(
      (
        await run(['append'], {
          cwd: other,
          input: JSON.stringify([
            {
              actor_id: 'a',
              actor_type: 'system',
              action: 'x',
              resource_type: 'r',
              resource_id: '1',
              result: 'success',
            },
          ]),
        })
      ).code,
      0,
    );
    const refused = await run(['export', '--tiles', out, '--json'], { cwd: other });
    assert.equal(refused.code, 2);
    assert.equal(errorOf(refused).code, 'USAGE');
    assert.equal(errorOf(refused)['rule'], 'other-log');

    const mixed = await run(['export', '--tiles', out, '--out', 'x.bundle'], { cwd: fx.dir });
    assert.equal(mixed.code, 2);
  });
});
