/**
 * The statements of the PostgreSQL store, built once per schema. Batches travel as one array
 * per column and are expanded by unnest(): a fixed number of parameters whatever the batch size
 * (far under the protocol's 65535), one statement and one round trip for entries, values, tree
 * nodes and the head together.
 *
 * Only the INSERTs are named statements (parsed and planned once per connection): a plan
 * with no choice to make. Statements that read are planned each time for their values: a
 * cached generic plan made while a table was small (a sequential scan) would stay in use on
 * every connection long after the table has grown, which measured 2x slower appends.
 */
import { createHash } from 'node:crypto';
import { ENTRY_COLUMNS } from '../rows.ts';
import type { PgQuery } from './driver.ts';
import { ident } from './migrations.ts';

const quote = (c: string) => `"${c}"`;
/** Column types of ENTRY_COLUMNS, for the unnest() casts. */
const ENTRY_TYPES = ENTRY_COLUMNS.map((c) => (c === 'idx' ? 'bigint[]' : 'text[]'));

/** Rows per INSERT statement: bounds one protocol message when entries are large. */
export const CHUNK_ROWS = 1000;

const params = (from: number, types: readonly string[]) =>
  types.map((t, i) => `$${from + i}::${t}`).join(', ');

/** A statement; named (prepared once per connection) when its plan has no choice to make. */
export class Stmt {
  readonly name: string | undefined;
  constructor(
    readonly text: string,
    named = false,
  ) {
    this.name = named ? `evident_${createHash('sha256').update(text).digest('hex').slice(0, 24)}` : undefined;
  }
  with(values: readonly unknown[]): PgQuery {
    return this.name ? { name: this.name, text: this.text, values } : { text: this.text, values };
  }
}

export class Statements {
  readonly s: string;
  readonly head: Stmt;
  readonly entriesRange: Stmt;
  readonly entryById: Stmt;
  readonly entriesById: Stmt;
  readonly insertBatch: Stmt;
  readonly insertBatchAndHead: Stmt;
  readonly appendAt: Stmt;
  readonly recordErasures: Stmt;
  readonly deleteSecrets: Stmt;
  readonly insertCheckpoint: Stmt;
  readonly checkpoints: Stmt;
  readonly checkpointAt: Stmt;
  readonly latestCheckpoint: Stmt;
  readonly nodes: Stmt;
  readonly nodesCompleted: Stmt;
  readonly leafRange: Stmt;
  readonly nodeRange: Stmt;
  readonly lastIndex: Stmt;
  readonly failures: string;

  constructor(schema: string) {
    const s = ident(schema);
    this.s = s;
    const headSql = `SELECT size, last_hash, frontier FROM ${s}.logs WHERE log_id = $1`;
    this.head = new Stmt(headSql);
    this.entriesRange = new Stmt(
      this.entries('log_id = $1 AND idx >= $2 AND idx < $3', { order: 'ASC', limit: '$4' }),
    );
    this.entryById = new Stmt(this.entries('log_id = $1 AND id = $2'));
    // unordered and unlimited: its generic plan is then the unique index on (log_id, id)
    this.entriesById = new Stmt(this.entries('log_id = $1 AND id = ANY($2::text[])'));

    const cols = ENTRY_COLUMNS.map(quote).join(', ');
    let p = 2;
    const entryParams = params(p, ENTRY_TYPES);
    p += ENTRY_TYPES.length;
    const secretParams = params(p, ['bigint[]', 'text[]', 'text[]', 'text[]']);
    p += 4;
    const nodeParams = params(p, ['int[]', 'bigint[]', 'bytea[]']);
    p += 3;
    const batch = `WITH e AS (
  INSERT INTO ${s}.entries (log_id, ${cols}) SELECT $1, * FROM unnest(${entryParams})
), v AS (
  INSERT INTO ${s}.entry_secrets (log_id, idx, field, value, salt) SELECT $1, * FROM unnest(${secretParams})
), n AS (
  INSERT INTO ${s}.tree_nodes (log_id, level, idx, hash) SELECT $1, * FROM unnest(${nodeParams})
)`;
    this.insertBatch = new Stmt(`${batch} SELECT 0 AS updated`, true);
    // The head moves only from the size read under the lock: a second guard against a fork.
    this.insertBatchAndHead = new Stmt(
      `${batch}
UPDATE ${s}.logs SET size = $${p}, last_hash = $${p + 1}, frontier = $${p + 2}
  WHERE log_id = $1 AND size = $${p + 3}`,
      true,
    );
    // migrations.ts v5: the whole append, its head check and (autocommit) its commit in one round trip.
    this.appendAt = new Stmt(
      `SELECT ${s}.append_at(${params(1, [
        'integer',
        'bigint',
        'text',
        'bytea',
        'integer',
        'text[]',
        ...ENTRY_TYPES,
        'bigint[]',
        'text[]',
        'text[]',
        'text[]',
        'integer[]',
        'bigint[]',
        'bytea[]',
        'bigint',
        'text',
        'bytea',
      ])}) AS outcome`,
      true,
    );
    this.recordErasures = new Stmt(
      `INSERT INTO ${s}.erasures (log_id, idx, field, erasure_idx)
  SELECT $1, * FROM unnest($2::bigint[], $3::text[], $4::bigint[])`,
      true,
    );
    this.deleteSecrets = new Stmt(`DELETE FROM ${s}.entry_secrets x
  USING unnest($2::bigint[], $3::text[]) AS q(idx, field)
  WHERE x.log_id = $1 AND x.idx = q.idx AND x.field = q.field`);

    const cp = `SELECT size, root, note, created_at FROM ${s}.checkpoints WHERE log_id = $1`;
    this.insertCheckpoint = new Stmt(
      `INSERT INTO ${s}.checkpoints (log_id, size, root, note, created_at)
  VALUES ($1, $2, $3, $4, $5)`,
      true,
    );
    this.checkpoints = new Stmt(`${cp} ORDER BY size`);
    this.checkpointAt = new Stmt(`${cp} AND size = $2`);
    this.latestCheckpoint = new Stmt(`${cp} ORDER BY size DESC LIMIT 1`);
    // Level 0 is the entry's own hash (hex), kept in pruned_leaves once pruned; higher levels are stored nodes.
    this.nodes = new Stmt(`SELECT 0 AS level, idx, hash AS hex, NULL::bytea AS hash FROM ${s}.entries
  WHERE log_id = $1 AND idx = ANY($2::bigint[])
UNION ALL
SELECT 0, idx, hash, NULL FROM ${s}.pruned_leaves WHERE log_id = $1 AND idx = ANY($2::bigint[])
UNION ALL
SELECT t.level, t.idx, NULL, t.hash FROM ${s}.tree_nodes t
  JOIN unnest($3::int[], $4::bigint[]) AS q(level, idx) ON t.level = q.level AND t.idx = q.idx
  WHERE t.log_id = $1`);
    // One index range scan per level, on the primary key (log_id, level, idx).
    this.nodesCompleted = new Stmt(`SELECT t.level, t.idx::float8 AS idx, t.hash
  FROM unnest($2::int[], $3::bigint[], $4::bigint[]) AS q(level, lo, hi)
  JOIN ${s}.tree_nodes t ON t.log_id = $1 AND t.level = q.level AND t.idx BETWEEN q.lo AND q.hi`);
    // A tile's hashes: one index range scan, on (log_id, idx) of entries or the primary key of tree_nodes.
    this.leafRange = new Stmt(`SELECT idx::float8 AS idx, hash AS hex, NULL::bytea AS hash FROM ${s}.entries
  WHERE log_id = $1 AND idx >= $2 AND idx < $3 ORDER BY idx`);
    this.nodeRange = new Stmt(`SELECT idx::float8 AS idx, NULL::text AS hex, hash FROM ${s}.tree_nodes
  WHERE log_id = $1 AND level = $2 AND idx >= $3 AND idx < $4 ORDER BY idx`);
    this.lastIndex = new Stmt(`SELECT max(idx)::float8 AS idx FROM ${s}.entries WHERE log_id = $1`);
    // The third compliance query (actors with many failures); `result <> 'success'` verbatim, so the partial index applies.
    this.failures = `SELECT actor_id, count(*) AS failures, extract(epoch FROM max(ts))::float8 AS last_s
  FROM ${s}.entries
  WHERE log_id = $1 AND result <> 'success' AND ts >= to_timestamp($2::float8)
  GROUP BY actor_id HAVING count(*) > $3
  ORDER BY failures DESC, actor_id`;
  }

  /**
   * Opens a write transaction and takes the sequencing lock, in one round trip: READ
   * COMMITTED, a durable commit (write.ts), a bounded wait, then the log's head row FOR
   * UPDATE, held until COMMIT or ROLLBACK. The log id is a checked integer, so it can be
   * written inline in this simple (parameterless) multi-statement query.
   */
  beginAndLock(logId: number, lockTimeoutMs: number): string {
    if (!Number.isSafeInteger(logId)) throw new TypeError(`log id ${logId} is not an integer`);
    return [
      'BEGIN ISOLATION LEVEL READ COMMITTED, READ WRITE',
      "SELECT set_config('synchronous_commit', 'on', true) WHERE current_setting('synchronous_commit') = 'off'",
      `SET LOCAL lock_timeout = ${Math.max(0, Math.floor(lockTimeoutMs))}`,
      `SELECT size, last_hash, frontier FROM ${this.s}.logs WHERE log_id = ${logId} FOR UPDATE`,
    ].join(';\n');
  }

  /**
   * Entries matching `where` (over the entries table, `log_id = $1` included), with a page: in
   * index order, at most `limit`; each with its values and erasures aggregated as JSON. The
   * inner query picks the page first, so side rows are read for that page only, in the same
   * statement (one snapshot: an entry and its values are never seen half erased).
   */
  entries(where: string, page?: { order: 'ASC' | 'DESC'; limit: string }): string {
    const s = this.s;
    const cols = ENTRY_COLUMNS.map(quote);
    const order = page ? `ORDER BY idx ${page.order}` : '';
    return `SELECT ${cols.map((c) => `e.${c}`).join(', ')},
  CASE WHEN e.commitments IS NULL THEN NULL ELSE
    (SELECT json_agg(json_build_array(x.field, x.value, x.salt)) FROM ${s}.entry_secrets x
      WHERE x.log_id = e.log_id AND x.idx = e.idx) END AS secrets,
  CASE WHEN e.commitments IS NULL THEN NULL ELSE
    (SELECT json_agg(json_build_array(x.field, x.erasure_idx)) FROM ${s}.erasures x
      WHERE x.log_id = e.log_id AND x.idx = e.idx) END AS erased
FROM (SELECT log_id, ${cols.join(', ')} FROM ${s}.entries WHERE ${where}
      ${page ? `${order} LIMIT ${page.limit}` : ''}) e
${order}`;
  }
}
