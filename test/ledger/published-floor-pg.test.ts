/**
 * The signer state on PostgreSQL (src/ledger/published.ts, src/ledger/signer-state.ts): a
 * primary rolled back to an older state (the log's schema restored from a dump taken before
 * checkpoint N, as an asynchronous failover or a restored backup leaves it) cannot make the
 * signer sign another tree at a size it already let out. Real server, own schema, real
 * pg_dump/psql; skipped when the server is unreachable (fails under CI=true).
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ErrorCode } from '../../src/core/errors.ts';
import { createKeyFile, loadKeyRing } from '../../src/ledger/keyfile.ts';
import { createLog, openLedger } from '../../src/ledger/open.ts';
import { signInTx } from '../../src/ledger/sign.ts';
import { SignerState } from '../../src/ledger/signer-state.ts';
import { openStore } from '../../src/store/open.ts';
import { admin, dropSchema, PG_URL, randomName, withPostgres } from '../store/pg-support.ts';
import { event, rejectsWith } from './support.ts';

const ORIGIN = 'pg.test/default';
await withPostgres('published floors on PostgreSQL', () => {
  describe('published floors: the signer state (PostgreSQL, a rolled-back primary)', () => {
    const schema = randomName('evident_floor_');
    const db = `${PG_URL}?schema=${schema}`;
    let dir: string;
    let key: string;
    let state: string;
    let publishedRoot: Uint8Array;
    let m: number;
    let n: number;

    const dump = (file: string) =>
      execFileSync('pg_dump', ['-d', PG_URL, '-n', schema, '--no-owner', '-f', join(dir, file)]);
    /** The schema replaced by the dump: the primary is back at that state. */
    const rollBack = async (file: string) => {
      await dropSchema(schema);
      execFileSync('psql', ['-d', PG_URL, '-q', '-v', 'ON_ERROR_STOP=1', '-f', join(dir, file)]);
    };
    const open = (o: { signerState?: string; checkpointIntervalMs?: number } = {}) =>
      openLedger({ db, key, ...o });
    const append = async (l: Awaited<ReturnType<typeof open>>, from: number, to: number, tag: string) => {
      await l.appendMany(Array.from({ length: to - from }, (_, i) => event(from + i, { metadata: { tag } })));
    };

    before(async () => {
      dir = mkdtempSync(join(tmpdir(), 'evident-floor-pg-'));
      key = join(dir, 'signing.key');
      state = join(dir, 'signer-state');
      const signer = await createKeyFile(key, ORIGIN);
      const store = await openStore(db);
      await createLog(store, { name: 'default', origin: ORIGIN, signer });
      await store.close();
      let l = await open({ signerState: state });
      await append(l, 0, 4, 'a');
      m = (await l.checkpoint()).size;
      await l.close();
      dump('older.sql');
      l = await open({ signerState: state });
      await append(l, 4, 9, 'a');
      const cp = await l.checkpoint();
      n = cp.size;
      publishedRoot = cp.root;
      await l.close();
      dump('newer.sql');
    });
    after(async () => {
      await dropSchema(schema);
      rmSync(dir, { recursive: true, force: true });
    });

    it('fences the rolled-back primary at open: appends and signatures refused, naming the signer state', async () => {
      await rollBack('older.sql');
      const l = await open({ signerState: state });
      try {
        assert.equal(await l.size(), m);
        const e = await rejectsWith(l.append(event(m, { metadata: { tag: 'fork' } })), ErrorCode.LOG_FENCED);
        assert.deepEqual(
          [e.details['source'], e.details['rule'], e.details['published_size'], e.details['tree_size']],
          ['journal', 'published_larger', n, m],
        );
        await rejectsWith(l.checkpoint(), ErrorCode.LOG_FENCED);
        assert.equal(await l.size(), m);
      } finally {
        await l.close();
      }
    });

    it('refuses to sign a different tree grown past N: CHECKPOINT_INCONSISTENT, and the transaction rolls back', async () => {
      await rollBack('older.sql');
      const grower = await open({ checkpointIntervalMs: Number.MAX_SAFE_INTEGER });
      await append(grower, m, n + 3, 'fork');
      await grower.flush();
      await grower.store.close(); // not close(): that would sign
      const store = await openStore(db);
      try {
        const log = (await store.getLog('default'))!;
        const floor = (await new SignerState(state, ORIGIN).floor())!;
        const ring = await loadKeyRing(key);
        const e = await rejectsWith(
          store.write(log.id, (tx) =>
            signInTx(tx, {
              origin: ORIGIN,
              signer: ring.forOrigin(ORIGIN),
              now: () => new Date(),
              floors: async () => [floor],
            }),
          ),
          ErrorCode.CHECKPOINT_INCONSISTENT,
        );
        assert.deepEqual(
          [e.details['source'], e.details['rule'], e.details['published_size'], e.details['tree_size']],
          ['journal', 'not_consistent', n, n + 3],
        );
        assert.deepEqual(
          (await store.checkpoints(log.id)).map((c) => c.size).filter((s) => s > m),
          [],
          'no checkpoint of the forked tree was stored',
        );
      } finally {
        await store.close();
      }
      const l = await open({ signerState: state });
      try {
        assert.equal(l.fenced?.rule, 'not_consistent');
        await rejectsWith(l.append(event(99)), ErrorCode.LOG_FENCED);
      } finally {
        await l.close();
      }
      const rows = await admin((c) =>
        c.query(`SELECT size FROM "${schema}".checkpoints WHERE size > $1`, [m]),
      );
      assert.equal(rows.rows.length, 0);
    });

    it('signs again once the newer state is put back', async () => {
      await rollBack('newer.sql');
      const l = await open({ signerState: state });
      try {
        assert.equal(l.fenced, undefined);
        await append(l, n, n + 2, 'a');
        assert.equal((await l.checkpoint()).size, n + 2);
        assert.deepEqual((await l.checkpointAt(n))?.root, publishedRoot);
      } finally {
        await l.close();
      }
    });

    it('CONTROL (no floor source): the rolled-back primary signs a fork at N', async () => {
      await rollBack('older.sql');
      const l = await open();
      try {
        await append(l, m, n, 'fork');
        const fork = await l.checkpoint();
        assert.equal(fork.size, n);
        assert.notDeepEqual(fork.root, publishedRoot, 'a second tree of size N was signed: a fork');
      } finally {
        await l.close();
      }
    });
  });
});
