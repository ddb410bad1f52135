/**
 * A verification worker thread (./verify-pool.ts): opens the SQLite file read-only through its
 * own connection and, on request, checks a run of entries (../core/verify/runs.ts) or runs the
 * schema check. It sends summaries back, never a verdict: the main thread decides.
 */
import { parentPort, workerData } from 'node:worker_threads';
import './native-hash.ts';
import { checkRun } from '../core/verify/runs.ts';
import { openSqliteStore } from '../store/sqlite/index.ts';
import { isKeyEvent } from './key-check.ts';
import type { WorkerReply, WorkerTask } from './verify-pool.ts';

const { db, logId } = workerData as { db: string; logId: number };
const port = parentPort!;
const store = await openSqliteStore(db, { readonly: true });

port.on('message', (task: WorkerTask) => {
  void handle(task).then(
    (reply) => {
      const transfer = reply.type === 'run' && reply.run ? [reply.run.leaves.buffer as ArrayBuffer] : [];
      port.postMessage(reply, transfer);
    },
    (e: unknown) =>
      port.postMessage({ type: 'error', id: task.id, message: String((e as Error)?.message ?? e) }),
  );
});
port.postMessage({ type: 'ready', id: -1 } satisfies WorkerReply);

async function handle(task: WorkerTask): Promise<WorkerReply> {
  if (task.type === 'schema') return { type: 'schema', id: task.id, schema: await store.schemaCheck() };
  // One more than the run can hold, so that a duplicated index shows as a run that is not clean.
  const entries = await store.entries(logId, task.from, task.to, task.to - task.from + 1);
  const stored = await store.nodesCompleted(logId, task.from, task.to);
  const run = checkRun(entries, task.from, task.to, stored, isKeyEvent);
  return { type: 'run', id: task.id, run };
}
