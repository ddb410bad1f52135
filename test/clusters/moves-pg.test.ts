/**
 * Migration 9 and the copy of a log, on the shared test PostgreSQL (127.0.0.1:5432, database
 * `test`): a schema written before it opens, upgrades and verifies, and its service role still
 * appends without a new grant; a log marked moved refuses every write in the database itself
 * (LOG_MOVED, for the owner too); copyLog refuses a target that holds another log of that name
 * or a copy that is not a prefix, re-derives the tree, and verifies; an erased value travels.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ErrorCode } from '../../src/core/errors.ts';
import { checkCopy, copyLog } from '../../src/ledger/copy.ts';
import { Ledger } from '../../src/ledger/ledger.ts';
import { createLog } from '../../src/ledger/open.ts';
import { verifyStoredLog } from '../../src/ledger/verify.ts';
import { parseClusterMap } from '../../src/store/clusters/map.ts';
import { RoutedStore } from '../../src/store/clusters/routed.ts';
import { clearIncoming, markIncoming, markMoved, movedTo } from '../../src/store/postgres/moves.ts';
import { openPostgresStore, type PostgresStore } from '../../src/store/postgres/store.ts';
import { ERASURE_KEY, ERASURE_VERIFIERS, fullEvent, rejectsWith } from '../ledger/support.ts';
import {
  admin,
  dropSchema,
  PG_URL,
  randomName,
  serviceRoleSchema,
  withPostgres,
} from '../store/pg-support.ts';

describe('migration 9 and moving a log, on one PostgreSQL', () =>
  withPostgres('moves on PostgreSQL', () => {
    const f = serviceRoleSchema('evident_moves_');

    test('a schema at version 8 upgrades: the log verifies, the service role appends without a new grant', async () => {
      await createLog(f.owner, { name: 'old', origin: 'pg.test/default', signer: f.ring });
      const l = await Ledger.open({ store: f.owner, log: 'old', signer: f.ring, ownsStore: false });
      await l.appendMany(Array.from({ length: 12 }, (_, i) => fullEvent(i)));
      await l.checkpoint();
      await l.close();
      const s = `"${f.schema}"`;
      // Back to version 8, as a release before migration 9 left it.
      await admin(async (c) => {
        await c.query(`DROP TABLE ${s}.log_moves`);
        await c.query(`DROP FUNCTION ${s}.refuse_moved() CASCADE`);
        await c.query(`DROP FUNCTION ${s}.moved_logs(), ${s}.incoming_logs()`);
        await c.query(`DROP TABLE ${s}.log_incoming`);
        await c.query(`UPDATE ${s}.meta SET value = '8' WHERE key = 'schema_version'`);
      });
      const upgraded = await openPostgresStore(PG_URL, { schema: f.schema });
      try {
        assert.deepEqual(await upgraded.schemaCheck(), { drifts: [] });
        const info = (await upgraded.getLog('old'))!;
        assert.equal((await verifyStoredLog(upgraded, info)).ok, true);
        assert.equal(await movedTo(upgraded, info.id), undefined);
      } finally {
        await upgraded.close();
      }
      const svc = await Ledger.open({ store: f.svc, log: 'old', signer: f.ring, ownsStore: false });
      await svc.append(fullEvent(99));
      await svc.checkpoint();
      await svc.close();
    });

    test('a log marked moved refuses appends, checkpoints, cosignatures and intents, whoever writes', async () => {
      await createLog(f.owner, { name: 'gone', origin: 'pg.test/gone', signer: f.ring });
      const l = await Ledger.open({ store: f.svc, log: 'gone', signer: f.ring, ownsStore: false });
      await l.appendMany(Array.from({ length: 5 }, (_, i) => fullEvent(i)));
      const info = (await f.owner.getLog('gone'))!;
      assert.equal(await markMoved(f.owner, info.id, 'b', new Date().toISOString()), 'b');
      // Marked once: a second mark keeps the first cluster.
      assert.equal(await markMoved(f.owner, info.id, 'c', new Date().toISOString()), 'b');
      const e = await rejectsWith(l.append(fullEvent(7)), ErrorCode.LOG_MOVED);
      assert.equal(e.details['moved_to'], 'b');
      await l.close().catch(() => undefined);
      for (const store of [f.owner, f.svc] as PostgresStore[]) {
        await rejectsWith(
          store.write(info.id, (tx) =>
            tx.insertCheckpoint({ size: 1, root: new Uint8Array(32), note: 'x', createdAt: 'x' }),
          ),
          ErrorCode.LOG_MOVED,
        );
        await rejectsWith(
          store.addCosignatures(info.id, [
            { size: 5, name: 'w', keyId: '00000000', line: '— w x', createdAt: 'x' },
          ]),
          ErrorCode.LOG_MOVED,
        );
        await rejectsWith(
          store.write(info.id, (tx) => tx.putIntent({ id: 'i', event: '{}', owner: 'o', createdAt: 'x' })),
          ErrorCode.LOG_MOVED,
        );
      }
      // The mark itself cannot be taken back.
      await assert.rejects(
        admin((c) => c.query(`DELETE FROM "${f.schema}".log_moves`)),
        (x: { code?: string }) => x.code === 'EV001',
      );
      // A routed store that places it here refuses to serve it: LOG_MOVED, naming where it went.
      const map = parseClusterMap(`${PG_URL}?schema=${f.schema}`, {}, undefined)!;
      const routed = new RoutedStore(new Map([['home', f.owner as never]]), map);
      const r = await rejectsWith(routed.getLog('gone'), ErrorCode.LOG_MOVED);
      assert.equal(r.details['moved_to'], 'b');
      assert.equal(
        (await routed.listLogs()).some((x) => x.name === 'gone'),
        false,
      );
    });

    test('a copy still being made is not served until its mark is cleared', async () => {
      await createLog(f.owner, { name: 'arriving', origin: 'pg.test/arriving', signer: f.ring });
      const info = (await f.owner.getLog('arriving'))!;
      await markIncoming(f.owner, info.id, 'b', new Date().toISOString());
      const map = parseClusterMap(`${PG_URL}?schema=${f.schema}`, {}, undefined)!;
      const routed = new RoutedStore(new Map([['home', f.owner as never]]), map);
      const e = await rejectsWith(routed.getLog('arriving'), ErrorCode.LOG_MOVED);
      assert.equal(e.details['moving_from'], 'b');
      assert.equal(
        (await routed.listLogs()).some((x) => x.name === 'arriving'),
        false,
      );
      // The service role can neither mark nor clear: only the owner moves logs.
      await rejectsWith(clearIncoming(f.svc, info.id), ErrorCode.STORE_FAILED);
      await rejectsWith(markIncoming(f.svc, info.id, 'c', 'x'), ErrorCode.STORE_FAILED);
      await clearIncoming(f.owner, info.id);
      assert.equal((await routed.getLog('arriving'))?.name, 'arriving');
    });

    test('copyLog: copies, re-derives and verifies; refuses another log of that name and a diverged copy', async () => {
      await createLog(f.owner, { name: 'src', origin: 'pg.test/src', signer: f.ring });
      const l = await Ledger.open({ store: f.owner, log: 'src', signer: f.ring, ownsStore: false });
      await l.appendMany(Array.from({ length: 30 }, (_, i) => fullEvent(i)));
      await l.checkpoint();
      // An erasure: values and salts deleted, recorded; the copy must record it too.
      const erased = await l.erase({ erasureKey: ERASURE_KEY, actor_id: 'user-3', reason: 'GDPR art. 17' });
      assert.ok(erased.values > 0);
      await l.appendMany(Array.from({ length: 7 }, (_, i) => fullEvent(40 + i)));
      await l.checkpoint();
      await l.close();
      const src = (await f.owner.getLog('src'))!;
      const schema = randomName('evident_movedst_');
      const target = await openPostgresStore(PG_URL, { schema });
      try {
        const r = await copyLog(f.owner, src, target);
        const size = (await f.owner.head(src.id)).size;
        assert.equal(r.entries, size);
        assert.ok(r.checkpoints >= 2);
        assert.equal(r.erasures, erased.values);
        const copy = (await target.getLog('src'))!;
        assert.deepEqual(await target.erasures(copy.id, 0, size), await f.owner.erasures(src.id, 0, size));
        // The moved copy verifies with the erasure authorised, as the source does.
        const moved = await Ledger.open({ store: target, log: 'src', ownsStore: false });
        try {
          const v = await moved.verify({ erasureVerifiers: ERASURE_VERIFIERS });
          assert.ok(v.ok);
          assert.deepEqual(v.erasures, { events: 1, authorised: 1, unauthenticated: 0 });
        } finally {
          await moved.close();
        }
        assert.deepEqual(
          (await target.checkpoints(copy.id)).map((c) => c.note),
          (await f.owner.checkpoints(src.id)).map((c) => c.note),
        );
        // Run again: nothing left to copy, the same result.
        assert.equal((await copyLog(f.owner, src, target)).resumed, size);
        // A source that grew since is no longer matched by the copy.
        const more = await Ledger.open({ store: f.owner, log: 'src', signer: f.ring, ownsStore: false });
        await more.append(fullEvent(90));
        await more.checkpoint();
        await more.close();
        await rejectsWith(checkCopy(f.owner, src, target, copy), ErrorCode.TAMPER_DETECTED);
        // Another log of the same name on the target is refused, not merged into.
        await createLog(f.owner, { name: 'clash', origin: 'pg.test/clash', signer: f.ring });
        await createLog(target, { name: 'clash', origin: 'pg.test/other', signer: f.ring });
        const e = await rejectsWith(
          copyLog(f.owner, (await f.owner.getLog('clash'))!, target),
          ErrorCode.USAGE,
        );
        assert.equal(e.details['rule'], 'exists');
      } finally {
        await target.close();
        await dropSchema(schema);
      }
    });
  }));
