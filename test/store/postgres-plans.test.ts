/**
 * Migration 10 (src/store/postgres/migrations.ts): the PL/pgSQL functions that read tables plan
 * each call for its values, so a generic plan made while `entries` was empty cannot stay in use
 * on a connection as the log grows. What it buys is measured by `npm run bench` (PostgreSQL
 * ingest); here, that every such function carries the setting on a fresh schema, and that the
 * appends through them still write and refuse as before.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Ledger } from '../../src/ledger/ledger.ts';
import { createLog } from '../../src/ledger/open.ts';
import { openPostgresStore } from '../../src/store/postgres/index.ts';
import { fullEvent, summary } from '../ledger/support.ts';
import { admin, serviceRoleSchema, urlAs, withPostgres } from './pg-support.ts';

const CUSTOM = [
  'append_at',
  'entries_prune_only',
  'erasures_named_by_event',
  'pruned_leaves_in_range',
  'pruned_range_named_by_event',
  'refuse_moved',
  'secret_erase_only',
];

await withPostgres('PostgreSQL function plans', suite);

function suite(): void {
  const f = serviceRoleSchema('evident_pgplans_');

  describe('migration 10', () => {
    test('every PL/pgSQL function that reads a table plans each call; the others are unchanged', async () => {
      const rows = await admin(
        async (c) =>
          (
            await c.query(
              `SELECT p.proname AS name, coalesce(p.proconfig, '{}') AS config
                 FROM pg_proc p JOIN pg_language l ON l.oid = p.prolang
                WHERE p.pronamespace = $1::regnamespace AND l.lanname = 'plpgsql' ORDER BY p.proname`,
              [f.schema],
            )
          ).rows as { name: string; config: string[] }[],
      );
      const custom = rows
        .filter((r) => r.config.includes('plan_cache_mode=force_custom_plan'))
        .map((r) => r.name);
      assert.deepEqual(custom, CUSTOM);
      assert.ok(
        rows.length > CUSTOM.length,
        'the trigger functions that only compare rows are left as they were',
      );
    });

    test('appends one by one on one connection from an empty log, then verify', async () => {
      const info = await createLog(f.owner, { name: 'plans', origin: 'pg.test/plans', signer: f.ring });
      const store = await openPostgresStore(urlAs(f.role), { schema: f.schema, poolSize: 1 });
      const l = await Ledger.open({
        store,
        log: info.name,
        signer: f.ring,
        ownsStore: false,
        checkpointIntervalMs: 0,
      });
      try {
        for (let i = 0; i < 50; i++) await l.append(fullEvent(i));
        const r = await l.verify();
        assert.ok(r.ok && r.entries === 50, summary(r));
      } finally {
        await l.close();
        await store.close();
      }
    });
  });
}
