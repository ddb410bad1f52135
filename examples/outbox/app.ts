/**
 * A clinic's patient update, audited in the same PostgreSQL transaction: the record changes and
 * its audit event is queued together, or neither happens. `evident relay` moves the event into
 * the log. Run it against a database with a `patients` table:
 * DATABASE_URL=postgres://app@localhost/clinic node --import tsx examples/outbox/app.ts
 */
import { installOutbox, recordInTransaction } from 'evident/outbox';
import pg from 'pg';

const pool = new pg.Pool({ connectionString: process.env['DATABASE_URL'] });
await installOutbox(pool); // idempotent: creates public.evident_outbox when missing

export async function renamePatient(nurseId: string, patientId: string, name: string, ip: string) {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    const { rows } = await client.query<{ name: string }>(
      'SELECT name FROM patients WHERE id = $1 FOR UPDATE',
      [patientId],
    );
    if (rows.length === 0) throw new Error(`no patient ${patientId}`);
    await client.query('UPDATE patients SET name = $2 WHERE id = $1', [patientId, name]);
    // Validated here: a bad event throws VALIDATION_FAILED and the ROLLBACK below undoes the update.
    const { id } = await recordInTransaction(
      client,
      {
        actor_id: nurseId,
        actor_type: 'user',
        action: 'update',
        resource_type: 'patient_record',
        resource_id: patientId,
        result: 'success',
        ip_address: ip,
        changed_fields: ['name'],
        old_values: { name: rows[0]!.name },
        new_values: { name },
      },
      { log: 'default' },
    );
    await client.query('COMMIT');
    return id; // the audit event's id: its key in the log once relayed
  } catch (e) {
    await client.query('ROLLBACK');
    throw e;
  } finally {
    client.release();
  }
}
