/** Putting rejected events back in the queue, once their cause is fixed (e.g. the log now exists). */
import { isEvidentError } from '../core/errors.ts';
import { pgError } from '../store/postgres/errors.ts';
import type { OutboxQueryable } from './pg.ts';
import { statementsFor } from './record.ts';
import { DEFAULT_OUTBOX_SCHEMA } from './sql.ts';

/**
 * Moves the rejected rows `seqs` back into the outbox, in their old order, behind whatever
 * waits there now; returns their new seqs. One statement: on a pool it is still atomic. An
 * event refused for its content (VALIDATION_FAILED, ID_CONFLICT) will be refused again.
 */
export async function requeueRejected(
  db: OutboxQueryable,
  seqs: readonly (string | number | bigint)[],
  options: { schema?: string } = {},
): Promise<string[]> {
  const st = statementsFor(options.schema ?? DEFAULT_OUTBOX_SCHEMA);
  try {
    const { rows } = await db.query<{ seq: string }>(st.requeue, [seqs.map(String)]);
    return rows.map((r) => r.seq);
  } catch (e) {
    throw isEvidentError(e) ? e : pgError(e);
  }
}
