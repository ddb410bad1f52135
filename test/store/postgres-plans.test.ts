/**
 * Migration 10 (src/store/postgres/migrations.ts): the PL/pgSQL functions that read tables plan
 * each call for its values, so a generic plan made while `entries` was empty cannot stay in use
 * on a connection as the log grows. Migration 11 remade append_at with statements that have one
 * plan whatever the statistics (an ordered range of the key, the unique index as the id check),
 * and left it at the default. What they buy is measured by `npm run bench` (PostgreSQL ingest);
 * here, that the settings are as said on a fresh schema, and that appends from an empty table on
 * one connection read a bounded number of index entries.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Ledger } from '../../src/ledger/ledger.ts';
import { createLog } from '../../src/ledger/open.ts';
import { openPostgresStore } from '../../src/store/postgres/index.ts';
import { fullEvent, summary } from '../ledger/support.ts';
import { admin, serviceRoleSchema, urlAs, withPostgres } from './pg-support.ts';

const APPENDS = 1500;

const CUSTOM = [
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

  describe('migrations 10 and 11', () => {
    test('every PL/pgSQL function that reads a table plans each call, but append_at; the others are unchanged', async () => {
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
      assert.deepEqual(rows.find((r) => r.name === 'append_at')?.config, [], 'append_at plans as by default');
      assert.ok(
        rows.length > CUSTOM.length,
        'the trigger functions that only compare rows are left as they were',
      );
    });

    test(`${APPENDS} appends one by one on one connection from an empty log read a bounded number of index entries`, async () => {
      const info = await createLog(f.owner, { name: 'plans', origin: 'pg.test/plans', signer: f.ring });
      // One connection: every append runs where the first ones, on an empty table, were planned.
      const store = await openPostgresStore(urlAs(f.role), { schema: f.schema, poolSize: 1 });
      const l = await Ledger.open({
        store,
        log: info.name,
        signer: f.ring,
        ownsStore: false,
        checkpointIntervalMs: 3_600_000,
      });
      try {
        for (let i = 0; i < APPENDS; i++) await l.append(fullEvent(i));
      } finally {
        await l.close();
        // A backend reports its statistics at the latest when it exits.
        await store.close();
      }
      const read = await admin(async (c) => {
        for (let i = 0; ; i++) {
          const rows = (
            await c.query(
              `SELECT indexrelname AS name, idx_scan AS scans, idx_tup_read AS tuples
                 FROM pg_stat_user_indexes WHERE schemaname = $1 AND relname = 'entries'`,
              [f.schema],
            )
          ).rows as { name: string; scans: string; tuples: string }[];
          const scans = rows.reduce((n, x) => n + Number(x.scans), 0);
          // Each append reads the end of the log once at least: the statistics have arrived.
          if (scans >= APPENDS || i === 50) return rows;
          await new Promise((res) => setTimeout(res, 100));
        }
      });
      const total = read.reduce((n, x) => n + Number(x.tuples), 0);
      // Each append reads the entry at size - 1 and whatever follows it: at most 2 entries. Before
      // migration 11, while the table held a few hundred rows, the planner (no statistics yet)
      // tied the indexes and could scan a secondary one: about 100,000 entries read over the
      // first 400 appends; a generic plan kept from then scanned the whole log on every append.
      console.log(`# ${APPENDS} appends read ${total} index entries`);
      assert.ok(
        total <= 2 * APPENDS + 100,
        `the appends read ${total} index entries: ${JSON.stringify(read)}`,
      );
      const v = await Ledger.open({ store: f.owner, log: info.name, signer: f.ring, ownsStore: false });
      try {
        const r = await v.verify();
        assert.ok(r.ok && r.entries === APPENDS, summary(r));
      } finally {
        await v.close();
      }
    });
  });
}
