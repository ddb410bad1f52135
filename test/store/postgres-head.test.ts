/**
 * The log head and the tree nodes on PostgreSQL, attacked with exactly what the service role
 * may do (UPDATE of the head's size, last_hash and frontier within the triggers' rules, INSERT
 * of tree nodes), and a node corrupted by the owner: verification names each, appends refuse a
 * head the entries do not back, and proofs over a bad node never leave the ledger.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type pg from 'pg';
import { ErrorCode } from '../../src/core/errors.ts';
import { FaultKind, type VerifyReport } from '../../src/core/verify/report.ts';
import { Ledger } from '../../src/ledger/ledger.ts';
import { createLog } from '../../src/ledger/open.ts';
import { fullEvent, rejectsWith, summary } from '../ledger/support.ts';
import { admin, randomName, serviceRoleSchema, withPostgres } from './pg-support.ts';

await withPostgres('PostgreSQL log head and tree nodes', suite);

function suite(): void {
  const f = serviceRoleSchema('evident_pghead_');
  const { schema, role } = f;
  const s = `"${schema}"`;

  /** A log of 20 entries appended by the service role, checkpointed at 10 and 20. */
  async function seeded(name: string): Promise<Ledger> {
    await createLog(f.owner, { name, origin: `pg.test/${name}`, signer: f.ring });
    const l = await Ledger.open({
      store: f.svc,
      log: name,
      signer: f.ring,
      ownsStore: false,
      checkpointIntervalMs: 3_600_000,
    });
    for (let i = 0; i < 20; i += 10) {
      await l.appendMany(Array.from({ length: 10 }, (_, k) => fullEvent(i + k)));
      await l.checkpoint();
    }
    return l;
  }

  /** Runs statements as the service role (SET ROLE on an owner's connection), in one transaction. */
  async function asService(fn: (c: pg.Client) => Promise<unknown>): Promise<void> {
    await admin(async (c) => {
      await c.query(`SET ROLE "${role}"`);
      await c.query('BEGIN');
      await fn(c);
      await c.query('COMMIT');
    });
  }

  function hasFault(r: VerifyReport, kind: FaultKind): void {
    assert.equal(r.ok, false, summary(r));
    assert.ok(
      r.faults.some((f) => f.kind === kind),
      `expected ${kind}: ${summary(r)}`,
    );
  }

  describe('the service role poisons the head', () => {
    const poisons: Record<string, string> = {
      'a zeroed frontier':
        "UPDATE {s}.logs SET frontier = decode(repeat('00', length(frontier)), 'hex') WHERE log_id = $1",
      'a changed last_hash': `UPDATE {s}.logs SET last_hash = '${'ab'.repeat(32)}' WHERE log_id = $1`,
      // 20 = 0b10100 and 21 = 0b10101: one more frontier hash
      'a grown size':
        'UPDATE {s}.logs SET size = size + 1, frontier = frontier || substring(frontier from 1 for 32) WHERE log_id = $1',
    };
    for (const [name, sql] of Object.entries(poisons)) {
      test(`${name}: verify reports head_mismatch; appends and checkpoints are refused (TAMPER_DETECTED), nothing is written`, async () => {
        const l = await seeded(randomName('h'));
        await asService((c) => c.query(sql.replaceAll('{s}', s), [l.log.id]));
        hasFault(await l.verify(), FaultKind.HEAD_MISMATCH);
        const nodes = async () =>
          Number(
            (
              await admin((c) =>
                c.query(`SELECT count(*) AS n FROM ${s}.tree_nodes WHERE log_id = $1`, [l.log.id]),
              )
            ).rows[0].n,
          );
        const before = await nodes();
        const e = await rejectsWith(l.append(fullEvent(99)), ErrorCode.TAMPER_DETECTED);
        assert.equal(e.details['rule'], 'head_mismatch');
        await rejectsWith(l.checkpoint(), ErrorCode.TAMPER_DETECTED);
        assert.equal(await nodes(), before, 'no tree node computed from a bad head');
        assert.equal((await l.store.entries(l.log.id, 0, 1000, 1000)).length, 20);
      });
    }
  });

  describe('tree nodes', () => {
    test('a node the service role inserts beyond the tree → tree_node_mismatch; the append that reaches it fails as a server fault', async () => {
      const l = await seeded(randomName('n'));
      // level 1, index 10: entries [20, 22), completed by the second append from now
      await asService((c) =>
        c.query(`INSERT INTO ${s}.tree_nodes (log_id, level, idx, hash) VALUES ($1, 1, 10, $2)`, [
          l.log.id,
          Buffer.alloc(32),
        ]),
      );
      hasFault(await l.verify(), FaultKind.TREE_NODE_MISMATCH);
      await l.append(fullEvent(20));
      const e = await l.append(fullEvent(21)).then(
        () => assert.fail('the append completing the planted node must fail'),
        (x: { code?: string }) => x,
      );
      assert.ok(e.code === ErrorCode.STORE_FAILED || e.code === ErrorCode.TAMPER_DETECTED, String(e.code));
    });

    test('a node corrupted by the owner off the checkpoints’ consistency paths → tree_node_mismatch; proofs through it are refused', async () => {
      const l = await seeded(randomName('c'));
      await admin(async (c) => {
        await c.query('BEGIN');
        await c.query(`ALTER TABLE ${s}.tree_nodes DISABLE TRIGGER ALL`);
        await c.query(`UPDATE ${s}.tree_nodes SET hash = $2 WHERE log_id = $1 AND level = 1 AND idx = 2`, [
          l.log.id,
          Buffer.alloc(32),
        ]);
        await c.query(`ALTER TABLE ${s}.tree_nodes ENABLE TRIGGER ALL`);
        await c.query('COMMIT');
      });
      const r = await l.verify();
      hasFault(r, FaultKind.TREE_NODE_MISMATCH);
      const f = r.faults.find((x) => x.kind === FaultKind.TREE_NODE_MISMATCH)!;
      assert.deepEqual([f['level'], f['node_index']], [1, 2]);
      const e = await rejectsWith(l.proveInclusion(6, 20), ErrorCode.TAMPER_DETECTED);
      assert.equal(e.details['rule'], 'proof_mismatch');
      await l.proveInclusion(12, 20);
    });

    test('an untouched log verifies, with its nodes read in windows', async () => {
      const l = await seeded(randomName('u'));
      const r = await l.verify();
      assert.ok(r.ok, summary(r));
      assert.equal(r.verified_size, 20);
      await l.append(fullEvent(20));
      await l.checkpoint();
      assert.ok((await l.verify()).ok);
    });
  });
}
