/**
 * Verifies a log three ways and holds the reports equal: as by default (the main thread alone,
 * for a small log), then with runs of 8 entries on the main thread alone and on two worker
 * threads (src/ledger/verify-pool.ts), so that a log of a few dozen entries crosses many runs
 * and every tamper case checks that the parallel path finds the same faults at the same indexes.
 */
import assert from 'node:assert/strict';
import type { VerifyReport } from '../../src/core/verify/report.ts';
import type { Ledger } from '../../src/ledger/ledger.ts';
import type { VerifyOptions } from '../../src/ledger/verify.ts';

export async function verifyEveryWay(l: Ledger, o: VerifyOptions = {}): Promise<VerifyReport> {
  const plain = await l.verify(o);
  const one = await l.verify({ ...o, workers: 1, runEntries: 8 });
  const two = await l.verify({ ...o, workers: 2, runEntries: 8 });
  assert.deepEqual(one, plain, 'runs of 8 entries on the main thread: the same report');
  assert.deepEqual(two, plain, 'two worker threads: the same report');
  return plain;
}
