/**
 * The limit row: what the database itself does with evident's rows. The same `entries` rows
 * (same columns, same indexes, same triggers: a store made by evident's own migrations) inserted
 * by a bare loop in transactions of C rows, with no validation, no hashing and no tree, and the
 * same durability settings (SQLite WAL with synchronous=FULL; PostgreSQL autocommit with the
 * server's fsync and synchronous_commit). Hash columns hold 64 hex digits, as evident's do.
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import pg from 'pg';
import { createKeyFile, createLog, openStore } from '../src/ledger/index.ts';
import { ENTRY_COLUMNS } from '../src/store/rows.ts';
import type { IngestResult } from './ingest.ts';
import { dropSchema, freshSchemaName, PG_URL, schemaBytes, urlForSchema } from './pg.ts';
import type { StorageResult } from './storage.ts';
import { latencySummary, progress, type StoreKind, sampleEvent } from './support.ts';

type Row = (string | number | null)[];

/** A row of `entries` for sample event i at index i, in ENTRY_COLUMNS order. */
export function bareRow(i: number, event: Record<string, unknown> = sampleEvent(i)): Row {
  const now = new Date().toISOString();
  const hex = (x: number) => x.toString(16).padStart(64, '0');
  const v: Record<string, unknown> = {
    ...event,
    idx: i,
    id: randomUUID(),
    timestamp: (event['timestamp'] as string | undefined) ?? now,
    received_at: now,
    prev_hash: i === 0 ? 'GENESIS' : hex(i - 1),
    hash: hex(i),
  };
  return ENTRY_COLUMNS.map((c) => {
    const x = v[c];
    if (x === undefined) return null;
    return typeof x === 'object' ? JSON.stringify(x) : (x as string | number);
  });
}

interface BareTarget {
  /** Inserts rows as one durable transaction. */
  insert(rows: Row[]): Promise<void>;
  bytes(): Promise<Record<string, number>>;
  dispose(): Promise<void>;
}

async function sqliteTarget(): Promise<BareTarget> {
  const dir = mkdtempSync(join(tmpdir(), 'evident-bare-'));
  const file = join(dir, 'bare.db');
  const store = await openStore(file);
  await createLog(store, {
    name: 'default',
    origin: 'bench.local/default',
    signer: await createKeyFile(join(dir, 'k'), 'bench.local/default'),
  });
  await store.close();
  const db = new Database(file);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = FULL');
  const ins = db.prepare(
    `INSERT INTO entries (log_id, ${ENTRY_COLUMNS.join(', ')}) VALUES (1, ${ENTRY_COLUMNS.map(() => '?').join(', ')})`,
  );
  const tx = db.transaction((rows: Row[]) => {
    for (const r of rows) ins.run(r);
  });
  return {
    async insert(rows) {
      tx.immediate(rows);
    },
    async bytes() {
      db.pragma('wal_checkpoint(TRUNCATE)');
      const { statSync, existsSync } = await import('node:fs');
      const size = (f: string) => (existsSync(f) ? statSync(f).size : 0);
      return { file: size(file), wal: size(`${file}-wal`) };
    },
    async dispose() {
      db.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

async function postgresTarget(): Promise<BareTarget> {
  const schema = freshSchemaName('bare');
  const dir = mkdtempSync(join(tmpdir(), 'evident-bare-'));
  try {
    const store = await openStore(urlForSchema(schema));
    await createLog(store, {
      name: 'default',
      origin: 'bench.local/default',
      signer: await createKeyFile(join(dir, 'k'), 'bench.local/default'),
    });
    await store.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const client = new pg.Client({ connectionString: PG_URL });
  await client.connect();
  const types = ENTRY_COLUMNS.map((c) => (c === 'idx' ? 'bigint[]' : 'text[]'));
  // One statement, autocommit: one round trip and one WAL flush per transaction.
  const text = `INSERT INTO "${schema}".entries (log_id, ${ENTRY_COLUMNS.map((c) => `"${c}"`).join(', ')})
    SELECT 1, * FROM unnest(${types.map((t, i) => `$${i + 1}::${t}`).join(', ')})`;
  return {
    async insert(rows) {
      await client.query({
        name: 'bare_insert',
        text,
        values: ENTRY_COLUMNS.map((_, c) => rows.map((r) => r[c])),
      });
    },
    bytes: () => schemaBytes(schema),
    async dispose() {
      await client.end();
      await dropSchema(schema);
    },
  };
}

const target = (store: StoreKind) => (store === 'postgres' ? postgresTarget() : sqliteTarget());

/**
 * `events` rows in transactions of `concurrency` rows, one after the other; each row's latency
 * is its transaction's (every row of it is acknowledged at its commit).
 */
export async function benchBare(
  store: StoreKind,
  concurrency: number,
  events: number,
): Promise<IngestResult> {
  const t = await target(store);
  try {
    const latencies: number[] = [];
    const start = performance.now();
    for (let i = 0; i < events; ) {
      const t0 = performance.now();
      const rows: Row[] = [];
      for (const end = Math.min(events, i + concurrency); i < end; i++) rows.push(bareRow(i));
      await t.insert(rows);
      const ms = performance.now() - t0;
      for (let k = 0; k < rows.length; k++) latencies.push(ms);
      if (i % 5000 < concurrency) progress(`${store} bare c=${concurrency}: ${i}/${events}`);
    }
    const seconds = (performance.now() - start) / 1000;
    return {
      store,
      system: 'bare',
      concurrency,
      events,
      events_per_s: Math.round(events / seconds),
      ...latencySummary(latencies),
      chain_ok: true,
    };
  } finally {
    await t.dispose();
  }
}

/** Bytes per entry of `entries` bare rows (as the storage section's log: `event(i)` for i < entries). */
export async function bareStorage(
  store: StoreKind,
  entries: number,
  event: (i: number) => Record<string, unknown>,
  chunk = 20_000,
): Promise<StorageResult> {
  const t = await target(store);
  try {
    for (let i = 0; i < entries; ) {
      const rows: Row[] = [];
      for (const end = Math.min(entries, i + chunk); i < end; i++) rows.push(bareRow(i, event(i)));
      await t.insert(rows);
      progress(`${store} bare storage: ${i}/${entries}`);
    }
    const parts = await t.bytes();
    const bytes = Object.values(parts).reduce((a, b) => a + b, 0);
    return { store, system: 'bare', entries, bytes, bytes_per_entry: Math.round(bytes / entries), parts };
  } finally {
    await t.dispose();
  }
}
