/**
 * The one-round-trip append on PostgreSQL (Store.appendAt, the append_at function): it writes
 * only on the head it was computed from and only new ids, else nothing; the ledger then takes
 * the general path, so a second writer, a stored id or a poisoned head are handled as before.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ErrorCode } from '../../src/core/errors.ts';
import { integrate } from '../../src/ledger/integrate.ts';
import { Ledger } from '../../src/ledger/ledger.ts';
import { createLog } from '../../src/ledger/open.ts';
import { validateBatch } from '../../src/ledger/validate-batch.ts';
import { ENTRY_COLUMNS } from '../../src/store/rows.ts';
import { fullEvent, rejectsWith, summary } from '../ledger/support.ts';
import { admin, randomName, serviceRoleSchema, withPostgres } from './pg-support.ts';

await withPostgres('PostgreSQL one-round-trip append', suite);

function suite(): void {
  const f = serviceRoleSchema('evident_pgappat_');
  const s = () => `"${f.schema}"`;

  const open = (log: string) =>
    Ledger.open({ store: f.svc, log, signer: f.ring, ownsStore: false, checkpointIntervalMs: 3_600_000 });

  async function fresh(): Promise<{ name: string; id: number }> {
    const name = randomName('a');
    const info = await createLog(f.owner, { name, origin: `pg.test/${name}`, signer: f.ring });
    return { name, id: info.id };
  }

  const count = async (logId: number) =>
    Number(
      (await admin((c) => c.query(`SELECT count(*) AS n FROM ${s()}.entries WHERE log_id = $1`, [logId])))
        .rows[0].n,
    );

  /** A prepared append of `events` on `head`, as the ledger computes it. */
  const prepare = (head: Awaited<ReturnType<typeof f.svc.head>>, events: unknown[]) => {
    const units = [validateBatch(events, () => new Date())];
    const r = integrate(head, units, new Map(), { erasable: [], receivedAt: new Date().toISOString() });
    return { ids: units[0]!.map((e) => e.id), entries: r.entries, nodes: r.nodes, head: r.head };
  };

  describe('appendAt', () => {
    test('writes on the expected head; refuses a moved head and a stored id, writing nothing', async () => {
      const log = await fresh();
      const head0 = await f.svc.head(log.id);
      const a = prepare(head0, [fullEvent(0), fullEvent(1)]);
      assert.equal(await f.svc.appendAt(log.id, head0, a), true);
      assert.deepEqual((await f.svc.head(log.id)).size, 2);
      // computed from the old head: the head moved
      assert.equal(await f.svc.appendAt(log.id, head0, prepare(head0, [fullEvent(2)])), false);
      // an id already stored
      const head2 = await f.svc.head(log.id);
      const dup = prepare(head2, [{ ...fullEvent(3), id: a.ids[0] }]);
      assert.equal(await f.svc.appendAt(log.id, head2, dup), false);
      assert.equal(await count(log.id), 2);
      assert.equal((await f.svc.head(log.id)).size, 2);
      const l = await open(log.name);
      const r = await l.verify();
      assert.ok(r.ok, summary(r));
      await l.close();
    });

    test('a stored id among several: the rows of that insert are taken back, nothing is written', async () => {
      const log = await fresh();
      const head0 = await f.svc.head(log.id);
      const a = prepare(head0, [fullEvent(0)]);
      assert.equal(await f.svc.appendAt(log.id, head0, a), true);
      const head1 = await f.svc.head(log.id);
      // the first two rows are new, the third repeats a stored id: the refusal comes mid-insert
      const dup = prepare(head1, [fullEvent(1), fullEvent(2), { ...fullEvent(3), id: a.ids[0] }]);
      assert.equal(await f.svc.appendAt(log.id, head1, dup), false);
      assert.equal(await count(log.id), 1);
      assert.deepEqual(await f.svc.head(log.id), head1);
      const fresh3 = prepare(head1, [fullEvent(1), fullEvent(2), fullEvent(3)]);
      assert.equal(await f.svc.appendAt(log.id, head1, fresh3), true, 'the same head takes a clean batch');
      assert.equal(await count(log.id), 4);
    });

    test('the end of the log must be exactly the head: a row past it, a missing or a changed last entry are refused', async () => {
      const log = await fresh();
      const head0 = await f.svc.head(log.id);
      assert.equal(await f.svc.appendAt(log.id, head0, prepare(head0, [fullEvent(0), fullEvent(1)])), true);
      const head2 = await f.svc.head(log.id);
      const next = prepare(head2, [fullEvent(2)]);
      const columns = ['log_id', ...ENTRY_COLUMNS];
      const cols = columns.map((c) => `"${c}"`).join(', ');
      const where = `log_id = ${log.id}`;
      /** A copy of entry 1 at another position and id, as SQL expressions over that row. */
      const copy = (idx: string, id: string) =>
        `INSERT INTO ${s()}.entries (${cols})
           SELECT ${columns.map((c) => (c === 'idx' ? idx : c === 'id' ? id : `"${c}"`)).join(', ')}
           FROM ${s()}.entries WHERE ${where} AND idx = 1`;
      /** Runs `sql` as the owner with the append-only triggers off (an attacker with the database). */
      const tamper = (sql: string) =>
        admin(async (c) => {
          await c.query('BEGIN');
          await c.query(`ALTER TABLE ${s()}.entries DISABLE TRIGGER ALL`);
          await c.query(sql);
          await c.query(`ALTER TABLE ${s()}.entries ENABLE TRIGGER ALL`);
          await c.query('COMMIT');
        });
      const cases: { name: string; tamper: string[]; undo: string[] }[] = [
        {
          name: 'a row past the head',
          tamper: [copy('idx + 5', `id || 'x'`)],
          undo: [`DELETE FROM ${s()}.entries WHERE ${where} AND idx = 6`],
        },
        {
          name: 'the last entry removed',
          tamper: [
            `CREATE TABLE ${s()}.kept_row AS SELECT ${cols} FROM ${s()}.entries WHERE ${where} AND idx = 1`,
            `DELETE FROM ${s()}.entries WHERE ${where} AND idx = 1`,
          ],
          undo: [
            `INSERT INTO ${s()}.entries (${cols}) SELECT ${cols} FROM ${s()}.kept_row`,
            `DROP TABLE ${s()}.kept_row`,
          ],
        },
        {
          name: 'the last entry rehashed',
          tamper: [`UPDATE ${s()}.entries SET hash = reverse(hash) WHERE ${where} AND idx = 1`],
          undo: [`UPDATE ${s()}.entries SET hash = reverse(hash) WHERE ${where} AND idx = 1`],
        },
      ];
      for (const c of cases) {
        for (const sql of c.tamper) await tamper(sql);
        const before = await count(log.id);
        assert.equal(await f.svc.appendAt(log.id, head2, next), false, c.name);
        assert.equal(await count(log.id), before, `${c.name}: nothing written`);
        assert.deepEqual(await f.svc.head(log.id), head2, `${c.name}: the head kept`);
        for (const sql of c.undo) await tamper(sql);
      }
      // restored, the same call writes: the refusals above came from the tampering
      assert.equal(await f.svc.appendAt(log.id, head2, next), true);
      assert.equal(await count(log.id), 3);
      const l = await open(log.name);
      const r = await l.verify();
      assert.ok(r.ok && r.entries === 3, summary(r));
      await l.close();
    });

    test('a head whose last entry does not back it is refused, and the ledger then reports the tamper', async () => {
      const log = await fresh();
      const l = await open(log.name);
      await l.append(fullEvent(0));
      await l.append(fullEvent(1)); // through appendAt: the ledger knows the head now
      await admin((c) =>
        c.query(`UPDATE ${s()}.logs SET last_hash = $2 WHERE log_id = $1`, [log.id, 'ab'.repeat(32)]),
      );
      await rejectsWith(l.append(fullEvent(2)), ErrorCode.TAMPER_DETECTED);
      assert.equal(await count(log.id), 2);
      await l.close().catch(() => undefined);
    });

    test('two ledgers on one log: each falls back when the other moved the head; one chain, no fork', async () => {
      const log = await fresh();
      const a = await open(log.name);
      const b = await open(log.name);
      const receipts = [];
      for (let i = 0; i < 20; i++) receipts.push(await (i % 3 === 0 ? b : a).append(fullEvent(i)));
      receipts.push(
        ...(await Promise.all(
          Array.from({ length: 40 }, (_, i) => (i % 2 ? a : b).append(fullEvent(100 + i))),
        )),
      );
      assert.deepEqual(
        receipts.map((r) => r.index).sort((x, y) => x - y),
        Array.from({ length: 60 }, (_, i) => i),
      );
      // a retried id through the fast path's refusal: the original receipt
      const again = await a.append({ ...fullEvent(5), id: receipts[5]!.id });
      assert.equal(again.duplicate, true);
      assert.equal(again.index, receipts[5]!.index);
      const r = await a.verify();
      assert.ok(r.ok, summary(r));
      await a.close();
      await b.close();
    });
  });
}
