/**
 * Verifies a log three ways and holds the reports equal: as by default (the main thread alone,
 * for a small log), then with runs of 8 entries on the main thread alone and on two worker
 * threads (src/ledger/verify-pool.ts), so that a log of a few dozen entries crosses many runs
 * and every tamper case checks that the parallel path finds the same faults at the same indexes.
 */
import assert from 'node:assert/strict';
import type { EvidentError } from '../../src/core/errors.ts';
import type { VerifyReport } from '../../src/core/verify/report.ts';
import { verifyBundleFile } from '../../src/ledger/export.ts';
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

/**
 * verifyBundleFile three ways, as verifyEveryWay: the same report, or the same error (code and
 * details) when the bundle is refused.
 */
export async function verifyBundleEveryWay(
  path: string,
  o: Parameters<typeof verifyBundleFile>[1],
): Promise<Awaited<ReturnType<typeof verifyBundleFile>>> {
  const settle = async (x: Parameters<typeof verifyBundleFile>[1]) => {
    try {
      return { ok: await verifyBundleFile(path, x) };
    } catch (e) {
      return { error: e as EvidentError };
    }
  };
  const plain = await settle(o);
  for (const extra of [
    { workers: 1, runEntries: 8 },
    { workers: 2, runEntries: 8 },
  ]) {
    const other = await settle({ ...o, ...extra });
    if (plain.error) {
      assert.ok(other.error, `refused with ${extra.workers} worker(s) too`);
      assert.deepEqual([other.error.code, other.error.details], [plain.error.code, plain.error.details]);
    } else assert.deepEqual(other.ok, plain.ok, `${extra.workers} worker(s): the same report`);
  }
  if (plain.error) throw plain.error;
  return plain.ok!;
}
