/**
 * One verification in a process of its own (bench/verify.ts starts it), so that its peak
 * memory is its own and not what an earlier verification left behind:
 * `node --import tsx bench/verify-child.ts log|bundle|read|schema WORKERS PATH VKEY [DB_KEY]`.
 * It prints one JSON line: the report's verdict, the seconds taken and the process's peak
 * resident memory (getrusage's maxrss, worker threads included).
 *
 * `read` and `schema` are the limit rows, the parts of a verification no verifier of this file
 * can skip, each alone on one thread: `read` reads every entry row (all columns, pages of
 * 1,000 in index order, raw arrays) and hashes each row's values with SHA-256, checking nothing;
 * `schema` is the store's schema check alone (sqlite_schema against the migrations, and
 * PRAGMA integrity_check, which reads every index against its table).
 */
import { createHash } from 'node:crypto';
import Database from 'better-sqlite3';
import { verifierFromKey } from '../src/core/note-keys.ts';
import { verifyBundleFile } from '../src/ledger/export.ts';
import { openLedger, openStore } from '../src/ledger/index.ts';
import { COLS } from '../src/store/sqlite/entry-reads.ts';
import { progress } from './support.ts';

export interface ChildResult {
  ok: boolean;
  entries: number;
  seconds: number;
  peak_rss_mb: number;
}

const [what, workersArg, path, vkey, key] = process.argv.slice(2);
const workers = Number(workersArg);
if (
  !['log', 'bundle', 'read', 'schema'].includes(what ?? '') ||
  !Number.isSafeInteger(workers) ||
  !path ||
  !vkey
)
  throw new Error('usage: verify-child.ts log|bundle|read|schema WORKERS PATH VKEY [KEY]');
const verifiers = [verifierFromKey(vkey)];
const onProgress = (done: number) => progress(`verifying the ${what} (${workers} thread(s)): ${done}`);
let ok: boolean;
let entries: number;
let seconds: number;
if (what === 'log') {
  const ledger = await openLedger({ db: path, ...(key ? { key } : {}), readonly: true });
  try {
    const t0 = performance.now();
    const r = await ledger.verify({ verifiers, workers, onProgress });
    seconds = (performance.now() - t0) / 1000;
    ok = r.ok;
    entries = r.entries;
  } finally {
    await ledger.close();
  }
} else if (what === 'read') {
  const db = new Database(path, { readonly: true });
  try {
    const t0 = performance.now();
    const logId = db.prepare("SELECT log_id FROM logs WHERE name = 'default'").pluck().get();
    const page = db
      .prepare(`SELECT ${COLS} FROM entries WHERE log_id = ? AND idx >= ? ORDER BY idx LIMIT 1000`)
      .raw(true);
    entries = 0;
    for (let from = 0; ; ) {
      const rows = page.all(logId, from) as unknown[][];
      for (const r of rows) createHash('sha256').update(JSON.stringify(r)).digest();
      entries += rows.length;
      if (rows.length < 1000) break;
      from = (rows.at(-1)![0] as number) + 1;
      if (entries % 100_000 === 0) onProgress(entries);
    }
    seconds = (performance.now() - t0) / 1000;
    ok = true;
  } finally {
    db.close();
  }
} else if (what === 'schema') {
  const store = await openStore(path, { readonly: true });
  try {
    const t0 = performance.now();
    const r = await store.schemaCheck();
    seconds = (performance.now() - t0) / 1000;
    ok = r.drifts.length === 0;
    const head = await store.head((await store.getLog('default'))!.id);
    entries = head.size;
  } finally {
    await store.close();
  }
} else {
  const t0 = performance.now();
  const { report } = await verifyBundleFile(path, { verifiers, workers, onProgress });
  seconds = (performance.now() - t0) / 1000;
  ok = report.faults.length === 0;
  entries = report.entries;
}
const out: ChildResult = {
  ok,
  entries,
  seconds,
  peak_rss_mb: Math.round((process.resourceUsage().maxRSS * 1024) / 1e6),
};
process.stdout.write(`${JSON.stringify(out)}\n`);
