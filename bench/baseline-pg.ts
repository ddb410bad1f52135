/**
 * The naive hash-chain design on PostgreSQL, for comparison (not part of evident): its table, trigger and
 * four indexes, in a schema of its own; log() reads "the last hash" (ORDER BY timestamp DESC
 * LIMIT 1), then INSERTs, each statement its own transaction (autocommit, fsync on as the server
 * is configured); a pool of 10 connections, evident's default. verify() is its
 * verify_chain: every row, in timestamp order.
 */
import pg from 'pg';
import { computeHash, type NaiveCheck, type NaiveLog, naiveEntry, type Row, verifyRows } from './baseline.ts';
import { dropSchema, freshSchemaName, PG_URL, withClient } from './pg.ts';

const schemaSql = (s: string) => `
CREATE SCHEMA ${s};
CREATE TABLE ${s}.audit_logs (
  id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
  timestamp TIMESTAMPTZ NOT NULL DEFAULT NOW(),
  actor_id TEXT NOT NULL,
  actor_type TEXT NOT NULL CHECK (actor_type IN ('user', 'service', 'admin', 'system')),
  action TEXT NOT NULL,
  resource_type TEXT NOT NULL,
  resource_id TEXT NOT NULL,
  result TEXT NOT NULL CHECK (result IN ('success', 'failure', 'denied')),
  ip_address INET,
  session_id TEXT,
  reason TEXT,
  changed_fields TEXT[],
  prev_hash TEXT,
  hash TEXT NOT NULL UNIQUE
);
CREATE FUNCTION ${s}.prevent_audit_modification() RETURNS TRIGGER AS $$
BEGIN
  RAISE EXCEPTION 'Audit logs are immutable';
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER audit_logs_immutable BEFORE UPDATE OR DELETE ON ${s}.audit_logs
  FOR EACH ROW EXECUTE FUNCTION ${s}.prevent_audit_modification();
CREATE INDEX idx_audit_actor_id ON ${s}.audit_logs(actor_id);
CREATE INDEX idx_audit_resource ON ${s}.audit_logs(resource_type, resource_id);
CREATE INDEX idx_audit_timestamp ON ${s}.audit_logs(timestamp DESC);
CREATE INDEX idx_audit_action ON ${s}.audit_logs(action);
`;

const COLUMNS = [
  'id',
  'timestamp',
  'actor_id',
  'actor_type',
  'action',
  'resource_type',
  'resource_id',
  'result',
  'ip_address',
  'session_id',
  'reason',
  'changed_fields',
  'prev_hash',
  'hash',
] as const;

export class NaivePgLogger implements NaiveLog {
  private constructor(
    readonly schema: string,
    private readonly pool: pg.Pool,
  ) {}

  static async open(): Promise<NaivePgLogger> {
    const schema = freshSchemaName('naive');
    await withClient((c) => c.query(schemaSql(`"${schema}"`)));
    return new NaivePgLogger(schema, new pg.Pool({ connectionString: PG_URL, max: 10 }));
  }

  /** The naive log(): await the last hash, then insert; two statements, two transactions. */
  async log(ev: Record<string, unknown>): Promise<Row> {
    const last = await this.pool.query(
      `SELECT hash FROM "${this.schema}".audit_logs ORDER BY timestamp DESC LIMIT 1`,
    );
    const entry = naiveEntry(ev, (last.rows[0] as { hash: string } | undefined)?.hash);
    entry.hash = computeHash(entry);
    await this.pool.query(
      `INSERT INTO "${this.schema}".audit_logs (${COLUMNS.join(', ')})
       VALUES (${COLUMNS.map((_, i) => `$${i + 1}`).join(', ')})`,
      COLUMNS.map((c) => entry[c]),
    );
    return entry;
  }

  async verify(): Promise<NaiveCheck> {
    const r = await this.pool.query(`SELECT * FROM "${this.schema}".audit_logs ORDER BY timestamp ASC`);
    // The hash was computed over the ISO string the naive log() wrote; TIMESTAMPTZ gives it back as a Date.
    const rows = (r.rows as Record<string, unknown>[]).map(
      (x): Row => ({ ...(x as Row), timestamp: (x.timestamp as Date).toISOString() }),
    );
    return verifyRows(rows);
  }

  async dispose(): Promise<void> {
    await this.pool.end();
    await dropSchema(this.schema);
  }
}
