/**
 * Witnessing state on PostgreSQL: a log's gathered cosignatures, and `evident witness`'s own
 * state. A witness step locks its origin with a transaction-scoped advisory lock, so steps on
 * one origin take turns across every process and connection (tlog-witness: the check against
 * the latest checkpoint and the update are atomic); COMMIT makes the record durable before the
 * cosignature leaves.
 */
import type { StoredCosignature, WitnessedCheckpoint, WitnessedLog, WitnessTx } from '../types.ts';
import { type PgPool, withClient } from './driver.ts';
import { pgError } from './errors.ts';

interface WitnessRow {
  origin: string;
  size: number;
  root: Uint8Array;
  note: string;
  cosigned_at: string;
}

const toWitnessed = (r: WitnessRow): WitnessedCheckpoint => ({
  origin: r.origin,
  size: r.size,
  root: new Uint8Array(r.root),
  note: r.note,
  cosignedAt: r.cosigned_at,
});

export async function addCosignatures(
  pool: PgPool,
  s: string,
  logId: number,
  cs: StoredCosignature[],
): Promise<void> {
  if (cs.length === 0) return;
  const values: unknown[] = [];
  const rows = cs.map((c, i) => {
    values.push(logId, c.size, c.name, c.keyId, c.line, c.createdAt);
    const b = i * 6;
    return `($${b + 1}, $${b + 2}, $${b + 3}, $${b + 4}, $${b + 5}, $${b + 6})`;
  });
  await pool.query(
    `INSERT INTO ${s}.checkpoint_cosignatures (log_id, size, name, key_id, line, created_at)
       VALUES ${rows.join(', ')} ON CONFLICT DO NOTHING`,
    values,
  );
}

export async function cosignatures(
  pool: PgPool,
  s: string,
  logId: number,
  size: number,
): Promise<StoredCosignature[]> {
  const { rows } = await pool.query<{
    size: number;
    name: string;
    key_id: string;
    line: string;
    created_at: string;
  }>(
    `SELECT size, name, key_id, line, created_at FROM ${s}.checkpoint_cosignatures
       WHERE log_id = $1 AND size = $2 ORDER BY name, key_id`,
    [logId, size],
  );
  return rows.map((r) => ({
    size: r.size,
    name: r.name,
    keyId: r.key_id,
    line: r.line,
    createdAt: r.created_at,
  }));
}

export async function cosignedSizes(
  pool: PgPool,
  s: string,
  logId: number,
): Promise<{ name: string; keyId: string; size: number }[]> {
  const { rows } = await pool.query<{ name: string; key_id: string; size: number }>(
    `SELECT name, key_id, MAX(size) AS size FROM ${s}.checkpoint_cosignatures
       WHERE log_id = $1 GROUP BY name, key_id`,
    [logId],
  );
  return rows.map((r) => ({ name: r.name, keyId: r.key_id, size: r.size }));
}

export async function recordWitnessedLog(pool: PgPool, s: string, l: WitnessedLog): Promise<boolean> {
  const r = await pool.query(
    `INSERT INTO ${s}.witness_logs (origin, vkey, added_at) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING`,
    [l.origin, l.vkey, l.addedAt],
  );
  return (r as { rowCount?: number | null }).rowCount === 1;
}

export async function witnessedLogs(pool: PgPool, s: string): Promise<WitnessedLog[]> {
  const { rows } = await pool.query<{ origin: string; vkey: string; added_at: string }>(
    `SELECT origin, vkey, added_at FROM ${s}.witness_logs ORDER BY added_at, origin`,
  );
  return rows.map((r) => ({ origin: r.origin, vkey: r.vkey, addedAt: r.added_at }));
}

export async function witnessStep<T>(
  pool: PgPool,
  s: string,
  origin: string,
  fn: (tx: WitnessTx) => Promise<T>,
): Promise<T> {
  try {
    return await withClient(pool, async (client, broken) => {
      try {
        await client.query('BEGIN');
        await client.query('SELECT pg_advisory_xact_lock(hashtextextended($1, 0))', [
          `evident.witness:${origin}`,
        ]);
        const result = await fn({
          latest: async () => {
            const { rows } = await client.query<WitnessRow>(
              `SELECT * FROM ${s}.witness_checkpoints WHERE origin = $1 ORDER BY size DESC LIMIT 1`,
              [origin],
            );
            return rows[0] && toWitnessed(rows[0]);
          },
          record: async (cp) => {
            await client.query(
              `INSERT INTO ${s}.witness_checkpoints (origin, size, root, note, cosigned_at) VALUES ($1, $2, $3, $4, $5)`,
              [cp.origin, cp.size, cp.root, cp.note, cp.cosignedAt],
            );
          },
        });
        await client.query('COMMIT');
        return result;
      } catch (e) {
        await client.query('ROLLBACK').catch(broken);
        throw e;
      }
    });
  } catch (e) {
    throw pgError(e);
  }
}
