/**
 * The PostgreSQL store: many stateless evident processes on one database. Sequencing is per
 * log, inside the database (write.ts); reads are single statements on a pool. The driver
 * (npm `pg`) is loaded only here, when a store is opened.
 */
import { fromHex } from '../../core/bytes.ts';
import { ErrorCode, EvidentError } from '../../core/errors.ts';
import type { Entry } from '../../core/event/entry.ts';
import type { ErasableField } from '../../core/event/schema.ts';
import { completedNodes, type NodeId } from '../../core/merkle/index.ts';
import { ENTRY_COLUMNS, entryToRows, timestampSeconds } from '../rows.ts';
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
  ReplicationState,
  Store,
  StoredAlert,
  StoredCheckpoint,
  StoredCosignature,
  StoredIntent,
  WitnessedLog,
  WitnessStore,
  WitnessTx,
  WriteTx,
} from '../types.ts';
import { EQUALITY_FILTERS } from '../types.ts';
import * as alerts from './alerts.ts';
import type { PgPool, PgQuery } from './driver.ts';
import { pgError } from './errors.ts';
import { parsePostgresUrl } from './hosts.ts';
import type { SchemaChecks } from './identify.ts';
import { type HydratedRow, toEntry } from './log-rows.ts';
import { checkSchemaName, ident, migrate } from './migrations.ts';
import { PrimaryPool, poolFor } from './primary.ts';
import { grantServiceRole } from './roles.ts';
import { postgresSchemaCheck } from './schema-check.ts';
import { CHUNK_ROWS, Statements } from './sql.ts';
import * as witness from './witness.ts';
import { readNodes, runWrite } from './write.ts';

export interface PostgresStoreOptions extends SchemaChecks {
  /** The PostgreSQL schema holding evident's tables (default `evident`, or `?schema=` in the URL). */
  schema?: string;
  /** Write nothing: no migration, and every write is refused. */
  readonly?: boolean;
  /** Create or upgrade the schema when needed (default true; the service role sets false). */
  migrate?: boolean;
  /** Connections in the pool (default 10). */
  poolSize?: number;
  /** How long to wait for a connection, in ms (default 10 000); then STORE_BUSY. */
  connectTimeoutMs?: number;
  /** How long a writer waits for the log's head lock, in ms (default 10 000); then STORE_BUSY. */
  lockTimeoutMs?: number;
}

export { parsePostgresUrl } from './hosts.ts';

export async function openPostgresStore(
  url: string,
  options: PostgresStoreOptions = {},
): Promise<PostgresStore> {
  const parsed = parsePostgresUrl(url);
  const schema = checkSchemaName(options.schema ?? parsed.schema ?? 'evident');
  const pool = await poolFor(parsed, {
    max: options.poolSize ?? 10,
    connectionTimeoutMillis: options.connectTimeoutMs ?? 10_000,
    application_name: 'evident',
  });
  try {
    await migrate(pool, schema, {
      apply: !options.readonly && options.migrate !== false,
      ...(options.create !== undefined ? { create: options.create } : {}),
      ...(options.allowForeign !== undefined ? { allowForeign: options.allowForeign } : {}),
    });
  } catch (e) {
    await pool.end().catch(() => undefined);
    throw e;
  }
  return new PostgresStore(pool, schema, options);
}

export class PostgresStore implements Store, ApiKeyStore, CosignatureStore, WitnessStore, AlertStore {
  readonly kind = 'postgres' as const;
  readonly schema: string;
  private readonly st: Statements;
  private readonly readonly: boolean;
  private readonly lockTimeoutMs: number;
  private readonly inflight = new Set<Promise<unknown>>();
  private closed = false;

  constructor(
    private readonly db: PgPool,
    schema: string,
    o: PostgresStoreOptions = {},
  ) {
    this.schema = schema;
    this.st = new Statements(schema);
    this.readonly = o.readonly ?? false;
    this.lockTimeoutMs = o.lockTimeoutMs ?? 10_000;
  }

  /** The pool, for tests and tools that need raw access. */
  get pool(): PgPool {
    return this.db;
  }

  /** Gives an existing role the service's privileges on this schema (roles.ts); run as the owner. */
  grantServiceRole(role: string): Promise<void> {
    return grantServiceRole(this.db, this.schema, role);
  }

  private async q<R>(query: string | PgQuery, values: readonly unknown[] = []): Promise<R[]> {
    if (this.closed) throw new EvidentError(ErrorCode.LEDGER_CLOSED, 'store is closed');
    try {
      return (await this.db.query<R>(query, typeof query === 'string' ? values : undefined)).rows;
    } catch (e) {
      throw pgError(e);
    }
  }

  private writable(): void {
    if (this.readonly) throw new EvidentError(ErrorCode.STORE_FAILED, 'the store was opened read-only');
  }

  async createLog(spec: Omit<LogInfo, 'id' | 'createdAt'>): Promise<LogInfo> {
    this.writable();
    const [r] = await this.q<LogRow>(
      `INSERT INTO ${this.st.s}.logs (name, origin, vkey, erasable, created_at) VALUES ($1, $2, $3, $4, $5)
         RETURNING *`,
      [spec.name, spec.origin, spec.vkey, spec.erasable, new Date().toISOString()],
    );
    return toLogInfo(r!);
  }

  async getLog(name: string): Promise<LogInfo | undefined> {
    const [r] = await this.q<LogRow>(`SELECT * FROM ${this.st.s}.logs WHERE name = $1`, [name]);
    return r && toLogInfo(r);
  }

  async listLogs(): Promise<LogInfo[]> {
    return (await this.q<LogRow>(`SELECT * FROM ${this.st.s}.logs ORDER BY log_id`)).map(toLogInfo);
  }

  write<T>(logId: number, fn: (tx: WriteTx) => Promise<T>): Promise<T> {
    if (this.closed) return Promise.reject(new EvidentError(ErrorCode.LEDGER_CLOSED, 'store is closed'));
    try {
      this.writable();
    } catch (e) {
      return Promise.reject(e);
    }
    const run = runWrite(this.db, this.st, logId, fn, { lockTimeoutMs: this.lockTimeoutMs });
    this.inflight.add(run);
    const forget = () => this.inflight.delete(run);
    run.then(forget, forget);
    return run;
  }

  /**
   * One statement outside any transaction (autocommit): append_at (migrations.ts v7, v11) checks
   * the head under its lock and writes, and the commit follows in the same round trip. Batches
   * larger than one statement's chunk go through write().
   */
  async appendAt(logId: number, expected: LogHead, a: PreparedAppend): Promise<boolean> {
    this.writable();
    const rows = a.entries.map(entryToRows);
    const secrets = rows.flatMap((r) => r.secrets);
    if (Math.max(rows.length, secrets.length, a.nodes.length) > CHUNK_ROWS) return false;
    const run = this.q<{ outcome: string }>(
      this.st.appendAt.with([
        logId,
        expected.size,
        expected.lastHash,
        expected.frontier,
        Math.max(0, Math.floor(this.lockTimeoutMs)),
        // p_ids: unread since migration 11, where the unique index refuses a stored id.
        [],
        ...ENTRY_COLUMNS.map((col) => rows.map((r) => r.row[col])),
        secrets.map((x) => x.idx),
        secrets.map((x) => x.field),
        secrets.map((x) => x.value),
        secrets.map((x) => x.salt),
        a.nodes.map((n) => n.level),
        a.nodes.map((n) => n.index),
        a.nodes.map((n) => n.hash),
        a.head.size,
        a.head.lastHash,
        a.head.frontier,
      ]),
    );
    this.inflight.add(run);
    const forget = () => this.inflight.delete(run);
    run.then(forget, forget);
    const [r] = await run;
    return r?.outcome === 'ok';
  }

  async head(logId: number): Promise<LogHead> {
    const [r] = await this.q<LogRow>(this.st.head.with([logId]));
    if (!r) throw new EvidentError(ErrorCode.NOT_FOUND, `no log with id ${logId}`);
    return toHead(r);
  }

  async entries(logId: number, from: number, to: number, limit: number): Promise<Entry[]> {
    const rows = await this.q<HydratedRow>(this.st.entriesRange.with([logId, from, to, limit]));
    return rows.map(toEntry);
  }

  async entryById(logId: number, id: string): Promise<Entry | undefined> {
    const [r] = await this.q<HydratedRow>(this.st.entryById.with([logId, id]));
    return r && toEntry(r);
  }

  async query(logId: number, f: EntryFilter): Promise<Entry[]> {
    const where = ['log_id = $1'];
    const args: unknown[] = [logId];
    const arg = (v: unknown) => {
      args.push(v);
      return `$${args.length}`;
    };
    for (const k of EQUALITY_FILTERS) {
      const v = f[k];
      if (v !== undefined) where.push(`${k} = ${arg(v)}`);
    }
    if (f.result !== undefined) {
      where.push(`result = ANY(${arg(Array.isArray(f.result) ? f.result : [f.result])}::text[])`);
    }
    // ts is generated from the hashed timestamp (migrations.ts); bounds are compared as instants.
    if (f.since !== undefined) where.push(`ts >= to_timestamp(${arg(instant(f.since, 'since'))}::float8)`);
    if (f.until !== undefined) where.push(`ts < to_timestamp(${arg(instant(f.until, 'until'))}::float8)`);
    if (f.fromIndex !== undefined) where.push(`idx ${f.descending ? '<=' : '>='} ${arg(f.fromIndex)}`);
    const limit = arg(Math.min(f.limit ?? 100, 10_000));
    const rows = await this.q<HydratedRow>(
      this.st.entries(where.join(' AND '), { order: f.descending ? 'DESC' : 'ASC', limit }),
      args,
    );
    return rows.map(toEntry);
  }

  async failuresByActor(logId: number, since: string, minFailures: number): Promise<FailureCount[]> {
    const rows = await this.q<{ actor_id: string; failures: number; last_s: number }>(this.st.failures, [
      logId,
      instant(since, 'since'),
      minFailures,
    ]);
    return rows.map((r) => ({
      actor_id: r.actor_id,
      failures: r.failures,
      last_timestamp: new Date(Math.round(r.last_s * 1000)).toISOString(),
    }));
  }

  async nodes(logId: number, ids: NodeId[]): Promise<Uint8Array[]> {
    if (this.closed) throw new EvidentError(ErrorCode.LEDGER_CLOSED, 'store is closed');
    try {
      return await readNodes(this.db, this.st, logId, ids);
    } catch (e) {
      throw pgError(e);
    }
  }

  async nodesCompleted(logId: number, from: number, to: number): Promise<NodeHash[]> {
    const ranges = completedNodes(from, to);
    if (ranges.length === 0) return [];
    const rows = await this.q<{ level: number; idx: number; hash: Uint8Array }>(
      this.st.nodesCompleted.with([
        logId,
        ranges.map((r) => r.level),
        ranges.map((r) => r.first),
        ranges.map((r) => r.last),
      ]),
    );
    return rows.map((r) => ({ level: r.level, index: r.idx, hash: new Uint8Array(r.hash) }));
  }

  async nodeRange(logId: number, level: number, from: number, to: number): Promise<Uint8Array[]> {
    const rows = await this.q<{ idx: number; hex: string | null; hash: Uint8Array | null }>(
      level === 0
        ? this.st.leafRange.with([logId, from, to])
        : this.st.nodeRange.with([logId, level, from, to]),
    );
    const out: Uint8Array[] = [];
    for (const r of rows) {
      if (r.idx !== from + out.length) break;
      out.push(r.hex !== null ? fromHex(r.hex) : new Uint8Array(r.hash!));
    }
    return out;
  }

  async checkpoints(logId: number): Promise<StoredCheckpoint[]> {
    return (await this.q<CheckpointRow>(this.st.checkpoints.with([logId]))).map(toCheckpoint);
  }

  async checkpointAt(logId: number, size: number): Promise<StoredCheckpoint | undefined> {
    const [r] = await this.q<CheckpointRow>(this.st.checkpointAt.with([logId, size]));
    return r && toCheckpoint(r);
  }

  async latestCheckpoint(logId: number): Promise<StoredCheckpoint | undefined> {
    const [r] = await this.q<CheckpointRow>(this.st.latestCheckpoint.with([logId]));
    return r && toCheckpoint(r);
  }

  async erasures(logId: number, from: number, to: number): Promise<Erasure[]> {
    const rows = await this.q<{ idx: number; field: ErasableField; erasure_idx: number }>(
      `SELECT idx, field, erasure_idx FROM ${this.st.s}.erasures
         WHERE log_id = $1 AND idx >= $2 AND idx < $3 ORDER BY idx, field`,
      [logId, from, to],
    );
    return rows.map((r) => ({ index: r.idx, field: r.field, erasureIndex: r.erasure_idx }));
  }

  async prunedRanges(logId: number): Promise<PrunedRange[]> {
    const rows = await this.q<{ first_idx: number; last_idx: number; prune_idx: number }>(
      `SELECT first_idx::float8 AS first_idx, last_idx::float8 AS last_idx, prune_idx::float8 AS prune_idx
         FROM ${this.st.s}.pruned_ranges WHERE log_id = $1 ORDER BY first_idx`,
      [logId],
    );
    return rows.map((r) => ({ first: r.first_idx, last: r.last_idx, pruneIndex: r.prune_idx }));
  }

  async intents(logId: number): Promise<StoredIntent[]> {
    const rows = await this.q<{ id: string; event: string; owner: string; created_at: string }>(
      `SELECT id, event, owner, created_at FROM ${this.st.s}.intents
         WHERE log_id = $1 ORDER BY created_at, id`,
      [logId],
    );
    return rows.map((r) => ({ id: r.id, event: r.event, owner: r.owner, createdAt: r.created_at }));
  }

  async addCosignatures(logId: number, cs: StoredCosignature[]): Promise<void> {
    this.writable();
    await this.guard(() => witness.addCosignatures(this.db, this.st.s, logId, cs));
  }

  cosignatures(logId: number, size: number): Promise<StoredCosignature[]> {
    return this.guard(() => witness.cosignatures(this.db, this.st.s, logId, size));
  }

  cosignedSizes(logId: number): Promise<{ name: string; keyId: string; size: number }[]> {
    return this.guard(() => witness.cosignedSizes(this.db, this.st.s, logId));
  }

  async recordWitnessedLog(l: WitnessedLog): Promise<boolean> {
    this.writable();
    return this.guard(() => witness.recordWitnessedLog(this.db, this.st.s, l));
  }

  witnessedLogs(): Promise<WitnessedLog[]> {
    return this.guard(() => witness.witnessedLogs(this.db, this.st.s));
  }

  async witnessStep<T>(origin: string, fn: (tx: WitnessTx) => Promise<T>): Promise<T> {
    this.writable();
    return this.guard(() => witness.witnessStep(this.db, this.st.s, origin, fn));
  }

  async raiseAlert(a: StoredAlert, sinks: readonly string[]): Promise<boolean> {
    this.writable();
    return this.guard(() => alerts.raiseAlert(this.db, this.st.s, a, sinks));
  }

  claimAlertDeliveries(now: string, leaseUntil: string, limit: number): Promise<AlertDelivery[]> {
    this.writable();
    return this.guard(() => alerts.claimAlertDeliveries(this.db, this.st.s, now, leaseUntil, limit));
  }

  alertDelivered(key: string, sink: string, at: string): Promise<void> {
    return this.guard(() => alerts.alertDelivered(this.db, this.st.s, key, sink, at));
  }

  alertRetry(key: string, sink: string, attempts: number, nextAt: string, error: string): Promise<void> {
    return this.guard(() => alerts.alertRetry(this.db, this.st.s, key, sink, attempts, nextAt, error));
  }

  alertQueueDepth(): Promise<number> {
    return this.guard(() => alerts.alertQueueDepth(this.db, this.st.s));
  }

  alertsSince(since: string, limit: number): Promise<StoredAlert[]> {
    return this.guard(() => alerts.alertsSince(this.db, this.st.s, since, limit));
  }

  /** Runs a query function, refused once closed; database errors become coded errors. */
  private async guard<T>(fn: () => Promise<T>): Promise<T> {
    if (this.closed) throw new EvidentError(ErrorCode.LEDGER_CLOSED, 'store is closed');
    const run = fn();
    this.inflight.add(run);
    try {
      return await run;
    } catch (e) {
      throw pgError(e);
    } finally {
      this.inflight.delete(run);
    }
  }

  async createApiKey(k: ApiKeyRecord): Promise<void> {
    this.writable();
    await this.q(
      `INSERT INTO ${this.st.s}.api_keys (key_id, secret_hash, logs, scopes, description, created_at)
         VALUES ($1, $2, $3, $4, $5, $6)`,
      [k.id, k.secretHash, k.logs, k.scopes, k.description ?? null, k.createdAt],
    );
  }

  async getApiKey(id: string): Promise<ApiKeyRecord | undefined> {
    const [r] = await this.q<ApiKeyRow>(`SELECT * FROM ${this.st.s}.api_keys WHERE key_id = $1`, [id]);
    return r && toApiKey(r);
  }

  async listApiKeys(): Promise<ApiKeyRecord[]> {
    return (await this.q<ApiKeyRow>(`SELECT * FROM ${this.st.s}.api_keys ORDER BY created_at, key_id`)).map(
      toApiKey,
    );
  }

  async revokeApiKey(id: string, at: string): Promise<boolean> {
    this.writable();
    // One statement: revoke if not yet revoked; true whenever the key exists.
    const [r] = await this.q<{ found: boolean }>(
      `WITH u AS (UPDATE ${this.st.s}.api_keys SET revoked_at = $2 WHERE key_id = $1 AND revoked_at IS NULL
                    RETURNING 1)
       SELECT EXISTS (SELECT 1 FROM u) OR EXISTS (SELECT 1 FROM ${this.st.s}.api_keys WHERE key_id = $1) AS found`,
      [id, at],
    );
    return r?.found ?? false;
  }

  /** Waits for the writes in flight, then closes the pool (every connection). */
  async apiKeysWritable(): Promise<boolean> {
    if (this.readonly) return false;
    const table = `${ident(this.schema)}.api_keys`;
    const [row] = await this.q<{ ok: boolean }>(
      `SELECT has_table_privilege($1, 'INSERT') AND has_column_privilege($1, 'revoked_at', 'UPDATE') AS ok`,
      [table],
    );
    return row?.ok === true;
  }

  async replication(): Promise<ReplicationState> {
    const [r] = await this.q<{ rec: boolean; names: string; commit: string }>(
      `SELECT pg_is_in_recovery() AS rec, current_setting('synchronous_standby_names') AS names,
              current_setting('synchronous_commit') AS commit`,
    );
    const standbys = await this.q<{ name: string | null; state: string | null; sync_state: string | null }>(
      'SELECT application_name AS name, state, sync_state FROM pg_stat_replication ORDER BY application_name',
    );
    const primaryHost = this.db instanceof PrimaryPool ? this.db.primaryHost : undefined;
    return {
      inRecovery: r!.rec,
      ...(primaryHost ? { primaryHost } : {}),
      synchronousStandbyNames: r!.names,
      synchronousCommit: r!.commit,
      standbys: standbys.map((x) => ({ name: x.name, state: x.state, syncState: x.sync_state })),
    };
  }

  async schemaCheck(): Promise<SchemaCheck> {
    if (this.closed) throw new EvidentError(ErrorCode.LEDGER_CLOSED, 'store is closed');
    try {
      return await postgresSchemaCheck(this.db, this.schema);
    } catch (e) {
      throw pgError(e);
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.allSettled([...this.inflight]);
    await this.db.end();
  }
}

/** Seconds since the epoch of a time bound, as SQLite's store reads it (../rows.ts). */
function instant(ts: string, field: string): number {
  const s = timestampSeconds(ts);
  if (!Number.isFinite(s)) {
    throw new EvidentError(ErrorCode.USAGE, `${field} is not a date and time`, { field });
  }
  return s;
}
