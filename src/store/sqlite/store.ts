/**
 * The embedded default store: one SQLite file, WAL journal, synchronous=FULL, so a commit
 * has reached the disk before `write` resolves. Writes from every process are serialised by
 * SQLite's write lock (BEGIN IMMEDIATE), taken before the log head is read: two processes on
 * one file can never fork a chain.
 */
import { chmodSync, closeSync, existsSync, fdatasync, openSync } from 'node:fs';
import { resolve } from 'node:path';
import type BetterSqlite3 from 'better-sqlite3';
import { fromHex } from '../../core/bytes.ts';
import { ErrorCode, EvidentError } from '../../core/errors.ts';
import type { Entry } from '../../core/event/entry.ts';
import type { ErasableField } from '../../core/event/schema.ts';
import { completedNodes, type LevelRange, type NodeId } from '../../core/merkle/index.ts';
import { loadPeer } from '../../core/peers.ts';
import { nodeTile } from '../../core/tlog/tile-path.ts';
import { type AlertRow, alertFromRow } from '../alert-row.ts';
import { timestampSeconds } from '../rows.ts';
import type { SchemaCheck } from '../schema-drift.ts';
import {
  type ApiKeyRow,
  type CheckpointRow,
  type LogRow,
  toApiKey,
  toCheckpoint,
  toHead,
  toLogInfo,
} from '../table-rows.ts';
import type {
  AlertDelivery,
  AlertStore,
  ApiKeyRecord,
  ApiKeyStore,
  CosignatureStore,
  EntryFilter,
  Erasure,
  FailureCount,
  LogHead,
  LogInfo,
  NodeHash,
  PreparedAppend,
  PrunedRange,
  Store,
  StoredAlert,
  StoredCheckpoint,
  StoredCosignature,
  StoredIntent,
  WitnessedCheckpoint,
  WitnessedLog,
  WitnessStore,
  WitnessTx,
  WriteOptions,
  WriteTx,
} from '../types.ts';
import { appendRows, commitIfHead, insertRows, writeDurably } from './append-at.ts';
import { AppendWorker } from './appender.ts';
import { BACKSTOP_CHECKPOINT_PAGES, type CheckpointStats, WalCheckpointer } from './checkpointer.ts';
import { COLS, type Prepare, querySql, readEntries, TIME } from './entry-reads.ts';
import { missingNode, storeError } from './errors.ts';
import { checkContents, type OpenChecks } from './identify.ts';
import { checkVersion, migrate } from './migrations.ts';
import { sqliteSchemaCheck } from './schema-check.ts';

type Db = BetterSqlite3.Database;

export interface SqliteStoreOptions extends OpenChecks {
  /**
   * How long a writer waits for another process's write lock, in ms (default 10 s), then
   * STORE_BUSY. The wait is asynchronous (see beginImmediate): the event loop keeps running.
   */
  busyTimeoutMs?: number;
  readonly?: boolean;
  /**
   * SQLite's page cache per connection, in KiB (default better-sqlite3's, 16,000). A reader
   * that scans the file once (a verification worker) gains nothing from a large one.
   */
  cacheKiB?: number;
}

/** fsyncs of the WAL in flight at once (syncWal). */
const MAX_SYNCS = 2;

/** The longest wait between two tries for the write lock (beginImmediate). */
const MAX_LOCK_PAUSE_MS = 8;

export async function openSqliteStore(path: string, options: SqliteStoreOptions = {}): Promise<SqliteStore> {
  // A native module: it can also fail to load when built for another Node version.
  const Database = (await loadPeer('better-sqlite3', 'the SQLite store', () => import('better-sqlite3')))
    .default;
  const busy = options.busyTimeoutMs ?? 10_000;
  const missing = path !== ':memory:' && !existsSync(path);
  if (missing && (options.readonly || options.create === false)) {
    throw new EvidentError(ErrorCode.STORE_NOT_INITIALIZED, `no evident store at ${path}: run evident init`, {
      path,
    });
  }
  const created = !options.readonly && missing;
  const db = new Database(path, {
    readonly: options.readonly ?? false,
    fileMustExist: options.readonly ?? false,
  });
  db.pragma(`busy_timeout = ${busy}`);
  try {
    // Before anything is written: refuse another application's database, or a file init never made.
    checkContents(db, path, options.readonly ? { create: false } : options);
    if (options.readonly) checkVersion(db, path);
  } catch (e) {
    db.close();
    throw e;
  }
  // Audit data is personal data: a new database is readable by its owner only. SQLite gives its
  // -wal and -shm files the database file's permissions.
  if (created) chmodSync(path, 0o600);
  if (!options.readonly) {
    db.pragma('journal_mode = WAL');
    writeDurably(db);
    migrate(db);
  }
  const reader = new Database(path, { readonly: true, fileMustExist: true });
  reader.pragma(`busy_timeout = ${busy}`);
  if (options.cacheKiB !== undefined) {
    const kib = options.cacheKiB;
    if (!Number.isSafeInteger(kib) || kib < 0)
      throw new RangeError('cacheKiB must be a non-negative integer');
    for (const c of [db, reader]) c.pragma(`cache_size = -${kib}`);
  }
  return new SqliteStore(
    db,
    reader,
    busy,
    // Absolute: the checkpoint worker opens the file by it, whatever the working directory is then.
    path === ':memory:' || options.readonly ? undefined : `${resolve(path)}-wal`,
  );
}

const NODES_PER_STATEMENT = 32;
const nodeQueries: string[] = [];

/** One statement reading `k` inner nodes, each row tagged with its place in the request. */
function nodesQuery(k: number): string {
  nodeQueries[k] ??= Array.from(
    { length: k },
    (_, j) =>
      `SELECT ${j}, hash FROM tree_nodes WHERE log_id = ? AND tile_level = ? AND tile_index = ? AND level = ? AND idx = ?`,
  ).join(' UNION ALL ');
  return nodeQueries[k];
}

export class SqliteStore implements Store, ApiKeyStore, CosignatureStore, WitnessStore, AlertStore {
  readonly kind = 'sqlite' as const;
  private queue: Promise<unknown> = Promise.resolve();
  private closed = false;
  private erasedInTx = false;
  private readonly statements = new Map<Db, Map<string, BetterSqlite3.Statement>>();

  /** The WAL file, fsynced by this store itself after a pipelined commit (runWrite). */
  private walFd: number | undefined;
  /** The fsyncs of the WAL under way, and the one queued to start when one of them ends. */
  private syncs = 0;
  private readonly inSync = new Set<Promise<void>>();
  private syncNext: Promise<void> | undefined;
  private readonly syncWaiters: (() => void)[] = [];
  /** Set when an fsync of the WAL failed: what was written since is not known to be on disk. */
  private syncFailed: EvidentError | undefined;
  /** Checkpoints in a worker thread, started by the first pipelined commit (./checkpointer.ts). */
  private checkpointer: WalCheckpointer | undefined;
  /** Writes pipelined appends in a thread of its own, started by the first (./appender.ts). */
  private appender: AppendWorker | undefined;
  /** Batches written by append threads that have ended. */
  private threadAppends = 0;

  constructor(
    private readonly db: Db,
    private readonly reader: Db,
    private readonly busyTimeoutMs = 10_000,
    /** The WAL file's path; without it (`:memory:`) every commit is synchronous. */
    private readonly walPath?: string,
  ) {}

  /** A prepared statement on the writer, cached: preparing costs more than running. */
  private stmt(sql: string, db: Db = this.db): BetterSqlite3.Statement {
    let cache = this.statements.get(db);
    if (!cache) {
      cache = new Map();
      this.statements.set(db, cache);
    }
    let st = cache.get(sql);
    if (!st) {
      st = db.prepare(sql);
      cache.set(sql, st);
    }
    return st;
  }

  private rstmt(sql: string): BetterSqlite3.Statement {
    return this.stmt(sql, this.reader);
  }

  private readonly prepareWriter: Prepare = (sql) => this.stmt(sql, this.db);
  private readonly prepareReader: Prepare = (sql) => this.stmt(sql, this.reader);

  /** The writer connection, for tests and tools that need raw access. */
  get database(): Db {
    return this.db;
  }

  async createLog(spec: Omit<LogInfo, 'id' | 'createdAt'>): Promise<LogInfo> {
    const createdAt = new Date().toISOString();
    this.db
      .prepare('INSERT INTO logs (name, origin, vkey, erasable, created_at) VALUES (?, ?, ?, ?, ?)')
      .run(spec.name, spec.origin, spec.vkey, JSON.stringify(spec.erasable), createdAt);
    return (await this.getLog(spec.name))!;
  }

  async getLog(name: string): Promise<LogInfo | undefined> {
    const r = this.reader.prepare('SELECT * FROM logs WHERE name = ?').get(name) as LogRow | undefined;
    return r && toLogInfo(r);
  }

  async listLogs(): Promise<LogInfo[]> {
    return (this.reader.prepare('SELECT * FROM logs ORDER BY log_id').all() as LogRow[]).map(toLogInfo);
  }

  /** The background checkpoints so far; undefined until the first pipelined commit. */
  get walCheckpoints(): Readonly<CheckpointStats> | undefined {
    return this.checkpointer?.stats;
  }

  /** Batches written by the append thread (./appender.ts), for tests and metrics. */
  get appendsInThread(): number {
    return this.threadAppends + (this.appender?.written ?? 0);
  }

  /** A file store pipelines its commits; `:memory:` commits each one synchronously. */
  get pipelines(): boolean {
    return this.walPath !== undefined;
  }

  write<T>(logId: number, fn: (tx: WriteTx) => Promise<T>, options: WriteOptions = {}): Promise<T> {
    // One write transaction at a time on this connection; other processes wait on the file lock.
    // The queue moves on at COMMIT; a pipelined write resolves later, once its fsync is done.
    const run = this.queue.then(() => this.runWrite(logId, fn, options));
    this.queue = run.catch(() => undefined);
    return run.then(async (r) => {
      if (r.durable) await r.durable;
      return r.result;
    });
  }

  /**
   * One write transaction. Plain, it commits with synchronous=FULL: SQLite fsyncs the WAL
   * before the commit is visible or COMMIT returns. Pipelined (options.pipeline), it commits
   * with synchronous=NORMAL (WAL frames written, not yet fsynced: the event loop is not blocked
   * by the disk) and the caller waits for `durable`, an fdatasync of the WAL file started after
   * this COMMIT returned, run on libuv's thread pool while the next transaction is prepared and
   * written. WAL frames are checksummed in sequence: after a crash SQLite keeps a prefix of the
   * committed transactions, so a transaction can be lost only with all that followed it, and
   * none of them was acknowledged. Checkpoints of the WAL into the database are synchronous in
   * both modes (SQLite fsyncs the WAL before and the database after).
   */
  private async runWrite<T>(
    logId: number,
    fn: (tx: WriteTx) => Promise<T>,
    options: WriteOptions,
  ): Promise<{ result: T; durable?: Promise<void> }> {
    if (this.closed) throw new EvidentError(ErrorCode.LEDGER_CLOSED, 'store is closed');
    if (this.syncFailed) throw this.syncFailed;
    const pipelined = options.pipeline !== undefined && this.walPath !== undefined;
    try {
      await this.beginImmediate(pipelined);
      try {
        this.erasedInTx = false;
        const result = await fn(this.tx(logId));
        this.stmt('COMMIT').run();
        // Erased values may still sit in WAL frames: copy the WAL back into the (secure_delete)
        // database and empty it, so the values leave the disk now (best effort: a reader in
        // another process can hold old frames until it moves on).
        if (this.erasedInTx) this.db.pragma('wal_checkpoint(TRUNCATE)');
        if (!pipelined) return { result };
        options.pipeline!.committed();
        this.backgroundCheckpoints().nudge();
        return { result, durable: this.syncWal() };
      } catch (e) {
        if (this.db.inTransaction) this.stmt('ROLLBACK').run();
        throw e instanceof EvidentError ? e : storeError(e);
      }
    } finally {
      // Every other write on this connection (logs, API keys) commits synchronously.
      if (pipelined) this.stmt('PRAGMA synchronous = FULL').run();
    }
  }

  /** The database file, absolute (file stores only: from the WAL's path). */
  private get file(): string {
    return this.walPath!.slice(0, -'-wal'.length);
  }

  /** The checkpointer, started on first use (a busy writer). */
  private backgroundCheckpoints(): WalCheckpointer {
    this.checkpointer ??= new WalCheckpointer(this.file, (pages) =>
      this.db.pragma(`wal_autocheckpoint = ${pages}`),
    );
    return this.checkpointer;
  }

  /**
   * Store.appendAt. Pipelined (a ledger with more to seal meanwhile), the batch goes to the
   * append thread and `committed` is called at once: the ledger seals the next batch on the head
   * this one leaves while the thread writes this one, and hands it over behind it (./appender.ts).
   * Otherwise it is written here, on the store's own connection, in the queue of its writes: for
   * one caller a hop to another thread and back would only add to the latency.
   */
  appendAt(
    logId: number,
    expected: LogHead,
    append: PreparedAppend,
    options: WriteOptions = {},
  ): Promise<boolean> {
    if (this.closed) return Promise.reject(new EvidentError(ErrorCode.LEDGER_CLOSED, 'store is closed'));
    if (this.syncFailed) return Promise.reject(this.syncFailed);
    if (options.pipeline && this.walPath !== undefined) {
      const checkpoints = this.backgroundCheckpoints();
      if (this.appender?.failed) {
        this.threadAppends += this.appender.written;
        this.appender = undefined;
      }
      this.appender ??= new AppendWorker({
        path: this.file,
        busyTimeoutMs: this.busyTimeoutMs,
        autocheckpointPages: BACKSTOP_CHECKPOINT_PAGES,
      });
      const written = this.appender.append(
        logId,
        expected,
        appendRows(append.entries, append.nodes, append.head),
      );
      options.pipeline.committed();
      return written.then((w) => {
        checkpoints.nudge();
        return w;
      });
    }
    const run = this.queue.then(() => this.appendHere(logId, expected, append));
    this.queue = run.catch(() => undefined);
    return run;
  }

  /** Store.appendAt on the store's own connection: one durable transaction (synchronous=FULL). */
  private async appendHere(logId: number, expected: LogHead, append: PreparedAppend): Promise<boolean> {
    if (this.closed) throw new EvidentError(ErrorCode.LEDGER_CLOSED, 'store is closed');
    if (this.syncFailed) throw this.syncFailed;
    // Made before the write lock is taken: nothing in them depends on what is stored.
    const rows = appendRows(append.entries, append.nodes, append.head);
    await this.beginImmediate();
    try {
      return commitIfHead(this.db, this.prepareWriter, logId, expected, rows);
    } catch (e) {
      throw e instanceof EvidentError ? e : storeError(e);
    }
  }

  /**
   * Resolves once an fdatasync of the WAL that started after this call has completed. Up to
   * MAX_SYNCS run at once (the file system joins them in one journal commit where it can: a
   * commit made while another's fsync runs need not wait for it to end); past that, the commits
   * made meanwhile share the next one (group fsync). A failed fsync fails every write after it
   * too (STORE_FAILED): what the kernel dropped cannot be told apart from what it kept.
   */
  private syncWal(): Promise<void> {
    if (this.syncs < MAX_SYNCS) return this.startSync();
    this.syncNext ??= new Promise<void>((resolve, reject) => {
      this.syncWaiters.push(() => {
        this.syncNext = undefined;
        this.startSync().then(resolve, reject);
      });
    });
    return this.syncNext;
  }

  private startSync(): Promise<void> {
    this.syncs++;
    const run = this.fdatasyncWal().finally(() => {
      this.syncs--;
      this.inSync.delete(run);
      this.syncWaiters.shift()?.();
    });
    this.inSync.add(run);
    return run;
  }

  private fdatasyncWal(): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      if (this.syncFailed) return reject(this.syncFailed);
      try {
        this.walFd ??= openSync(this.walPath!, 'r');
      } catch (e) {
        return reject(storeError(e));
      }
      fdatasync(this.walFd, (e) => {
        if (!e) return resolve();
        this.syncFailed = new EvidentError(
          ErrorCode.STORE_FAILED,
          `could not make the database durable (fsync of the WAL failed: ${e.code ?? e.message}); reopen the store`,
          { cause: e.code ?? 'fsync' },
        );
        reject(this.syncFailed);
      });
    });
  }

  /**
   * Takes the write lock without blocking the event loop. better-sqlite3 is synchronous: with a
   * busy timeout, BEGIN IMMEDIATE would sleep inside SQLite's busy handler and freeze the whole
   * process while another process holds the lock. So each attempt runs with busy_timeout 0 and
   * the waits between attempts are timers (backoff 1 ms doubling to 8 ms, with jitter), until
   * `busyTimeoutMs`; then STORE_BUSY with `retry_after_ms`. The short cap keeps two writing
   * processes fair: the lock is free only between one's COMMIT and its next BEGIN, and a waiter
   * that slept 50 ms at a time missed those windows for whole runs. Other statements keep the
   * connection's timeout: once the write lock is held, WAL readers and COMMIT do not wait on it.
   */
  private async beginImmediate(pipelined = false): Promise<void> {
    const deadline = Date.now() + this.busyTimeoutMs;
    let pause = 1;
    for (;;) {
      let busy: EvidentError;
      this.stmt('PRAGMA busy_timeout = 0').get();
      // The safety level is set outside a transaction, and only for as long as this one lasts.
      if (pipelined) this.stmt('PRAGMA synchronous = NORMAL').run();
      try {
        this.stmt('BEGIN IMMEDIATE').run();
        return;
      } catch (e) {
        if (pipelined) this.stmt('PRAGMA synchronous = FULL').run();
        busy = storeError(e);
        if (busy.code !== ErrorCode.STORE_BUSY) throw busy;
      } finally {
        this.stmt(`PRAGMA busy_timeout = ${this.busyTimeoutMs}`).get();
      }
      if (Date.now() >= deadline) {
        throw new EvidentError(ErrorCode.STORE_BUSY, busy.message, {
          ...busy.details,
          waited_ms: this.busyTimeoutMs,
          retry_after_ms: 1000,
        });
      }
      const wait = pause / 2 + Math.random() * (pause / 2);
      await new Promise((r) => setTimeout(r, Math.min(wait, Math.max(1, deadline - Date.now()))));
      pause = Math.min(pause * 2, MAX_LOCK_PAUSE_MS);
    }
  }

  private tx(logId: number): WriteTx {
    const db = this.db;
    return {
      head: async () =>
        toHead(this.stmt('SELECT size, last_hash, frontier FROM logs WHERE log_id = ?').get(logId) as LogRow),
      lastIndex: async () =>
        (this.stmt('SELECT MAX(idx) FROM entries WHERE log_id = ?').pluck().get(logId) as number | null) ??
        undefined,
      lastCheckpoint: async () => {
        const r = this.stmt('SELECT * FROM checkpoints WHERE log_id = ? ORDER BY size DESC LIMIT 1').get(
          logId,
        ) as CheckpointRow | undefined;
        return r && toCheckpoint(r);
      },
      entriesById: async (ids) => {
        const found = new Map<string, Entry>();
        const sql = `SELECT ${COLS} FROM entries WHERE log_id = ? AND id = ?`;
        for (const id of ids) {
          const e = readEntries(this.prepareWriter, logId, sql, [logId, id])[0];
          if (e) found.set(id, e);
        }
        return found;
      },
      nodes: async (ids) => this.readNodes(db, logId, ids),
      insertEntries: async (entries, nodes, head) =>
        insertRows(this.prepareWriter, logId, appendRows(entries, nodes, head)),
      insertCheckpoint: async (cp) => {
        this.stmt(
          'INSERT INTO checkpoints (log_id, size, root, note, created_at) VALUES (?, ?, ?, ?, ?)',
        ).run(logId, cp.size, cp.root, cp.note, cp.createdAt);
      },
      erase: async (erasures) => {
        const rec = this.stmt('INSERT INTO erasures (log_id, idx, field, erasure_idx) VALUES (?, ?, ?, ?)');
        const del = this.stmt('DELETE FROM entry_secrets WHERE log_id = ? AND idx = ? AND field = ?');
        for (const x of erasures) {
          rec.run(logId, x.index, x.field, x.erasureIndex);
          del.run(logId, x.index, x.field);
        }
        this.erasedInTx = erasures.length > 0;
      },
      prune: async (r) => {
        this.stmt(
          'INSERT INTO pruned_ranges (log_id, first_idx, last_idx, prune_idx) VALUES (?, ?, ?, ?)',
        ).run(logId, r.first, r.last, r.pruneIndex);
        this.stmt(
          'INSERT INTO pruned_leaves (log_id, idx, hash) SELECT log_id, idx, hash FROM entries WHERE log_id = ? AND idx BETWEEN ? AND ?',
        ).run(logId, r.first, r.last);
        this.stmt('DELETE FROM entry_secrets WHERE log_id = ? AND idx BETWEEN ? AND ?').run(
          logId,
          r.first,
          r.last,
        );
        const n = this.stmt('DELETE FROM entries WHERE log_id = ? AND idx BETWEEN ? AND ?').run(
          logId,
          r.first,
          r.last,
        ).changes;
        this.erasedInTx = true; // the values leave the disk now too (secure_delete, WAL truncated)
        return n;
      },
      putIntent: async (i) => {
        this.stmt('INSERT INTO intents (log_id, id, event, owner, created_at) VALUES (?, ?, ?, ?, ?)').run(
          logId,
          i.id,
          i.event,
          i.owner,
          i.createdAt,
        );
      },
      retireIntents: async (ids) => {
        const del = this.stmt('DELETE FROM intents WHERE log_id = ? AND id = ?');
        for (const id of ids) del.run(logId, id);
      },
    };
  }

  async prunedRanges(logId: number): Promise<PrunedRange[]> {
    const rows = this.rstmt(
      'SELECT first_idx, last_idx, prune_idx FROM pruned_ranges WHERE log_id = ? ORDER BY first_idx',
    ).all(logId) as { first_idx: number; last_idx: number; prune_idx: number }[];
    return rows.map((r) => ({ first: r.first_idx, last: r.last_idx, pruneIndex: r.prune_idx }));
  }

  async intents(logId: number): Promise<StoredIntent[]> {
    const rows = this.rstmt(
      'SELECT id, event, owner, created_at FROM intents WHERE log_id = ? ORDER BY created_at, id',
    ).all(logId) as { id: string; event: string; owner: string; created_at: string }[];
    return rows.map((r) => ({ id: r.id, event: r.event, owner: r.owner, createdAt: r.created_at }));
  }

  async head(logId: number): Promise<LogHead> {
    const r = this.rstmt('SELECT size, last_hash, frontier FROM logs WHERE log_id = ?').get(logId) as
      | LogRow
      | undefined;
    if (!r) throw new EvidentError(ErrorCode.NOT_FOUND, `no log with id ${logId}`);
    return toHead(r);
  }

  async entries(logId: number, from: number, to: number, limit: number): Promise<Entry[]> {
    return readEntries(
      this.prepareReader,
      logId,
      `SELECT ${COLS} FROM entries WHERE log_id = ? AND idx >= ? AND idx < ? ORDER BY idx LIMIT ?`,
      [logId, from, to, limit],
    );
  }

  async entryById(logId: number, id: string): Promise<Entry | undefined> {
    const sql = `SELECT ${COLS} FROM entries WHERE log_id = ? AND id = ?`;
    return readEntries(this.prepareReader, logId, sql, [logId, id])[0];
  }

  async query(logId: number, f: EntryFilter): Promise<Entry[]> {
    const { sql, args } = querySql(f);
    return readEntries(this.prepareReader, logId, sql, [logId, ...args]);
  }

  async failuresByActor(logId: number, since: string, minFailures: number): Promise<FailureCount[]> {
    const rows = this.rstmt(
      `SELECT actor_id, COUNT(*) AS failures, MAX(${TIME}) AS last_s FROM entries
         WHERE log_id = ? AND result <> 'success' AND ${TIME} >= ?
         GROUP BY actor_id HAVING COUNT(*) > ? ORDER BY failures DESC, actor_id`,
    ).all(logId, timestampSeconds(since), minFailures) as {
      actor_id: string;
      failures: number;
      last_s: number;
    }[];
    return rows.map((r) => ({
      actor_id: r.actor_id,
      failures: r.failures,
      last_timestamp: new Date(Math.round(r.last_s * 1000)).toISOString(),
    }));
  }

  async nodes(logId: number, ids: NodeId[]): Promise<Uint8Array[]> {
    return this.readNodes(this.reader, logId, ids);
  }

  async nodesCompleted(logId: number, from: number, to: number): Promise<NodeHash[]> {
    // Raw rows, and each blob as the Buffer SQLite handed out (a Uint8Array of its own): a
    // verifier reads every node of the log through here. Rows are kept by tile: a level whose
    // wanted indexes lie in one tile is one key range of exactly those rows; the levels that
    // span several tiles of one tile level (the lowest, in a window of thousands of leaves)
    // share one range over those tiles, and the few rows of its end tiles outside the wanted
    // indexes are left out here (a range per level would read the same tiles once per level).
    const span = this.rstmt(
      'SELECT level, idx, hash FROM tree_nodes WHERE log_id = ? AND tile_level = ? AND tile_index >= ? AND tile_index <= ?',
    );
    const out: NodeHash[] = [];
    const wanted = new Map<number, LevelRange>();
    const spans = new Map<number, [lo: number, hi: number]>();
    for (const r of completedNodes(from, to)) {
      const [tl, lo] = nodeTile(r.level, r.first);
      const hi = nodeTile(r.level, r.last)[1];
      if (lo === hi) {
        for (const [index, hash] of this.levelRows(logId, r.level, r.first, r.last))
          out.push({ level: r.level, index, hash });
        continue;
      }
      wanted.set(r.level, r);
      const s = spans.get(tl);
      spans.set(tl, s ? [Math.min(s[0], lo), Math.max(s[1], hi)] : [lo, hi]);
    }
    for (const [tl, [lo, hi]] of spans) {
      for (const [level, index, hash] of span.raw(true).all(logId, tl, lo, hi) as [
        number,
        number,
        Uint8Array,
      ][]) {
        const r = wanted.get(level);
        if (r && index >= r.first && index <= r.last) out.push({ level, index, hash });
      }
    }
    return out;
  }

  async nodeRange(logId: number, level: number, from: number, to: number): Promise<Uint8Array[]> {
    // Level 0 is the entry's own hash (hex); above, the stored nodes: one range on a primary key
    // each, within one tile (a C2SP tile's hashes) or over the tiles the range spans.
    if (to <= from) return [];
    const rows: [number, string | Uint8Array][] =
      level === 0
        ? (this.rstmt('SELECT idx, hash FROM entries WHERE log_id = ? AND idx >= ? AND idx < ? ORDER BY idx')
            .raw(true)
            .all(logId, from, to) as [number, string][])
        : this.levelRows(logId, level, from, to - 1);
    const out: Uint8Array[] = [];
    for (const [idx, h] of rows) {
      if (idx !== from + out.length) break;
      out.push(typeof h === 'string' ? fromHex(h) : new Uint8Array(h));
    }
    return out;
  }

  /**
   * The stored nodes of one level (above 0) with first <= index <= last, in index order: one key
   * range, exact when they lie in one tile; over several tiles SQLite reads their other levels'
   * rows too and leaves them out (a range on tile_index ends the key's use for seeking).
   */
  private levelRows(logId: number, level: number, first: number, last: number): [number, Uint8Array][] {
    const [tl, lo] = nodeTile(level, first);
    const hi = nodeTile(level, last)[1];
    const rows =
      lo === hi
        ? this.rstmt(
            'SELECT idx, hash FROM tree_nodes WHERE log_id = ? AND tile_level = ? AND tile_index = ? AND level = ? AND idx >= ? AND idx <= ? ORDER BY idx',
          )
            .raw(true)
            .all(logId, tl, lo, level, first, last)
        : this.rstmt(
            'SELECT idx, hash FROM tree_nodes WHERE log_id = ? AND tile_level = ? AND tile_index >= ? AND tile_index <= ? AND level = ? AND idx >= ? AND idx <= ? ORDER BY idx',
          )
            .raw(true)
            .all(logId, tl, lo, hi, level, first, last);
    return rows as [number, Uint8Array][];
  }

  /**
   * The hashes of `ids`, in order. Inner nodes are read NODES_PER_STATEMENT to a statement: each
   * call into SQLite costs a few microseconds of its own, as much as the lookup, and a proof at
   * 1M entries asks for about 24 nodes (one statement instead of 24: 1.5x less time reading them).
   */
  private readNodes(db: Db, logId: number, ids: NodeId[]): Uint8Array[] {
    const leaf = this.stmt('SELECT hash FROM entries WHERE log_id = ? AND idx = ?', db).pluck();
    // A pruned entry's leaf hash stays (level 0 of the tree): proofs that reach it still verify.
    const pruned = this.stmt('SELECT hash FROM pruned_leaves WHERE log_id = ? AND idx = ?', db).pluck();
    const out: (Uint8Array | undefined)[] = new Array(ids.length);
    const inner: number[] = [];
    for (let i = 0; i < ids.length; i++) {
      const n = ids[i]!;
      if (n.level > 0) inner.push(i);
      else {
        const h = (leaf.get(logId, n.index) ?? pruned.get(logId, n.index)) as string | undefined;
        if (h !== undefined) out[i] = fromHex(h);
      }
    }
    for (let from = 0; from < inner.length; from += NODES_PER_STATEMENT) {
      const part = inner.slice(from, from + NODES_PER_STATEMENT);
      const args: number[] = [];
      for (const i of part) {
        const { level, index } = ids[i]!;
        args.push(logId, ...nodeTile(level, index), level, index);
      }
      const rows = this.stmt(nodesQuery(part.length), db)
        .raw()
        .all(...args) as [number, Uint8Array][];
      // a plain Uint8Array over the Buffer SQLite handed out (its own memory): no copy
      for (const [k, hash] of rows)
        out[part[k]!] = new Uint8Array(hash.buffer, hash.byteOffset, hash.byteLength);
    }
    return ids.map((n, i) => {
      const h = out[i];
      if (h === undefined) throw missingNode(n);
      return h;
    });
  }

  async checkpoints(logId: number): Promise<StoredCheckpoint[]> {
    const rows = this.rstmt('SELECT * FROM checkpoints WHERE log_id = ? ORDER BY size').all(
      logId,
    ) as CheckpointRow[];
    return rows.map(toCheckpoint);
  }

  async checkpointAt(logId: number, size: number): Promise<StoredCheckpoint | undefined> {
    const r = this.rstmt('SELECT * FROM checkpoints WHERE log_id = ? AND size = ?').get(logId, size) as
      | CheckpointRow
      | undefined;
    return r && toCheckpoint(r);
  }

  async latestCheckpoint(logId: number): Promise<StoredCheckpoint | undefined> {
    const r = this.rstmt('SELECT * FROM checkpoints WHERE log_id = ? ORDER BY size DESC LIMIT 1').get(
      logId,
    ) as CheckpointRow | undefined;
    return r && toCheckpoint(r);
  }

  async erasures(logId: number, from: number, to: number): Promise<Erasure[]> {
    const rows = this.rstmt(
      'SELECT idx, field, erasure_idx FROM erasures WHERE log_id = ? AND idx >= ? AND idx < ? ORDER BY idx, field',
    ).all(logId, from, to) as { idx: number; field: ErasableField; erasure_idx: number }[];
    return rows.map((r) => ({ index: r.idx, field: r.field, erasureIndex: r.erasure_idx }));
  }

  async createApiKey(k: ApiKeyRecord): Promise<void> {
    this.stmt(
      'INSERT INTO api_keys (key_id, secret_hash, logs, scopes, description, created_at) VALUES (?, ?, ?, ?, ?, ?)',
    ).run(
      k.id,
      k.secretHash,
      JSON.stringify(k.logs),
      JSON.stringify(k.scopes),
      k.description ?? null,
      k.createdAt,
    );
  }

  async getApiKey(id: string): Promise<ApiKeyRecord | undefined> {
    const r = this.rstmt('SELECT * FROM api_keys WHERE key_id = ?').get(id) as ApiKeyRow | undefined;
    return r && toApiKey(r);
  }

  async listApiKeys(): Promise<ApiKeyRecord[]> {
    return (this.rstmt('SELECT * FROM api_keys ORDER BY created_at, key_id').all() as ApiKeyRow[]).map(
      toApiKey,
    );
  }

  async revokeApiKey(id: string, at: string): Promise<boolean> {
    const r = this.stmt('UPDATE api_keys SET revoked_at = ? WHERE key_id = ? AND revoked_at IS NULL').run(
      at,
      id,
    );
    return r.changes === 1 || (await this.getApiKey(id)) !== undefined;
  }

  async apiKeysWritable(): Promise<boolean> {
    return !this.db.readonly;
  }

  async addCosignatures(logId: number, cs: StoredCosignature[]): Promise<void> {
    const ins = this.stmt(
      `INSERT INTO checkpoint_cosignatures (log_id, size, name, key_id, line, created_at)
         VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`,
    );
    await this.locked(async () => {
      for (const c of cs) ins.run(logId, c.size, c.name, c.keyId, c.line, c.createdAt);
    });
  }

  async cosignatures(logId: number, size: number): Promise<StoredCosignature[]> {
    const rows = this.rstmt(
      'SELECT size, name, key_id, line, created_at FROM checkpoint_cosignatures WHERE log_id = ? AND size = ? ORDER BY name, key_id',
    ).all(logId, size) as { size: number; name: string; key_id: string; line: string; created_at: string }[];
    return rows.map((r) => ({
      size: r.size,
      name: r.name,
      keyId: r.key_id,
      line: r.line,
      createdAt: r.created_at,
    }));
  }

  async cosignedSizes(logId: number): Promise<{ name: string; keyId: string; size: number }[]> {
    const rows = this.rstmt(
      'SELECT name, key_id, MAX(size) AS size FROM checkpoint_cosignatures WHERE log_id = ? GROUP BY name, key_id',
    ).all(logId) as { name: string; key_id: string; size: number }[];
    return rows.map((r) => ({ name: r.name, keyId: r.key_id, size: r.size }));
  }

  async recordWitnessedLog(l: WitnessedLog): Promise<boolean> {
    const st = this.stmt(
      'INSERT INTO witness_logs (origin, vkey, added_at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING',
    );
    return this.locked(async () => st.run(l.origin, l.vkey, l.addedAt).changes === 1);
  }

  async witnessedLogs(): Promise<WitnessedLog[]> {
    const rows = this.rstmt(
      'SELECT origin, vkey, added_at FROM witness_logs ORDER BY added_at, origin',
    ).all() as {
      origin: string;
      vkey: string;
      added_at: string;
    }[];
    return rows.map((r) => ({ origin: r.origin, vkey: r.vkey, addedAt: r.added_at }));
  }

  /** One step under SQLite's write lock (BEGIN IMMEDIATE): every process's steps take turns. */
  witnessStep<T>(origin: string, fn: (tx: WitnessTx) => Promise<T>): Promise<T> {
    return this.locked(() =>
      fn({
        latest: async () => {
          const r = this.stmt(
            'SELECT * FROM witness_checkpoints WHERE origin = ? ORDER BY size DESC LIMIT 1',
          ).get(origin) as
            | { origin: string; size: number; root: Uint8Array; note: string; cosigned_at: string }
            | undefined;
          return r && toWitnessed(r);
        },
        record: async (cp: WitnessedCheckpoint) => {
          this.stmt(
            'INSERT INTO witness_checkpoints (origin, size, root, note, cosigned_at) VALUES (?, ?, ?, ?, ?)',
          ).run(cp.origin, cp.size, cp.root, cp.note, cp.cosignedAt);
        },
      }),
    );
  }

  /** Raises an alert once: its key is the primary key, so a second raise (any process) is a no-op. */
  async raiseAlert(a: StoredAlert, sinks: readonly string[]): Promise<boolean> {
    return this.locked(async () => {
      const r = this.stmt(
        `INSERT INTO alerts (alert_key, rule, log, subject, body, created_at) VALUES (?, ?, ?, ?, ?, ?)
           ON CONFLICT DO NOTHING`,
      ).run(a.key, a.rule, a.log, a.subject, a.body, a.createdAt);
      if (r.changes !== 1) return false;
      const ins = this.stmt('INSERT INTO alert_deliveries (alert_key, sink, next_at) VALUES (?, ?, ?)');
      for (const sink of sinks) ins.run(a.key, sink, a.createdAt);
      return true;
    });
  }

  /** Claims due deliveries under the write lock (every process's claims take turns). */
  async claimAlertDeliveries(now: string, leaseUntil: string, limit: number): Promise<AlertDelivery[]> {
    return this.locked(async () => {
      const rows = this.stmt(
        `SELECT d.alert_key, d.sink, a.body, d.attempts FROM alert_deliveries d
           JOIN alerts a ON a.alert_key = d.alert_key
          WHERE d.delivered_at IS NULL AND d.next_at <= ? ORDER BY d.next_at LIMIT ?`,
      ).all(now, limit) as { alert_key: string; sink: string; body: string; attempts: number }[];
      const lease = this.stmt('UPDATE alert_deliveries SET next_at = ? WHERE alert_key = ? AND sink = ?');
      for (const r of rows) lease.run(leaseUntil, r.alert_key, r.sink);
      return rows.map((r) => ({ key: r.alert_key, sink: r.sink, body: r.body, attempts: r.attempts }));
    });
  }

  async alertDelivered(key: string, sink: string, at: string): Promise<void> {
    await this.locked(async () => {
      this.stmt(
        `UPDATE alert_deliveries SET delivered_at = ?, attempts = attempts + 1, last_error = NULL
          WHERE alert_key = ? AND sink = ?`,
      ).run(at, key, sink);
    });
  }

  async alertRetry(
    key: string,
    sink: string,
    attempts: number,
    nextAt: string,
    error: string,
  ): Promise<void> {
    await this.locked(async () => {
      this.stmt(
        `UPDATE alert_deliveries SET attempts = ?, next_at = ?, last_error = ?
          WHERE alert_key = ? AND sink = ? AND delivered_at IS NULL`,
      ).run(attempts, nextAt, error.slice(0, 500), key, sink);
    });
  }

  async alertQueueDepth(): Promise<number> {
    const r = this.rstmt('SELECT count(*) AS n FROM alert_deliveries WHERE delivered_at IS NULL').get() as {
      n: number;
    };
    return r.n;
  }

  async alertsSince(since: string, limit: number): Promise<StoredAlert[]> {
    const rows = this.rstmt(
      `SELECT alert_key, rule, log, subject, body, created_at FROM alerts
        WHERE created_at >= ? ORDER BY created_at, alert_key LIMIT ?`,
    ).all(since, limit) as AlertRow[];
    return rows.map(alertFromRow);
  }

  /** Runs fn in one immediate transaction, queued behind this connection's other writes. */
  private locked<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.queue.then(async () => {
      if (this.closed) throw new EvidentError(ErrorCode.LEDGER_CLOSED, 'store is closed');
      await this.beginImmediate();
      try {
        const result = await fn();
        this.db.exec('COMMIT');
        return result;
      } catch (e) {
        if (this.db.inTransaction) this.db.exec('ROLLBACK');
        throw e instanceof EvidentError ? e : storeError(e);
      }
    });
    this.queue = run.catch(() => undefined);
    return run;
  }

  async schemaCheck(): Promise<SchemaCheck> {
    return sqliteSchemaCheck(this.reader);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    await this.queue;
    this.closed = true;
    await Promise.allSettled([...this.inSync, this.syncNext]);
    await this.appender?.close();
    await this.checkpointer?.close();
    if (this.walFd !== undefined) closeSync(this.walFd);
    this.reader.close();
    this.db.close();
  }
}

function toWitnessed(r: {
  origin: string;
  size: number;
  root: Uint8Array;
  note: string;
  cosigned_at: string;
}): WitnessedCheckpoint {
  return {
    origin: r.origin,
    size: r.size,
    root: new Uint8Array(r.root),
    note: r.note,
    cosignedAt: r.cosigned_at,
  };
}
