/**
 * Logs moved to another cluster (migration 9, docs/clusters.md): the mark that makes a log
 * read-only in this database, and reading it. The mark is taken under the log's head lock, so
 * it lands after every append already holding the head and before any later one: from its
 * commit on, the database itself refuses every write to the log (EV006), whichever server,
 * with whatever map, tries.
 */
import type { PgPool } from './driver.ts';
import { pgError } from './errors.ts';
import { ident } from './migrations.ts';

/** What moves need of a PostgreSQL store (PostgresStore has both). */
export interface PgHandle {
  readonly pool: PgPool;
  readonly schema: string;
}

export function isPgHandle(s: unknown): s is PgHandle {
  const h = s as Partial<PgHandle>;
  return typeof h?.schema === 'string' && typeof h.pool?.query === 'function';
}

/** The cluster a log moved to, or undefined while it is writable here. */
export async function movedTo(h: PgHandle, logId: number): Promise<string | undefined> {
  try {
    const { rows } = await h.pool.query<{ moved_to: string }>(
      `SELECT moved_to FROM ${ident(h.schema)}.moved_logs() WHERE log_id = $1`,
      [logId],
    );
    return rows[0]?.moved_to;
  } catch (e) {
    throw pgError(e);
  }
}

/** Every log moved away from this database: log id to cluster. */
export async function movedLogs(h: PgHandle): Promise<Map<number, string>> {
  try {
    const { rows } = await h.pool.query<{ log_id: number; moved_to: string }>(
      `SELECT log_id, moved_to FROM ${ident(h.schema)}.moved_logs()`,
    );
    return new Map(rows.map((r) => [Number(r.log_id), r.moved_to]));
  } catch (e) {
    throw pgError(e);
  }
}

/**
 * Marks the log moved to `cluster` (the owner only): waits for the head lock, so appends in
 * flight commit first. Returns the cluster it was already marked for, if it was.
 */
export async function markMoved(h: PgHandle, logId: number, cluster: string, at: string): Promise<string> {
  const s = ident(h.schema);
  const client = await h.pool.connect().catch((e: unknown) => {
    throw pgError(e);
  });
  let broken: Error | undefined;
  try {
    await client.query('BEGIN');
    await client.query(`SELECT size FROM ${s}.logs WHERE log_id = $1 FOR UPDATE`, [logId]);
    const { rows } = await client.query<{ moved_to: string }>(
      `INSERT INTO ${s}.log_moves (log_id, moved_to, moved_at) VALUES ($1, $2, $3)
         ON CONFLICT (log_id) DO NOTHING RETURNING moved_to`,
      [logId, cluster, at],
    );
    let to = rows[0]?.moved_to;
    if (to === undefined) {
      const prior = await client.query<{ moved_to: string }>(
        `SELECT moved_to FROM ${s}.log_moves WHERE log_id = $1`,
        [logId],
      );
      to = prior.rows[0]!.moved_to;
    }
    await client.query('COMMIT');
    return to;
  } catch (e) {
    await client.query('ROLLBACK').catch((x: Error) => {
      broken = x;
    });
    throw pgError(e);
  } finally {
    client.release(broken);
  }
}
