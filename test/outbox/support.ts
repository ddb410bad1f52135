/**
 * Shared set-up for the outbox tests: an application database (a schema of its own on the test
 * PostgreSQL, with a `patients` table and the outbox), and a ledger side on a real SQLite file
 * or in another PostgreSQL schema, with a real key file and two logs.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { createKeyFile, type KeyRing, loadKeyRing } from '../../src/ledger/keyfile.ts';
import { Ledger } from '../../src/ledger/ledger.ts';
import { createLog } from '../../src/ledger/open.ts';
import { installOutbox } from '../../src/outbox/install.ts';
import { recordInTransaction } from '../../src/outbox/record.ts';
import { openStore } from '../../src/store/open.ts';
import type { Store } from '../../src/store/types.ts';
import { dropSchema, PG_URL, randomName } from '../store/pg-support.ts';

export const LOGS = ['default', 'billing'] as const;

export interface AppDb {
  schema: string;
  pool: pg.Pool;
  /** The outbox's URL, naming its schema. */
  url: string;
  outboxCount(): Promise<number>;
  rejected(): Promise<{ seq: string; log: string; code: string; detail: string; event: string }[]>;
  close(): Promise<void>;
}

export async function appDb(): Promise<AppDb> {
  const schema = randomName('evident_ob_');
  const pool = new pg.Pool({ connectionString: PG_URL, max: 24 });
  await installOutbox(pool, { schema });
  await pool.query(
    `CREATE TABLE "${schema}".patients (id text PRIMARY KEY, name text NOT NULL, updated_by text NOT NULL)`,
  );
  return {
    schema,
    pool,
    url: `${PG_URL}?schema=${schema}`,
    outboxCount: async () =>
      Number((await pool.query(`SELECT count(*) AS n FROM "${schema}".evident_outbox`)).rows[0].n),
    rejected: async () =>
      (
        await pool.query(
          `SELECT seq::text AS seq, log, code, detail, event FROM "${schema}".evident_outbox_rejected r ORDER BY r.seq`,
        )
      ).rows,
    close: async () => {
      await pool.end();
      await dropSchema(schema);
    },
  };
}

export type LedgerKind = 'sqlite' | 'postgres';

export interface LedgerSide {
  kind: LedgerKind;
  /** What `--db` takes: the SQLite file, or the URL with its schema. */
  db: string;
  keyPath: string;
  dir: string;
  ring: KeyRing;
  store: Store;
  /** Ledgers on the shared store, one per log, opened on first use. */
  ledgerFor(log: string): Promise<Ledger>;
  /** Closes the ledgers (each signs a last checkpoint); the store stays open. */
  closeLedgers(): Promise<void>;
  /** Every entry of a log, in index order. */
  entries(log: string): Promise<Record<string, unknown>[]>;
  close(): Promise<void>;
}

export async function ledgerSide(kind: LedgerKind): Promise<LedgerSide> {
  const dir = mkdtempSync(join(tmpdir(), 'evident-outbox-'));
  const keyPath = join(dir, 'audit.key');
  await createKeyFile(keyPath, 'outbox.test/default');
  const ring = await loadKeyRing(keyPath);
  const pgSchema = randomName('evident_obl_');
  const db = kind === 'sqlite' ? join(dir, 'audit.db') : `${PG_URL}?schema=${pgSchema}`;
  const store = await openStore(db);
  for (const name of LOGS) await createLog(store, { name, origin: `outbox.test/${name}`, signer: ring });
  const ledgers = new Map<string, Promise<Ledger>>();
  const side: LedgerSide = {
    kind,
    db,
    keyPath,
    dir,
    ring,
    store,
    ledgerFor: (log) => {
      let l = ledgers.get(log);
      if (!l) {
        l = Ledger.open({ store, log, signer: ring, ownsStore: false });
        ledgers.set(log, l);
        l.catch(() => ledgers.delete(log));
      }
      return l;
    },
    closeLedgers: async () => {
      for (const l of ledgers.values()) await (await l.catch(() => undefined))?.close();
      ledgers.clear();
    },
    entries: async (log) => {
      const info = await store.getLog(log);
      assert.ok(info, `no log ${log}`);
      const all = await store.entries(info.id, 0, Number.MAX_SAFE_INTEGER, 1_000_000);
      return all as unknown as Record<string, unknown>[];
    },
    close: async () => {
      for (const l of ledgers.values()) await (await l.catch(() => undefined))?.close();
      ledgers.clear();
      await store.close();
      if (kind === 'postgres') await dropSchema(pgSchema);
      rmSync(dir, { recursive: true, force: true });
    },
  };
  return side;
}

/** A patient event, as an application would write it. */
export function patientEvent(i: number, overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    actor_id: `nurse-${i % 7}`,
    actor_type: 'user',
    action: 'update',
    resource_type: 'patient_record',
    resource_id: `p-${i}`,
    result: 'success',
    ip_address: `10.1.${i % 256}.${(i * 3) % 256}`,
    changed_fields: ['name'],
    new_values: { name: `Patient ${i}` },
    ...overrides,
  };
}

/**
 * The application's unit of work: update a patient and record its audit event in one
 * transaction; `fail` rolls it back after both writes. Resolves with the event's id (committed)
 * or undefined (rolled back).
 */
export async function updatePatient(
  app: AppDb,
  i: number,
  o: { fail?: boolean; log?: string; event?: Record<string, unknown> } = {},
): Promise<string | undefined> {
  const client = await app.pool.connect();
  try {
    await client.query('BEGIN');
    await client.query(
      `INSERT INTO "${app.schema}".patients (id, name, updated_by) VALUES ($1, $2, $3)
         ON CONFLICT (id) DO UPDATE SET name = EXCLUDED.name, updated_by = EXCLUDED.updated_by`,
      [`p-${i}`, `Patient ${i}`, `nurse-${i % 7}`],
    );
    const { id } = await recordInTransaction(client, o.event ?? patientEvent(i), {
      log: o.log ?? 'default',
      schema: app.schema,
    });
    if (o.fail) throw new Error('business rule failed');
    await client.query('COMMIT');
    return id;
  } catch (e) {
    await client.query('ROLLBACK');
    if (o.fail && (e as Error).message === 'business rule failed') return undefined;
    throw e;
  } finally {
    client.release();
  }
}

/** Asserts each id once in `entries`, and nothing else there. */
export function assertExactly(entries: readonly Record<string, unknown>[], ids: readonly string[]): void {
  const seen = entries.map((e) => e['id'] as string);
  assert.equal(new Set(seen).size, seen.length, 'an event is in the log twice');
  assert.deepEqual([...seen].sort(), [...ids].sort());
}
