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
  return (await moveState(h, logId)).movedTo;
}

/**
 * Where a log moved to (read-only here), or where it is being copied from (not to be served
 * here until the copy is verified).
 */
export async function moveState(
  h: PgHandle,
  logId: number,
): Promise<{ movedTo?: string; movingFrom?: string }> {
  const s = ident(h.schema);
  try {
    const { rows } = await h.pool.query<{ moved_to: string | null; moving_from: string | null }>(
      `SELECT (SELECT moved_to FROM ${s}.moved_logs() WHERE log_id = $1) AS moved_to,
              (SELECT moved_from FROM ${s}.incoming_logs() WHERE log_id = $1) AS moving_from`,
      [logId],
    );
    const r = rows[0];
    return {
      ...(r?.moved_to ? { movedTo: r.moved_to } : {}),
      ...(r?.moving_from ? { movingFrom: r.moving_from } : {}),
    };
  } catch (e) {
    throw pgError(e);
  }
}

/** Marks a copy being made here from cluster `from` (the owner only; again: no change). */
export async function markIncoming(h: PgHandle, logId: number, from: string, at: string): Promise<void> {
  try {
    await h.pool.query(
      `INSERT INTO ${ident(h.schema)}.log_incoming (log_id, moved_from, started_at) VALUES ($1, $2, $3)
         ON CONFLICT (log_id) DO NOTHING`,
      [logId, from, at],
    );
  } catch (e) {
    throw pgError(e);
  }
}

/** The copy is verified: servers may serve it here. */
export async function clearIncoming(h: PgHandle, logId: number): Promise<void> {
  try {
    await h.pool.query(`DELETE FROM ${ident(h.schema)}.log_incoming WHERE log_id = $1`, [logId]);
  } catch (e) {
    throw pgError(e);
  }
}

/** Every log moved away from this database, or still being copied here: log id to cluster. */
export async function movedLogs(h: PgHandle): Promise<Map<number, string>> {
  const s = ident(h.schema);
  try {
    const { rows } = await h.pool.query<{ log_id: number; moved_to: string }>(
      `SELECT log_id, moved_to FROM ${s}.moved_logs() UNION ALL SELECT log_id, moved_from FROM ${s}.incoming_logs()`,
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
