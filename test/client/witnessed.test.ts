/**
 * The client's log check with witnesses: against a real `evident serve` whose --witness-policy
 * names a real witness (C2SP tlog-witness over HTTP), checkLog() refuses a checkpoint that does
 * not yet carry the quorum (WITNESS_QUORUM_UNMET) and accepts it once the witness cosigned.
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, it } from 'node:test';
import { EvidentClient } from '../../src/client/index.ts';
import { cosignerFromSeed, formatCosignerKey } from '../../src/core/cosignature.ts';
import { isEvidentError } from '../../src/core/errors.ts';
import { parseWitnessPolicy } from '../../src/core/witness-policy.ts';
import { trustedLogs, Witness } from '../../src/server/witness/add-checkpoint.ts';
import { startWitnessServer } from '../../src/server/witness/http.ts';
import { openStore } from '../../src/store/open.ts';
import { killAll } from '../server/cluster.ts';
import { event, prepareServer, removeTempDirs, sleep, tempDir } from './support.ts';

after(() => {
  killAll();
  removeTempDirs();
});

it('checkLog with witnesses: accepted once the witness cosigned; a quorum nobody can meet refused', async () => {
  const dir = tempDir();
  const policyFile = join(dir, 'serve.policy');
  const s = await prepareServer(['--witness-policy', policyFile, '--witness-interval-ms', '100']);
  const logStore = await openStore(s.db);
  const vkey = (await logStore.getLog('default'))!.vkey;
  await logStore.close();
  const wstore = await openStore(join(dir, 'w.db'));
  const name = 'witness.test/client';
  const seed = new Uint8Array(32).fill(42);
  const wvkey = formatCosignerKey(name, cosignerFromSeed(name, seed).publicKey);
  const policy = parseWitnessPolicy(`log ${vkey}\n`, { requireQuorum: false });
  const ws = await startWitnessServer(
    { witness: new Witness(wstore, trustedLogs(policy), { name, seed }) },
    { host: '127.0.0.1', port: 0 },
  );
  writeFileSync(policyFile, `witness w1 ${wvkey} ${ws.url}\nquorum w1\n`);
  await s.start();
  const open = (spool: string, vkeys: string[]) =>
    EvidentClient.open({
      url: s.url,
      apiKey: s.ingestKey,
      verifyApiKey: s.verifyKey,
      verifierKey: vkey,
      log: 'default',
      spoolDir: spool,
      witnesses: { vkeys },
      onError: () => {},
    });
  const c = await open(join(dir, 'spool'), [wvkey]);
  try {
    await Promise.all(Array.from({ length: 5 }, () => c.record(event('w'))));
    assert.equal((await c.flush({ timeoutMs: 10_000 })).drained, true);
    // The checkpoint route signs a fresh checkpoint for a key: usually no witness has seen it
    // yet (refused), unless a witnessing round came first on a slow machine (accepted).
    const first = await c.checkLog().then(
      () => undefined,
      (e: unknown) => e,
    );
    if (first !== undefined) assert.ok(isEvidentError(first, 'WITNESS_QUORUM_UNMET'), String(first));
    let accepted: Awaited<ReturnType<typeof c.checkLog>> | undefined;
    for (let i = 0; i < 100 && !accepted; i++) {
      await sleep(100);
      accepted = await c.checkLog().catch(() => undefined);
    }
    assert.ok(accepted && accepted.size >= 5, 'accepted once cosigned');
    // Another client that requires a second witness nobody runs: refused.
    const other = formatCosignerKey(
      'witness.test/absent',
      cosignerFromSeed('witness.test/absent', new Uint8Array(32).fill(43)).publicKey,
    );
    const strict = await open(join(dir, 'spool2'), [wvkey, other]);
    try {
      const e = await strict.checkLog().then(
        () => undefined,
        (x: unknown) => x,
      );
      assert.ok(isEvidentError(e, 'WITNESS_QUORUM_UNMET'), String(e));
    } finally {
      await strict.close();
    }
  } finally {
    await c.close();
    await s.stop();
    await ws.close();
    await wstore.close();
  }
});
