/**
 * Alerts on PostgreSQL (docs/alerts.md): raising an alert is one INSERT ... ON CONFLICT DO
 * NOTHING on its key, so of several `evident serve` processes that see the same events exactly
 * one raises it; claiming a delivery is an UPDATE with FOR UPDATE SKIP LOCKED, so two
 * processes never send the same delivery at once.
 */
import { type AlertRow, alertFromRow } from '../alert-row.ts';
import type { AlertDelivery, StoredAlert } from '../types.ts';
import { type PgPool, withClient } from './driver.ts';

export async function raiseAlert(
  pool: PgPool,
  s: string,
  a: StoredAlert,
  sinks: readonly string[],
): Promise<boolean> {
  return withClient(pool, async (client, broken) => {
    try {
      await client.query('BEGIN');
      const r = await client.query(
        `INSERT INTO ${s}.alerts (alert_key, rule, log, subject, body, created_at)
           VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING`,
        [a.key, a.rule, a.log, a.subject, a.body, a.createdAt],
      );
      const raised = r.rowCount === 1;
      if (raised) {
        for (const sink of sinks) {
          await client.query(
            `INSERT INTO ${s}.alert_deliveries (alert_key, sink, next_at) VALUES ($1, $2, $3)`,
            [a.key, sink, a.createdAt],
          );
        }
      }
      await client.query('COMMIT');
      return raised;
    } catch (e) {
      await client.query('ROLLBACK').catch(broken);
      throw e;
    }
  });
}

export async function claimAlertDeliveries(
  pool: PgPool,
  s: string,
  now: string,
  leaseUntil: string,
  limit: number,
): Promise<AlertDelivery[]> {
  const { rows } = await pool.query<{ alert_key: string; sink: string; body: string; attempts: number }>(
    `WITH due AS (
       SELECT alert_key, sink FROM ${s}.alert_deliveries
        WHERE delivered_at IS NULL AND next_at <= $1
        ORDER BY next_at LIMIT $3 FOR UPDATE SKIP LOCKED)
     UPDATE ${s}.alert_deliveries d SET next_at = $2
       FROM due, ${s}.alerts a
      WHERE d.alert_key = due.alert_key AND d.sink = due.sink AND a.alert_key = d.alert_key
     RETURNING d.alert_key, d.sink, a.body, d.attempts`,
    [now, leaseUntil, limit],
  );
  return rows.map((r) => ({ key: r.alert_key, sink: r.sink, body: r.body, attempts: r.attempts }));
}

export async function alertDelivered(pool: PgPool, s: string, key: string, sink: string, at: string) {
  await pool.query(
    `UPDATE ${s}.alert_deliveries SET delivered_at = $3, attempts = attempts + 1, last_error = NULL
      WHERE alert_key = $1 AND sink = $2`,
    [key, sink, at],
  );
}

export async function alertRetry(
  pool: PgPool,
  s: string,
  key: string,
  sink: string,
  attempts: number,
  nextAt: string,
  error: string,
) {
  await pool.query(
    `UPDATE ${s}.alert_deliveries SET attempts = $3, next_at = $4, last_error = $5
      WHERE alert_key = $1 AND sink = $2 AND delivered_at IS NULL`,
    [key, sink, attempts, nextAt, error.slice(0, 500)],
  );
}

export async function alertQueueDepth(pool: PgPool, s: string): Promise<number> {
  const { rows } = await pool.query<{ n: string }>(
    `SELECT count(*) AS n FROM ${s}.alert_deliveries WHERE delivered_at IS NULL`,
  );
  return Number(rows[0]?.n ?? 0);
}

export async function alertsSince(
  pool: PgPool,
  s: string,
  since: string,
  limit: number,
): Promise<StoredAlert[]> {
  const { rows } = await pool.query<AlertRow>(
    `SELECT alert_key, rule, log, subject, body, created_at FROM ${s}.alerts
      WHERE created_at >= $1 ORDER BY created_at, alert_key LIMIT $2`,
    [since, limit],
  );
  return rows.map(alertFromRow);
}
