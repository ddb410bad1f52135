/**
 * The log side of tlog-witness (src/server/witnessing.ts), in process over real HTTP: a real
 * ledger on SQLite and real witness servers. A witness that already holds the log's checkpoint
 * (another process of the log sent it) is resynced from the size its 409 names; a witness that
 * does not answer is marked down and not retried before its backoff; rounds are one at a time
 * and at most one per interval; stored cosignatures are served with the checkpoint.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { cosignerFromSeed, formatCosignerKey } from '../../src/core/cosignature.ts';
import { checkWitnessQuorum, parseWitnessPolicy } from '../../src/core/witness-policy.ts';
import { formatAddCheckpoint } from '../../src/core/witness-request.ts';
import { createKeyFile, createLog, type Ledger, openLedger } from '../../src/ledger/index.ts';
import { ServerMetrics } from '../../src/server/metrics.ts';
import { trustedLogs, Witness } from '../../src/server/witness/add-checkpoint.ts';
import { startWitnessServer, type WitnessServer } from '../../src/server/witness/http.ts';
import { Witnessing } from '../../src/server/witnessing.ts';
import { type FullStore, openStore } from '../../src/store/open.ts';
import { post } from './witness-support.ts';

const event = (i: number) => ({
  actor_id: 'u',
  actor_type: 'user',
  action: 'read',
  resource_type: 'r',
  resource_id: `r-${i}`,
  result: 'success',
  ip_address: '192.0.2.1',
});

/** A port nothing listens on. */
async function deadPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
  const port = (s.address() as { port: number }).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

describe('witnessing: the log side', () => {
  let dir: string;
  let ledger: Ledger;
  let logVkey: string;
  const stores: FullStore[] = [];
  const servers: WitnessServer[] = [];
  const vkeys: string[] = [];

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'evident-witnessing-'));
    const signer = await createKeyFile(join(dir, 'l.key'), 'audit.test/default');
    const s = await openStore(join(dir, 'l.db'));
    logVkey = (await createLog(s, { name: 'default', origin: 'audit.test/default', signer })).vkey;
    await s.close();
    ledger = await openLedger({ db: join(dir, 'l.db'), key: join(dir, 'l.key') });
    for (const i of [1, 2]) {
      const store = await openStore(join(dir, `w${i}.db`));
      stores.push(store);
      const name = `witness.test/w${i}`;
      const seed = new Uint8Array(32).fill(20 + i);
      const policy = parseWitnessPolicy(`log ${logVkey}\n`, { requireQuorum: false });
      servers.push(
        await startWitnessServer(
          { witness: new Witness(store, trustedLogs(policy), { name, seed }) },
          { host: '127.0.0.1', port: 0 },
        ),
      );
      vkeys.push(formatCosignerKey(name, cosignerFromSeed(name, seed).publicKey));
    }
  });
  after(async () => {
    await ledger.close();
    for (const s of servers) await s.close();
    for (const s of stores) await s.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('resyncs a witness that is ahead of what the log stored, backs off from a dead one, serves what it gathered', async () => {
    await ledger.appendMany(Array.from({ length: 9 }, (_, i) => event(i)));
    const cp = await ledger.checkpoint();
    // Another process of the log already sent this checkpoint to w2: this store knows nothing of it.
    assert.equal(
      (await post(servers[1]!.url, formatAddCheckpoint({ oldSize: 0, proof: [], checkpoint: cp.note })))
        .status,
      200,
    );
    const dead = await deadPort();
    const policy = parseWitnessPolicy(
      [
        `witness w1 ${vkeys[0]} ${servers[0]!.url}`,
        `witness w2 ${vkeys[1]} ${servers[1]!.url}/`,
        `witness w3 ${formatCosignerKey('witness.test/w3', cosignerFromSeed('witness.test/w3', new Uint8Array(32).fill(3)).publicKey)} http://127.0.0.1:${dead}`,
        'group two 2 w1 w2 w3',
        'quorum two',
      ].join('\n'),
    );
    const metrics = new ServerMetrics();
    const w = new Witnessing({
      policy,
      store: ledger.store as FullStore,
      intervalMs: 60_000,
      timeoutMs: 2_000,
      minBackoffMs: 30_000,
      maxBackoffMs: 60_000,
      metrics,
    });
    const round = w.maybeRound(ledger);
    assert.ok(round);
    assert.equal(w.maybeRound(ledger), round, 'one round at a time: the running one is shared');
    await round;
    assert.equal(w.maybeRound(ledger), undefined, 'no second round within the interval');
    const states = Object.fromEntries(w.states().map((s) => [s.name, s]));
    assert.equal(states['w1']!.up, true);
    assert.equal(states['w1']!.size, cp.size);
    assert.equal(states['w2']!.up, true, 'resynced from the size its 409 named');
    assert.equal(metrics.witnessRequests.get({ witness: 'w2', outcome: 'resync' }), 1);
    assert.equal(states['w3']!.up, false);
    assert.match(states['w3']!.lastError!, /^unreachable/);
    assert.ok(states['w3']!.retryAt! > Date.now(), 'backing off');
    assert.equal(metrics.witnessUp.get({ witness: 'w3' }), 0);
    const served = await w.withCosignatures(ledger.log.id, cp);
    assert.equal(served.met, true);
    assert.deepEqual(served.cosigned.sort(), ['w1', 'w2']);
    assert.deepEqual(checkWitnessQuorum(served.note, vkeys, 2).cosigned.length, 2);

    // A new round (interval 0 now) does not call w3 before its backoff ends.
    const again = new Witnessing({
      policy,
      store: ledger.store as FullStore,
      intervalMs: 0,
      timeoutMs: 2_000,
      minBackoffMs: 30_000,
      maxBackoffMs: 60_000,
      metrics,
    });
    await again.maybeRound(ledger);
    await again.maybeRound(ledger);
    assert.equal(
      metrics.witnessRequests.get({ witness: 'w3', outcome: 'unreachable' }),
      2,
      'each instance tried once, then waits',
    );
  });
});
