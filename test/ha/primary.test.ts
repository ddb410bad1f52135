/**
 * Finding the primary (src/store/postgres/primary.ts) among real servers in streaming
 * replication (./replication.ts): a standby listed first is skipped, a host that refuses is
 * skipped, no primary is STORE_BUSY naming each host, and after a failover the store finds the
 * promoted standby and the ledger re-reads the head from it.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { ErrorCode, isEvidentError } from '../../src/core/errors.ts';
import { createKeyFile, createLog, Ledger } from '../../src/ledger/index.ts';
import type { PrimaryPool } from '../../src/store/postgres/primary.ts';
import { openPostgresStore } from '../../src/store/postgres/store.ts';
import { freePort } from '../server/cluster.ts';
import { binariesOrSkip, ReplicatedCluster } from './replication.ts';

const dir = mkdtempSync(join(tmpdir(), 'evident-ha-primary-'));
const clusters: ReplicatedCluster[] = [];
after(async () => {
  for (const c of clusters) await c.destroy();
  rmSync(dir, { recursive: true, force: true });
});

/** A primary and one asynchronous standby, destroyed at the end; undefined when skipped. */
async function asyncPair(t: { skip(message: string): void }): Promise<ReplicatedCluster | undefined> {
  const bin = binariesOrSkip(t);
  if (!bin) return undefined;
  const c = await ReplicatedCluster.start(bin, { standbys: 1, synchronous: false });
  clusters.push(c);
  return c;
}

const hostUrl = (ports: readonly number[], schema: string) =>
  `postgres://postgres@${ports.map((p) => `127.0.0.1:${p}`).join(',')}/postgres?target_session_attrs=read-write&schema=${schema}`;

const event = (i: number) => ({
  actor_id: `user-${i % 5}`,
  actor_type: 'user',
  action: 'read',
  resource_type: 'invoice',
  resource_id: `inv-${i}`,
  result: 'success',
  ip_address: '192.0.2.1',
  timestamp: new Date().toISOString(),
});

describe('finding the primary among replicated servers', () => {
  it('skips a host that refuses and a standby listed before the primary; no primary is STORE_BUSY naming each host', {
    timeout: 120_000,
  }, async (t) => {
    const c = await asyncPair(t);
    if (!c) return;
    const [primary, standby] = [c.primary, c.standbys[0]!];
    const closed = await freePort();
    const store = await openPostgresStore(hostUrl([closed, standby.port, primary.port], 'ev_find'));
    try {
      assert.equal((store.pool as PrimaryPool).primaryHost, `127.0.0.1:${primary.port}`);
      assert.deepEqual(await store.replication(), {
        inRecovery: false,
        primaryHost: `127.0.0.1:${primary.port}`,
        synchronousStandbyNames: '',
        synchronousCommit: 'on',
        standbys: [{ name: standby.name, state: 'streaming', syncState: 'async' }],
      });
      const log = await store.createLog({ name: 'found', origin: 'ha.test/found', vkey: 'x', erasable: [] });
      assert.equal((await store.getLog('found'))?.id, log.id);
    } finally {
      await store.close();
    }

    const none = await openPostgresStore(hostUrl([closed, standby.port], 'ev_find')).then(
      async (s) => {
        await s.close();
        return undefined;
      },
      (e: unknown) => e,
    );
    assert.ok(isEvidentError(none), String(none));
    assert.equal(none.code, ErrorCode.STORE_BUSY);
    const hosts = none.details['hosts'] as { host: string; role?: string; error?: string }[];
    assert.deepEqual(
      hosts.map((h) => [h.host, h.role ?? 'error']),
      [
        [`127.0.0.1:${closed}`, 'error'],
        [`127.0.0.1:${standby.port}`, 'standby'],
      ],
    );
    assert.equal(typeof none.details['retry_after_ms'], 'number');
  });

  it('after a failover that lost commits (asynchronous replication), finds the promoted standby and the ledger re-reads the head there', {
    timeout: 120_000,
  }, async (t) => {
    const c = await asyncPair(t);
    if (!c) return;
    const url = c.url('ev_reread');
    const signer = await createKeyFile(join(dir, 'reread.key'), 'ha.test/reread');
    const setup = await openPostgresStore(url);
    await createLog(setup, { name: 'default', origin: 'ha.test/reread', signer });
    await setup.close();
    const store = await openPostgresStore(url);
    const ledger = await Ledger.open({ store, signer, maxDelayMs: 0 });
    try {
      await ledger.appendMany(Array.from({ length: 20 }, (_, i) => event(i)));
      await c.waitCaughtUp();
      // Frozen walsender: what is appended now is committed on the primary only.
      const senders = await c.walsenders();
      for (const pid of senders) process.kill(pid, 'SIGSTOP');
      for (let i = 0; i < 5; i++)
        await ledger.appendMany(Array.from({ length: 10 }, (_, j) => event(100 + i * 10 + j)));
      assert.equal(await ledger.size(), 70);
      await c.failover();
      // The first use of the old connection fails (STORE_BUSY); the next finds the new primary.
      let receipts: Awaited<ReturnType<Ledger['appendMany']>> | undefined;
      for (let i = 0; i < 50 && !receipts; i++) {
        receipts = await ledger.appendMany([event(1000)]).catch((e: unknown) => {
          assert.ok(isEvidentError(e) && e.code === ErrorCode.STORE_BUSY, String(e));
          return undefined;
        });
        if (!receipts) await new Promise((r) => setTimeout(r, 100));
      }
      assert.ok(receipts, 'appends again after the failover');
      assert.equal((store.pool as PrimaryPool).primaryHost, `127.0.0.1:${c.primary.port}`);
      // The 50 events the standby never received are gone; the ledger continued from the
      // promoted server's head (20), not from the one it had cached (70).
      assert.equal(receipts[0]!.index, 20);
      assert.equal(await ledger.size(), 21);
      const report = await ledger.verify();
      assert.equal(report.ok, true, JSON.stringify(report.faults));
    } finally {
      await ledger.close();
    }
  });
});
