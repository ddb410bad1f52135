/**
 * The witnessing contracts on both drivers: CosignatureStore (a log's gathered cosignatures) and
 * WitnessStore (a witness's state), run against a real SQLite file and the real PostgreSQL.
 * Two store instances on one database stand for two processes: concurrent witness steps on
 * one origin never both move it from the same state; the tables refuse UPDATE and DELETE.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { parseWitnessPolicy } from '../../src/core/witness-policy.ts';
import { trustedLogs, Witness } from '../../src/server/witness/add-checkpoint.ts';
import { type FullStore, openStore } from '../../src/store/open.ts';
import { TestLog, WITNESS_SEED } from '../server/witness-support.ts';
import { admin, dropSchema, PG_URL, randomName, withPostgres } from './pg-support.ts';

interface Driver {
  name: string;
  open(): Promise<FullStore>;
  /** Runs raw SQL as the owner; resolves to the error message, if any. */
  raw(sql: string): Promise<string | undefined>;
  cleanup(): Promise<void>;
}

function contract(d: () => Driver): void {
  let a: FullStore;
  let b: FullStore;
  before(async () => {
    a = await d().open();
    b = await d().open();
  });
  after(async () => {
    await a.close();
    await b.close();
    await d().cleanup();
  });

  it('cosignatures: stored once per size and witness key, read back, largest size per witness', async () => {
    const at = '2026-01-01T00:00:00.000Z';
    const c = (size: number, name: string, keyId: string) => ({
      size,
      name,
      keyId,
      line: `— ${name} x${size}`,
      createdAt: at,
    });
    await a.addCosignatures(1, [c(5, 'w1', '00000001'), c(5, 'w2', '00000002')]);
    await b.addCosignatures(1, [c(5, 'w1', '00000001'), c(9, 'w1', '00000001')]);
    await a.addCosignatures(2, [c(3, 'w1', '00000001')]);
    assert.deepEqual(
      (await b.cosignatures(1, 5)).map((x) => `${x.name} ${x.size}`),
      ['w1 5', 'w2 5'],
    );
    const sizes = (await a.cosignedSizes(1)).map((x) => `${x.name}:${x.keyId}:${x.size}`).sort();
    assert.deepEqual(sizes, ['w1:00000001:9', 'w2:00000002:5']);
  });

  it('witnessed logs are recorded once per (origin, vkey)', async () => {
    const l = { origin: 'audit.test/a', vkey: 'k1', addedAt: 'now' };
    assert.equal(await a.recordWitnessedLog(l), true);
    assert.equal(await b.recordWitnessedLog(l), false);
    assert.equal(await b.recordWitnessedLog({ ...l, vkey: 'k2' }), true);
    assert.deepEqual((await a.witnessedLogs()).map((x) => x.vkey).sort(), ['k1', 'k2']);
  });

  it('24 concurrent add-checkpoint steps from one old size over two store instances: exactly one moves the state', async () => {
    const log = new TestLog('audit.test/concurrent').grow(60);
    const policy = parseWitnessPolicy(`log ${log.vkey}\n`, { requireQuorum: false });
    const id = { name: 'witness.test/w1', seed: WITNESS_SEED };
    const wa = new Witness(a, trustedLogs(policy), id);
    const wb = new Witness(b, trustedLogs(policy), id);
    const first = await wa.addCheckpoint(log.request(0, 10));
    assert.equal(first.status, 200);
    const answers = await Promise.all(
      Array.from({ length: 24 }, (_, i) => (i % 2 ? wa : wb).addCheckpoint(log.request(10, 11 + i))),
    );
    assert.equal(answers.filter((x) => x.status === 200).length, 1, answers.map((x) => x.status).join(','));
    assert.ok(answers.every((x) => x.status === 200 || x.status === 409));
    const winner = answers.find((x) => x.status === 200)!.size!;
    const again = await wb.addCheckpoint(log.request(10, 40));
    assert.deepEqual([again.status, again.body], [409, `${winner}\n`]);
  });

  it('refuses UPDATE and DELETE on the witnessing tables', async () => {
    for (const t of ['checkpoint_cosignatures', 'witness_logs', 'witness_checkpoints']) {
      assert.ok(await d().raw(`DELETE FROM ${t}`), `${t}: DELETE refused`);
      assert.ok(
        await d().raw(
          `UPDATE ${t} SET ${t === 'witness_logs' ? 'vkey' : 'size'} = ${t === 'witness_logs' ? "'x'" : '0'}`,
        ),
        `${t}: UPDATE refused`,
      );
    }
  });
}

describe('witnessing stores: SQLite', () => {
  const dir = mkdtempSync(join(tmpdir(), 'evident-witness-store-'));
  const path = join(dir, 'w.db');
  contract(() => ({
    name: 'sqlite',
    open: () => openStore(path),
    raw: async (sql) => {
      const Database = (await import('better-sqlite3')).default;
      const db = new Database(path);
      try {
        db.exec(sql);
        return undefined;
      } catch (e) {
        return (e as Error).message;
      } finally {
        db.close();
      }
    },
    cleanup: async () => rmSync(dir, { recursive: true, force: true }),
  }));
});

await withPostgres('witnessing stores: PostgreSQL', () =>
  describe('witnessing stores: PostgreSQL', () => {
    const schema = randomName('evident_witness_');
    contract(() => ({
      name: 'postgres',
      open: () => openStore(`${PG_URL}?schema=${schema}`),
      raw: (sql) =>
        admin(async (c) => {
          try {
            await c.query(`SET search_path TO "${schema}"; ${sql}`);
            return undefined;
          } catch (e) {
            return (e as Error).message;
          }
        }),
      cleanup: () => dropSchema(schema),
    }));
  }),
);
