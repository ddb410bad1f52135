/**
 * A verification worker thread (./verify-pool.ts). For each verification (a session) it opens
 * the SQLite file read-only through its own connection, when the session's first task comes,
 * and closes it when the session ends. A task checks a run of entries (../core/verify/runs.ts)
 * or runs the schema check. It sends summaries back, never a verdict: the main thread decides.
 */
import { parentPort } from 'node:worker_threads';
import type { Entry } from '../core/event/entry.ts';
import { parseJson } from '../core/json.ts';
import { checkRun, type RunSummary } from '../core/verify/runs.ts';
import { openSqliteStore, type SqliteStore } from '../store/sqlite/index.ts';
import { BUNDLE_LINE_MAX } from './export.ts';
import { isKeyEvent } from './key-check.ts';
import { nativeLeafHex } from './native-hash.ts';
import type { WorkerReply, WorkerTask } from './verify-pool.ts';

const port = parentPort!;
const open = new Map<number, Promise<SqliteStore>>();
const ended = new Set<number>();

port.on('message', (task: WorkerTask) => {
  void handle(task).then(
    (reply) => {
      if (reply === undefined) return;
      const transfer = reply.type === 'run' && reply.run ? [reply.run.leaves.buffer as ArrayBuffer] : [];
      port.postMessage(reply, transfer);
    },
    (e: unknown) =>
      port.postMessage({
        type: 'error',
        id: task.id,
        message: String((e as Error)?.message ?? e),
      } satisfies WorkerReply),
  );
});

async function handle(task: WorkerTask): Promise<WorkerReply | undefined> {
  if (task.type === 'end') {
    ended.add(task.session);
    const s = open.get(task.session);
    open.delete(task.session);
    await (await s?.catch(() => undefined))?.close();
    return undefined;
  }
  if (task.type === 'lines') return { type: 'run', id: task.id, run: bundleRun(task.lines) };
  if (ended.has(task.session)) throw new Error('the verification has ended');
  let s = open.get(task.session);
  if (!s) {
    s = openSqliteStore(task.db, { readonly: true });
    open.set(task.session, s);
  }
  const store = await s;
  if (task.type === 'schema') return { type: 'schema', id: task.id, schema: await store.schemaCheck() };
  // One more than the run can hold, so that a duplicated index shows as a run that is not clean.
  const entries = await store.entries(task.logId, task.from, task.to, task.to - task.from + 1);
  const stored = await store.nodesCompleted(task.logId, task.from, task.to);
  return {
    type: 'run',
    id: task.id,
    run: checkRun(entries, task.from, task.to, stored, isKeyEvent, nativeLeafHex),
  };
}

/** The lines as a clean run, or undefined (the main thread then parses them and says why). */
function bundleRun(lines: readonly string[]): RunSummary | undefined {
  const entries: Entry[] = [];
  for (const line of lines) {
    let v: unknown;
    try {
      v = parseJson(line, { maxLength: BUNDLE_LINE_MAX });
    } catch {
      return undefined;
    }
    if (typeof v !== 'object' || v === null || Array.isArray(v)) return undefined;
    entries.push(v as Entry);
  }
  const start = entries[0]?.index;
  if (!Number.isSafeInteger(start) || (start as number) < 0) return undefined;
  return checkRun(
    entries,
    start as number,
    (start as number) + entries.length,
    undefined,
    undefined,
    nativeLeafHex,
  );
}
