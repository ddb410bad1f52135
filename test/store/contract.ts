/**
 * The store contract (src/store/types.ts) as one suite, run against every store
 * (docs/design.md, Store): contract.test.ts runs it on SQLite and PostgreSQL. It drives the real Ledger on
 * the store, and the raw Store and WriteTx where the ledger cannot reach (rollback, a corrupt
 * tree node). A harness gives fresh stores on one database; a second store stands for a
 * second process (its own connections).
 *
 * This file holds the shared fixture; the tests live by purpose in contract-writes.ts,
 * contract-reads.ts, contract-concurrency.ts and contract-intents.ts, registered in that order.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe } from 'node:test';
import { openCheckpoint } from '../../src/core/checkpoint.ts';
import { type NoteVerifier, verifierFromPublicKey } from '../../src/core/note-keys.ts';
import type { Receipt } from '../../src/ledger/integrate.ts';
import { createKeyFile, type KeyRing, loadKeyRing } from '../../src/ledger/keyfile.ts';
import { Ledger, type LedgerOptions } from '../../src/ledger/ledger.ts';
import { createLog } from '../../src/ledger/open.ts';
import type { ApiKeyStore, Store } from '../../src/store/types.ts';
import { summary } from '../ledger/support.ts';
import { concurrencyTests } from './contract-concurrency.ts';
import { intentTests } from './contract-intents.ts';
import { readTests } from './contract-reads.ts';
import { writeTests } from './contract-writes.ts';

export interface StoreHarness {
  /** A new store on the harness's database, with connections of its own (like another process). */
  open(): Promise<Store & ApiKeyStore>;
  /** Removes the database (every store is closed first). */
  dispose(): Promise<void>;
}

/**
 * What the contract tests share. `h`, `store` and `ring` are set in `before`, after the tests
 * are registered, so they are getters: read them inside a test, never at registration.
 */
export interface ContractFixture {
  readonly h: StoreHarness;
  /** The suite's first store; most tests use only this one. */
  readonly store: Store & ApiKeyStore;
  readonly ring: KeyRing;
  /** Extra stores a test opens (other processes); the suite closes them at the end. */
  readonly stores: Store[];
  /** The origin of `log`'s checkpoints. */
  origin(log: string): string;
  /** The verifier of `log`'s signed notes. */
  verifier(log: string): NoteVerifier;
  /** Opens a signed note of `log` with its key: tree size and root hash. */
  opened(log: string, note: string): { size: number; root: Uint8Array };
  /** A Ledger on `log` (created if missing) on `on`, closed at the end of the suite. */
  newLog(log: string, o?: Partial<LedgerOptions>, on?: Store): Promise<Ledger>;
  /** Every receipt's index holds its event, the indexes are 0..n-1, and the log verifies. */
  allLanded(ledger: Ledger, receipts: readonly Receipt[]): Promise<void>;
}

async function allLanded(ledger: Ledger, receipts: readonly Receipt[]): Promise<void> {
  const n = receipts.length;
  assert.deepEqual(
    receipts.map((r) => r.index).sort((a, b) => a - b),
    Array.from({ length: n }, (_, i) => i),
    'every index exactly once',
  );
  assert.equal(new Set(receipts.map((r) => r.id)).size, n, 'no id twice');
  assert.equal(await ledger.size(), n);
  const byIndex = new Map(receipts.map((r) => [r.index, r]));
  for (let from = 0; from < n; from += 500) {
    for (const e of await ledger.store.entries(ledger.log.id, from, from + 500, 500)) {
      const r = byIndex.get(e.index)!;
      assert.deepEqual([e.id, e.hash], [r.id, r.hash], `entry ${e.index}`);
    }
  }
  const report = await ledger.verify();
  assert.ok(report.ok, summary(report));
  assert.equal(report.entries, n);
}

export function storeContract(name: string, make: () => Promise<StoreHarness>): void {
  describe(`store contract: ${name}`, () => {
    let h: StoreHarness;
    let store: Store & ApiKeyStore;
    let ring: KeyRing;
    let dir: string;
    const stores: Store[] = [];
    const ledgers: Ledger[] = [];

    before(async () => {
      h = await make();
      store = await h.open();
      stores.push(store);
      dir = mkdtempSync(join(tmpdir(), 'evident-contract-'));
      await createKeyFile(join(dir, 'signing.key'), 'contract.test/default');
      ring = await loadKeyRing(join(dir, 'signing.key'));
    });

    after(async () => {
      for (const l of ledgers) await l.close().catch(() => undefined);
      for (const s of stores) await s.close().catch(() => undefined);
      await h.dispose();
      rmSync(dir, { recursive: true, force: true });
    });

    const origin = (log: string) => `contract.test/${log}`;
    const verifier = (log: string) => {
      const s = ring.forOrigin(origin(log));
      return verifierFromPublicKey(s.name, s.publicKey);
    };
    const opened = (log: string, note: string) => {
      const cp = openCheckpoint(note, verifier(log), origin(log)).checkpoint;
      return { size: cp.size, root: cp.rootHash };
    };

    async function newLog(log: string, o: Partial<LedgerOptions> = {}, on: Store = store): Promise<Ledger> {
      if (!(await on.getLog(log))) await createLog(on, { name: log, origin: origin(log), signer: ring });
      const l = await Ledger.open({
        store: on,
        log,
        signer: ring,
        ownsStore: false,
        checkpointIntervalMs: 3_600_000,
        ...o,
      });
      ledgers.push(l);
      return l;
    }

    const fx: ContractFixture = {
      get h() {
        return h;
      },
      get store() {
        return store;
      },
      get ring() {
        return ring;
      },
      stores,
      origin,
      verifier,
      opened,
      newLog,
      allLanded,
    };

    writeTests(fx);
    readTests(fx);
    concurrencyTests(fx);
    intentTests(fx);
  });
}
