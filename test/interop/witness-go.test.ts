/**
 * Interoperability of witness cosignatures: a cosignature returned by evident's witness over
 * HTTP (C2SP tlog-witness add-checkpoint) is checked by Go's standard crypto/ed25519 in
 * ./go/cosig/main.go, written from the C2SP tlog-cosignature text alone (key ID, timestamp,
 * signed message), independently of evident's TypeScript; a tampered checkpoint fails there.
 *
 * Needs `go` on PATH (Debian: golang-go). Without it the suite is skipped, except under
 * CI=true, where it fails.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { cosignerFromSeed, formatCosignerKey } from '../../src/core/cosignature.ts';
import { parseWitnessPolicy } from '../../src/core/witness-policy.ts';
import { trustedLogs, Witness } from '../../src/server/witness/add-checkpoint.ts';
import { startWitnessServer, type WitnessServer } from '../../src/server/witness/http.ts';
import { type FullStore, openStore } from '../../src/store/open.ts';
import { post, TestLog, WITNESS_SEED } from '../server/witness-support.ts';

const COSIG_DIR = fileURLToPath(new URL('./go/cosig/', import.meta.url));
const NAME = 'witness.interop/w1';

function buildChecker(dir: string): string | { missing: string } {
  const v = spawnSync('go', ['version'], { encoding: 'utf8', timeout: 30_000 });
  if (v.error || v.status !== 0)
    return { missing: `go is not on PATH (${v.error?.message ?? v.stderr.trim()})` };
  const bin = join(dir, 'cosig');
  const r = spawnSync('go', ['build', '-o', bin, '.'], {
    cwd: COSIG_DIR,
    env: {
      ...process.env,
      GO111MODULE: 'off',
      GOCACHE: join(dir, 'gocache'),
      GOPROXY: 'off',
      GOTOOLCHAIN: 'local',
      CGO_ENABLED: '0',
      GOFLAGS: '',
    },
    encoding: 'utf8',
    timeout: 300_000,
  });
  if (r.error || r.status !== 0) throw new Error(`go build failed: ${r.stdout}${r.stderr}`);
  return bin;
}

function goCheck(
  bin: string,
  vkey: string,
  note: string,
): { ok: boolean; timestamp: number; error?: string } {
  const r = spawnSync(bin, [], { input: JSON.stringify({ vkey, note }), encoding: 'utf8', timeout: 30_000 });
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout);
}

const dir = mkdtempSync(join(tmpdir(), 'evident-witness-go-'));
const checker = buildChecker(dir);

if (typeof checker !== 'string') {
  it('witness cosignatures checked by Go crypto/ed25519', (t) => {
    if (process.env['CI'] === 'true') assert.fail(`${checker.missing}: not allowed in CI`);
    t.skip(checker.missing);
  });
} else {
  describe('witness cosignatures checked by Go crypto/ed25519', () => {
    let store: FullStore;
    let server: WitnessServer;
    const log = new TestLog('interop.example/log');
    const vkey = formatCosignerKey(NAME, cosignerFromSeed(NAME, WITNESS_SEED).publicKey);

    before(async () => {
      store = await openStore(join(dir, 'w.db'));
      const policy = parseWitnessPolicy(`log ${log.vkey}\n`, { requireQuorum: false });
      server = await startWitnessServer(
        { witness: new Witness(store, trustedLogs(policy), { name: NAME, seed: WITNESS_SEED }) },
        { host: '127.0.0.1', port: 0 },
      );
    });
    after(async () => {
      await server.close();
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    });

    it('accepts what the witness returned, at two sizes; rejects a changed checkpoint or another key', async () => {
      let old = 0;
      for (const n of [3, 20]) {
        log.grow(n - log.leaves.length);
        const before = Math.floor(Date.now() / 1000);
        const r = await post(server.url, log.request(old));
        assert.equal(r.status, 200, r.text);
        const note = log.checkpoint() + r.text;
        const ok = goCheck(checker, vkey, note);
        assert.equal(ok.ok, true, ok.error);
        assert.ok(ok.timestamp >= before - 1 && ok.timestamp <= Math.floor(Date.now() / 1000) + 1);
        const changed = note.replace(`\n${n}\n`, `\n${n + 1}\n`);
        assert.equal(goCheck(checker, vkey, changed).ok, false);
        const other = formatCosignerKey(NAME, cosignerFromSeed(NAME, new Uint8Array(32).fill(5)).publicKey);
        assert.equal(goCheck(checker, other, note).ok, false);
        old = n;
      }
    });
  });
}
