/**
 * Retention on the real PostgreSQL: the owner prunes a segment held by a directory target
 * (the pass, the prune event, the rule of migration 6), the kept part and every later proof
 * still verify, the service role can neither prune nor delete, any other DELETE is refused
 * (EV005), and restore rebuilds the log in a new schema with the same root.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { pathToFileURL } from 'node:url';
import pg from 'pg';
import { openDirectoryTarget } from '../../src/archive/directory.ts';
import { archivePass } from '../../src/archive/pass.ts';
import { restoreFromArchive } from '../../src/archive/restore.ts';
import { buildPolicy, setPolicy } from '../../src/archive/retention.ts';
import { fromBase64, toBase64 } from '../../src/core/bytes.ts';
import { entryLeafHash } from '../../src/core/event/entry.ts';
import { verifyInclusion } from '../../src/core/merkle/index.ts';
import { formatVerifierKey, verifierFromKey } from '../../src/core/note-keys.ts';
import { Ledger } from '../../src/ledger/ledger.ts';
import { createLog } from '../../src/ledger/open.ts';
import { verifyStoredLog } from '../../src/ledger/verify.ts';
import { openStore } from '../../src/store/open.ts';
import { RuleViolation } from '../../src/store/postgres/errors.ts';
import { fullEvent } from '../ledger/support.ts';
import {
  admin,
  dropSchema,
  PG_URL,
  randomName,
  serviceRoleSchema,
  urlAs,
  withPostgres,
} from '../store/pg-support.ts';

await withPostgres('PostgreSQL retention', suite);

function suite(): void {
  const f = serviceRoleSchema('evident_pgarchive_');
  const dir = mkdtempSync(join(tmpdir(), 'evident-pgarchive-'));
  const restoredSchema = randomName('evident_pgrestore_');
  after(async () => {
    rmSync(dir, { recursive: true, force: true });
    await dropSchema(restoredSchema);
  });

  describe('pruning and restore on PostgreSQL', () => {
    test('the owner prunes a held segment; proofs verify; the service role cannot delete; restore gives the same root', async () => {
      await createLog(f.owner, { name: 'default', origin: 'pg.test/default', signer: f.ring });
      const l = await Ledger.open({
        store: f.owner,
        signer: f.ring,
        ownsStore: false,
        checkpointIntervalMs: 3_600_000,
      });
      await l.appendMany(Array.from({ length: 21 }, (_, i) => fullEvent(i)));
      await setPolicy(
        l.store,
        l.log,
        buildPolicy({ preset: 'custom', online: '0d', archive: '1y', segment: '8' }),
        {
          now: () => new Date(),
          force: true,
          reason: 'test',
        },
      );
      const target = await openDirectoryTarget(pathToFileURL(join(dir, 'a')).href);
      const r = await archivePass({ ledger: l, targets: [target] });
      assert.deepEqual(
        r.pruned.map((p) => [p.first, p.last]),
        [
          [0, 7],
          [8, 15],
        ],
      );
      const vkey = formatVerifierKey('pg.test/default', f.ring.forOrigin('pg.test/default').publicKey);
      const verifiers = [verifierFromKey(vkey)];
      const report = await l.verify({ verifiers });
      assert.equal(report.ok, true, JSON.stringify(report.faults));
      assert.deepEqual(
        report.pruned?.map((p) => [p.first, p.last]),
        [
          [0, 7],
          [8, 15],
        ],
      );
      const cp = await l.checkpoint();
      const e = (await l.entryAt(17))!;
      const inc = await l.proveInclusion(17, cp.size);
      verifyInclusion(
        entryLeafHash(e),
        17,
        cp.size,
        inc.hashes.map((h) => fromBase64(h)),
        cp.root,
      );

      // any other DELETE is refused, even to the owner: EV005
      const s = `"${f.schema}"`;
      await admin(async (c) => {
        const err = await c
          .query(`DELETE FROM ${s}.entries WHERE idx = 20`)
          .catch((x) => x as { code: string });
        assert.equal((err as { code: string }).code, RuleViolation.PRUNE_UNRECORDED);
        const forged = await c
          .query(`INSERT INTO ${s}.pruned_ranges VALUES ($1, 16, 18, 19)`, [l.log.id])
          .catch((x) => x as { code: string });
        assert.equal((forged as { code: string }).code, RuleViolation.PRUNE_UNRECORDED);
      });
      // the service role has no DELETE on entries and no INSERT on pruned_ranges (42501)
      for (const sql of [
        `DELETE FROM ${s}.entries WHERE idx = 20`,
        `INSERT INTO ${s}.pruned_ranges VALUES (1, 16, 18, 19)`,
      ]) {
        await assert.rejects(
          (async () => {
            const c = new pg.Client({ connectionString: urlAs(f.role) });
            await c.connect();
            try {
              await c.query(sql);
            } finally {
              await c.end();
            }
          })(),
          (x: { code?: string }) => x.code === '42501',
        );
      }
      await archivePass({ ledger: l, targets: [target], sealOpen: true, prune: false });
      const latest = (await l.latestCheckpoint())!;
      await l.close();

      const restored = await openStore(`${PG_URL}?schema=${restoredSchema}`);
      try {
        const res = await restoreFromArchive(target, restored, { verifiers, vkey });
        const log = (await restored.getLog('default'))!;
        const v = await verifyStoredLog(restored, log, { verifiers });
        assert.equal(v.ok, true, JSON.stringify(v.faults));
        assert.equal(res.size, latest.size);
        assert.equal(v.root, toBase64(latest.root));
      } finally {
        await restored.close();
      }
    });
  });
}
