/**
 * The append worker's thread (./appender.ts): its own connection to the store's file, on which
 * it writes the batches the main thread sealed, one transaction each, in the order they came.
 * Each commit is synchronous=FULL: the WAL is on disk before the answer leaves this thread.
 */
import { parentPort, workerData } from 'node:worker_threads';
import BetterSqlite3 from 'better-sqlite3';
import { commitIfHead, writeDurably } from './append-at.ts';
import type { AppendReply, AppendRequest, AppendWorkerData } from './appender.ts';

const data = workerData as AppendWorkerData;
const db = new BetterSqlite3(data.path, { fileMustExist: true });
db.pragma(`busy_timeout = ${data.busyTimeoutMs}`);
writeDurably(db);
// Checkpoints are the store's checkpointer's; this connection's own is its back-stop only.
db.pragma(`wal_autocheckpoint = ${data.autocheckpointPages}`);

const statements = new Map<string, BetterSqlite3.Statement>();
const stmt = (sql: string) => {
  let st = statements.get(sql);
  if (!st) {
    st = db.prepare(sql);
    statements.set(sql, st);
  }
  return st;
};

parentPort!.on('message', (m: AppendRequest | 'close') => {
  if (m === 'close') {
    db.close();
    process.exit(0);
  }
  let reply: AppendReply;
  try {
    stmt('BEGIN IMMEDIATE').run();
    reply = { seq: m.seq, written: commitIfHead(db, stmt, m.logId, m.expected, m.rows) };
  } catch (e) {
    const err = e as { code?: string; message?: string };
    reply = { seq: m.seq, error: { code: err.code ?? '', message: err.message ?? String(e) } };
  }
  parentPort!.postMessage(reply);
});
