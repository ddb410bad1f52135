/**
 * One write transaction on one log. Sequencing happens inside the database: the transaction
 * locks the log's head row (SELECT ... FOR UPDATE) before anything else, so writers in any
 * number of processes queue on that row and never fork the chain, while other logs (other
 * rows) append in parallel. It runs READ COMMITTED: a writer that waited for the lock then
 * reads the head and the entries its predecessor committed.
 *
 * Durability (store contract, types.ts): `write` resolves only after COMMIT has returned, and
 * a COMMIT returns once its WAL is flushed to disk unless synchronous_commit is `off`. This
 * transaction raises `off` to `on`, and keeps every other value: `local`, `on`, `remote_write`
 * and `remote_apply` all flush the local WAL first (what they add is waiting for standbys: the
 * operator's choice). A COMMIT that fails on a lost connection has an unknown outcome: the
 * caller gets STORE_BUSY and retries by event id, which is idempotent.
 *
 * Nothing here cancels a statement (no statement_timeout, no client-side query timeout, no
 * cancel request; lock_timeout only bounds the wait for the head lock, before anything is
 * written). It must stay so: PostgreSQL reports a COMMIT whose wait for a synchronous standby
 * was cancelled as successful (with a WARNING only), which would acknowledge an append no
 * standby holds (docs/high-availability.md).
 */
import { fromHex } from '../../core/bytes.ts';
import { ErrorCode, EvidentError } from '../../core/errors.ts';
import type { Entry } from '../../core/event/entry.ts';
import type { NodeId } from '../../core/merkle/index.ts';
import { ENTRY_COLUMNS, entryToRows } from '../rows.ts';
import { type CheckpointRow, type LogRow, toCheckpoint, toHead } from '../table-rows.ts';
import type {
  Erasure,
  LogHead,
  NodeHash,
  PrunedRange,
  StoredCheckpoint,
  StoredIntent,
  WriteTx,
} from '../types.ts';
import { type PgPool, type PgQueryable, type PgResult, withClient } from './driver.ts';
import { missingNode, pgError } from './errors.ts';
import { type HydratedRow, toEntry } from './log-rows.ts';
import { CHUNK_ROWS, type Statements } from './sql.ts';

export interface WriteSettings {
  /** How long a writer waits for another writer's lock on the log head, in ms. */
  lockTimeoutMs: number;
}

export async function runWrite<T>(
  pool: PgPool,
  st: Statements,
  logId: number,
  fn: (tx: WriteTx) => Promise<T>,
  o: WriteSettings,
): Promise<T> {
  let open = true;
  try {
    return await withClient(pool, async (client, broken) => {
      try {
        // one simple query, several statements: node-postgres returns one result for each
        const results = (await client.query(
          st.beginAndLock(logId, o.lockTimeoutMs),
        )) as unknown as PgResult<LogRow>[];
        const locked = results.at(-1)!.rows[0];
        if (!locked)
          throw new EvidentError(ErrorCode.NOT_FOUND, `no log with id ${logId}`, { log_id: logId });
        const result = await fn(new PgWriteTx(client, st, logId, toHead(locked), () => open));
        await client.query('COMMIT');
        return result;
      } catch (e) {
        // After a lost connection (even during COMMIT, whose outcome is then unknown) ROLLBACK
        // fails too, and the client is destroyed rather than returned to the pool.
        await client.query('ROLLBACK').catch(broken);
        throw e;
      } finally {
        open = false;
      }
    });
  } catch (e) {
    throw pgError(e);
  }
}

class PgWriteTx implements WriteTx {
  constructor(
    private readonly db: PgQueryable,
    private readonly st: Statements,
    private readonly logId: number,
    /** The head as locked, then as this transaction moved it. */
    private current: LogHead,
    private readonly isOpen: () => boolean,
  ) {}

  private check(): void {
    if (!this.isOpen()) throw new EvidentError(ErrorCode.STORE_FAILED, 'write transaction already ended');
  }

  async head(): Promise<LogHead> {
    this.check();
    return { ...this.current, frontier: this.current.frontier.slice() };
  }

  async lastIndex(): Promise<number | undefined> {
    this.check();
    const { rows } = await this.db.query<{ idx: number | null }>(this.st.lastIndex.with([this.logId]));
    return rows[0]?.idx ?? undefined;
  }

  async lastCheckpoint(): Promise<StoredCheckpoint | undefined> {
    this.check();
    const { rows } = await this.db.query<CheckpointRow>(this.st.latestCheckpoint.with([this.logId]));
    return rows[0] && toCheckpoint(rows[0]);
  }

  async entriesById(ids: string[]): Promise<Map<string, Entry>> {
    this.check();
    const found = new Map<string, Entry>();
    if (ids.length === 0) return found;
    const { rows } = await this.db.query<HydratedRow>(this.st.entriesById.with([this.logId, ids]));
    for (const r of rows) found.set(r.id as string, toEntry(r));
    return found;
  }

  async nodes(ids: NodeId[]): Promise<Uint8Array[]> {
    this.check();
    return readNodes(this.db, this.st, this.logId, ids);
  }

  async insertEntries(entries: Entry[], nodes: NodeHash[], head: LogHead): Promise<void> {
    this.check();
    const rows = entries.map(entryToRows);
    const secrets = rows.flatMap((r) => r.secrets);
    const chunks = Math.max(1, Math.ceil(Math.max(rows.length, secrets.length, nodes.length) / CHUNK_ROWS));
    for (let c = 0; c < chunks; c++) {
      const part = <X>(xs: readonly X[]) => xs.slice(c * CHUNK_ROWS, (c + 1) * CHUNK_ROWS);
      const rs = part(rows);
      const ss = part(secrets);
      const ns = part(nodes);
      const values: unknown[] = [
        this.logId,
        ...ENTRY_COLUMNS.map((col) => rs.map((r) => r.row[col])),
        ss.map((x) => x.idx),
        ss.map((x) => x.field),
        ss.map((x) => x.value),
        ss.map((x) => x.salt),
        ns.map((n) => n.level),
        ns.map((n) => n.index),
        ns.map((n) => n.hash),
      ];
      if (c < chunks - 1) {
        await this.db.query(this.st.insertBatch.with(values));
        continue;
      }
      const r = await this.db.query(
        this.st.insertBatchAndHead.with([
          ...values,
          head.size,
          head.lastHash,
          head.frontier,
          this.current.size,
        ]),
      );
      if (r.rowCount !== 1) {
        throw new EvidentError(ErrorCode.STORE_FAILED, 'the log head moved under the sequencing lock', {
          log_id: this.logId,
        });
      }
    }
    this.current = { size: head.size, lastHash: head.lastHash, frontier: head.frontier.slice() };
  }

  async insertCheckpoint(cp: StoredCheckpoint): Promise<void> {
    this.check();
    await this.db.query(this.st.insertCheckpoint.with([this.logId, cp.size, cp.root, cp.note, cp.createdAt]));
  }

  async erase(erasures: Erasure[]): Promise<void> {
    this.check();
    if (erasures.length === 0) return;
    // Two statements: the delete trigger must see the erasure records (migrations.ts).
    const idx = erasures.map((x) => x.index);
    const field = erasures.map((x) => x.field);
    await this.db.query(
      this.st.recordErasures.with([this.logId, idx, field, erasures.map((x) => x.erasureIndex)]),
    );
    await this.db.query(this.st.deleteSecrets.with([this.logId, idx, field]));
  }

  async prune(r: PrunedRange): Promise<number> {
    this.check();
    const s = this.st.s;
    const args = [this.logId, r.first, r.last];
    // In this order: the range (named by its prune event), the leaf hashes, then the rows (the
    // delete triggers check both, migration 6).
    await this.db.query(
      `INSERT INTO ${s}.pruned_ranges (log_id, first_idx, last_idx, prune_idx) VALUES ($1, $2, $3, $4)`,
      [...args, r.pruneIndex],
    );
    await this.db.query(
      `INSERT INTO ${s}.pruned_leaves (log_id, idx, hash)
         SELECT log_id, idx, hash FROM ${s}.entries WHERE log_id = $1 AND idx BETWEEN $2 AND $3`,
      args,
    );
    await this.db.query(`DELETE FROM ${s}.entry_secrets WHERE log_id = $1 AND idx BETWEEN $2 AND $3`, args);
    const d = await this.db.query(
      `DELETE FROM ${s}.entries WHERE log_id = $1 AND idx BETWEEN $2 AND $3`,
      args,
    );
    return d.rowCount ?? 0;
  }

  async putIntent(i: StoredIntent): Promise<void> {
    this.check();
    await this.db.query(
      `INSERT INTO ${this.st.s}.intents (log_id, id, event, owner, created_at) VALUES ($1, $2, $3, $4, $5)`,
      [this.logId, i.id, i.event, i.owner, i.createdAt],
    );
  }

  async retireIntents(ids: string[]): Promise<void> {
    this.check();
    if (ids.length === 0) return;
    await this.db.query(`DELETE FROM ${this.st.s}.intents WHERE log_id = $1 AND id = ANY($2::text[])`, [
      this.logId,
      ids,
    ]);
  }
}

/** Tree nodes by id, in one query: level 0 from the entries' hashes, above from tree_nodes. */
export async function readNodes(
  db: PgQueryable,
  st: Statements,
  logId: number,
  ids: readonly NodeId[],
): Promise<Uint8Array[]> {
  if (ids.length === 0) return [];
  const leaves = ids.filter((n) => n.level === 0).map((n) => n.index);
  const inner = ids.filter((n) => n.level > 0);
  const { rows } = await db.query<{
    level: number;
    idx: number;
    hex: string | null;
    hash: Uint8Array | null;
  }>(st.nodes.with([logId, leaves, inner.map((n) => n.level), inner.map((n) => n.index)]));
  const found = new Map<string, Uint8Array>();
  for (const r of rows) {
    found.set(`${r.level}:${r.idx}`, r.hex !== null ? fromHex(r.hex) : new Uint8Array(r.hash!));
  }
  return ids.map((n) => {
    const h = found.get(`${n.level}:${n.index}`);
    if (h === undefined) throw missingNode(n);
    return h;
  });
}
