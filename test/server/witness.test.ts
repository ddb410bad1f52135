/**
 * evident's witness (C2SP tlog-witness add-checkpoint) over real HTTP and a real SQLite file:
 * every refusal with the spec's status, hostile bodies never a 500, the cosignature verifiable,
 * and concurrent requests from one old size moving the state exactly once.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { cosignerFromSeed } from '../../src/core/cosignature.ts';
import { signerFromSeed } from '../../src/core/note-keys.ts';
import { checkWitnessQuorum, parseWitnessPolicy } from '../../src/core/witness-policy.ts';
import { formatAddCheckpoint, TLOG_SIZE_CONTENT_TYPE } from '../../src/core/witness-request.ts';
import { trustedLogs, Witness } from '../../src/server/witness/add-checkpoint.ts';
import { startWitnessServer, type WitnessServer } from '../../src/server/witness/http.ts';
import { type FullStore, openStore } from '../../src/store/open.ts';
import { eventually, resetMidBody } from './raw-connection.ts';
import { post, TestLog, WITNESS_SEED, witnessVkey } from './witness-support.ts';

const W = 'witness.test/w1';
const wvkey = witnessVkey(W, cosignerFromSeed(W, WITNESS_SEED).publicKey);

describe('evident witness: add-checkpoint', () => {
  let dir: string;
  let store: FullStore;
  let server: WitnessServer;
  /** What the server logged, one object per request. */
  const requests: Record<string, unknown>[] = [];
  const log = new TestLog('audit.test/a');
  const other = new TestLog('audit.test/b', 2);

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'evident-witness-'));
    store = await openStore(join(dir, 'witness.db'));
    const policy = parseWitnessPolicy(`log ${log.vkey}\nlog ${other.vkey}\n`, { requireQuorum: false });
    const witness = new Witness(store, trustedLogs(policy), { name: W, seed: WITNESS_SEED });
    server = await startWitnessServer(
      { witness, log: (line) => requests.push(line) },
      { host: '127.0.0.1', port: 0 },
    );
  });
  after(async () => {
    await server.close();
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('first checkpoint from old 0: 200 with one cosignature line that verifies under the policy', async () => {
    log.grow(5);
    const r = await post(server.url, log.request(0));
    assert.equal(r.status, 200, r.text);
    assert.match(r.text, /^\u2014 witness\.test\/w1 [A-Za-z0-9+/=]+\n$/);
    const note = log.checkpoint() + r.text;
    const q = checkWitnessQuorum(note, [wvkey], 1);
    assert.deepEqual(q.cosigned, [W]);
  });

  test('old size not the latest cosigned: 409 with text/x.tlog.size holding the latest size', async () => {
    log.grow(3);
    const r = await post(server.url, log.request(0));
    assert.equal(r.status, 409);
    assert.equal(r.type, TLOG_SIZE_CONTENT_TYPE);
    assert.equal(r.text, '5\n');
    const ok = await post(server.url, log.request(5));
    assert.equal(ok.status, 200, ok.text);
  });

  test('rolled back log (old above the checkpoint size): 400; a smaller checkpoint from the right old size: 400', async () => {
    const up = formatAddCheckpoint({ oldSize: 8, proof: [], checkpoint: log.checkpoint(6) });
    assert.equal((await post(server.url, up)).status, 400);
    // A log rolled back to 6 that claims its witnesses last saw 5: 409, the witness has 8.
    const back = await post(server.url, log.request(5, 6));
    assert.equal(back.status, 409);
    assert.equal(back.text, '8\n');
    const body = formatAddCheckpoint({ oldSize: 8, proof: [], checkpoint: log.checkpoint(4) });
    assert.equal((await post(server.url, body)).status, 400);
  });

  test('fork: the cosigned size with another root is 409; another history from the cosigned size is 422', async () => {
    const fork = new TestLog('audit.test/a');
    fork.grow(8, 'forked');
    const same = await post(
      server.url,
      formatAddCheckpoint({ oldSize: 8, proof: [], checkpoint: fork.checkpoint(8) }),
    );
    assert.equal(same.status, 409);
    assert.equal(same.text, '8\n');
    fork.grow(4, 'forked');
    // The forked tree from 8 to 12 cannot be proven consistent with the cosigned root at 8.
    assert.equal((await post(server.url, fork.request(8))).status, 422);
    // The same checkpoint again: cosigned again, state unchanged.
    assert.equal((await post(server.url, log.request(8, 8))).status, 200);
  });

  test('bad proof: 422 (a flipped bit, a missing line, a proof for old 0)', async () => {
    log.grow(7);
    const proof = log.proof(8);
    proof[0] = proof[0]!.slice();
    proof[0]![0]! ^= 1;
    const flipped = formatAddCheckpoint({ oldSize: 8, proof, checkpoint: log.checkpoint() });
    assert.equal((await post(server.url, flipped)).status, 422);
    const short = formatAddCheckpoint({
      oldSize: 8,
      proof: log.proof(8).slice(1),
      checkpoint: log.checkpoint(),
    });
    assert.equal((await post(server.url, short)).status, 422);
    const fresh = new TestLog('audit.test/b', 2).grow(4);
    const withProof = formatAddCheckpoint({
      oldSize: 0,
      proof: fresh.proof(2),
      checkpoint: fresh.checkpoint(),
    });
    assert.equal((await post(server.url, withProof)).status, 422);
  });

  test('bad log signature: 403; signatures only from unknown keys: 403; unknown origin: 404', async () => {
    const cp = log.checkpoint();
    const tampered = cp.replace(
      / ([A-Za-z0-9+/]{4})/,
      (_m, g: string) => ` ${g === 'AAAA' ? 'AAAB' : 'AAAA'}`,
    );
    const keyId = formatAddCheckpoint({ oldSize: 8, proof: log.proof(8), checkpoint: tampered });
    assert.ok([400, 403].includes((await post(server.url, keyId)).status));
    const lines = cp.split('\n');
    const sig = lines.at(-2)!;
    const badSig = `${sig.slice(0, -6)}${sig.slice(-6, -5) === 'A' ? 'B' : 'A'}${sig.slice(-5)}`;
    const bad = formatAddCheckpoint({ oldSize: 8, proof: log.proof(8), checkpoint: cp.replace(sig, badSig) });
    assert.equal((await post(server.url, bad)).status, 403);
    const stranger = signerFromSeed('audit.test/a', new Uint8Array(32).fill(77));
    const unknown = formatAddCheckpoint({
      oldSize: 8,
      proof: log.proof(8),
      checkpoint: log.checkpoint(undefined, stranger),
    });
    assert.equal((await post(server.url, unknown)).status, 403);
    const nobody = new TestLog('audit.test/nobody', 3).grow(2);
    assert.equal((await post(server.url, nobody.request(0))).status, 404);
  });

  test('hostile bodies: malformed 400, huge 413, too many proof lines 400, bad base64 400, never 500', async () => {
    const cp = log.checkpoint();
    const cases: [string | Uint8Array, number][] = [
      ['', 400],
      ['old 8\n', 400],
      ['old 08\n\n' + cp, 400],
      ['old -1\n\n' + cp, 400],
      ['new 8\n\n' + cp, 400],
      ['old 8\nnot-base64!\n\n' + cp, 400],
      ['old 8\nAAAA\n\n' + cp, 400],
      [`old 8\n${'AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n'.repeat(64)}\n${cp}`, 400],
      ['old 8\n\nnot a note', 400],
      ['old 8\n\n' + cp.replace('\n\n', '\n'), 400],
      [new Uint8Array([0x6f, 0x6c, 0x64, 0x20, 0xff, 0x0a]), 400],
      ['old 99999999999999999\n\n' + cp, 400],
      ['x'.repeat(2 << 20), 413],
    ];
    for (const [body, status] of cases) {
      const r = await post(server.url, body);
      assert.equal(r.status, status, `${String(body).slice(0, 40)} → ${r.status} ${r.text}`);
    }
    const get = await fetch(`${server.url}/add-checkpoint`);
    assert.equal(get.status, 405);
    await get.text();
  });

  test('a caller gone halfway through its body: counted as its doing (400 ABORTED), not as a fault of ours', async () => {
    const before = requests.length;
    await resetMidBody(
      server.url,
      'POST /add-checkpoint HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\nold 8\n',
    );
    await eventually(() => requests.length > before);
    assert.deepEqual(
      requests.slice(before).map((l) => [l['path'], l['status'], l['reason']]),
      [['/add-checkpoint', 400, 'ABORTED']],
    );
  });

  test('concurrency: 20 requests from the same old size to different sizes: exactly one 200', async () => {
    const base = 0;
    const c = new TestLog('audit.test/b', 2).grow(40);
    // the state of audit.test/b is 0 (the 422 above recorded nothing)
    const bodies = Array.from({ length: 20 }, (_, i) => c.request(base, 21 + i));
    const results = await Promise.all(bodies.map((b) => post(server.url, b)));
    const ok = results.filter((r) => r.status === 200);
    assert.equal(ok.length, 1, results.map((r) => r.status).join(','));
    assert.ok(results.every((r) => r.status === 200 || r.status === 409));
  });
});
