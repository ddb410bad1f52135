/**
 * A verification worker thread (./verify-pool.ts). For each verification (a session) it opens
 * the SQLite file read-only through its own connection, when the session's first task comes,
 * and closes it when the session ends. A task checks a run of entries (../core/verify/runs.ts)
 * or runs the schema check. It sends summaries back, never a verdict: the main thread decides.
 */
import { parentPort } from 'node:worker_threads';
import type { Entry } from '../core/event/entry.ts';
import { parseJson } from '../core/json.ts';
import { RunCheck, type RunSummary } from '../core/verify/runs.ts';
import { openSqliteStore, type SqliteStore } from '../store/sqlite/index.ts';
import { BUNDLE_LINE_MAX, batchLines, lineCount } from './bundle-lines.ts';
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
  if (task.type === 'lines') return { type: 'run', id: task.id, run: bundleRun(task.bytes) };
  if (ended.has(task.session)) throw new Error('the verification has ended');
  let s = open.get(task.session);
  if (!s) {
    s = openSqliteStore(task.db, { readonly: true, cacheKiB: WORKER_CACHE_KIB });
    open.set(task.session, s);
  }
  const store = await s;
  if (task.type === 'schema') return { type: 'schema', id: task.id, schema: await store.schemaCheck() };
  // Read a slice at a time, so that a run's entries die young: one more than each slice can
  // hold, so that a duplicated index shows as a run that is not clean.
  const run = new RunCheck(task.from, task.to, isKeyEvent, nativeLeafHex);
  for (let a = task.from; a < task.to; a += READ_SLICE) {
    const b = Math.min(task.to, a + READ_SLICE);
    const entries = await store.entries(task.logId, a, b, b - a + 1);
    if (entries.length !== b - a) return { type: 'run', id: task.id, run: undefined };
    for (const e of entries) if (!run.add(e)) return { type: 'run', id: task.id, run: undefined };
  }
  const stored = await store.nodesCompleted(task.logId, task.from, task.to);
  return { type: 'run', id: task.id, run: run.finish(stored) };
}

/**
 * SQLite's page cache per connection of a worker, in KiB: a worker reads its runs once, in
 * order; the default (16 MB a connection, two connections a thread) only grows the process.
 */
const WORKER_CACHE_KIB = 2048;

/** Entries read from the store at once while checking a run. */
const READ_SLICE = 256;

/**
 * A batch of bundle lines (./bundle-lines.ts) as a clean run, or undefined (the main thread
 * then parses them and says why). Each line is decoded, parsed and checked in turn.
 */
function bundleRun(bytes: Uint8Array): RunSummary | undefined {
  let run: RunCheck | undefined;
  for (const line of batchLines(bytes)) {
    let v: unknown;
    try {
      v = parseJson(line, { maxLength: BUNDLE_LINE_MAX });
    } catch {
      return undefined;
    }
    if (typeof v !== 'object' || v === null || Array.isArray(v)) return undefined;
    const e = v as Entry;
    if (run === undefined) {
      const start = e.index;
      if (!Number.isSafeInteger(start) || start < 0) return undefined;
      run = new RunCheck(start, start + lineCount(bytes), undefined, nativeLeafHex);
    }
    if (!run.add(e)) return undefined;
  }
  return run?.finish();
}
