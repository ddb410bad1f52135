/**
 * One verification in a process of its own (bench/verify.ts starts it), so that its peak
 * memory is its own and not what an earlier verification left behind:
 * `node --import tsx bench/verify-child.ts log|bundle WORKERS PATH VKEY [DB_KEY]`. It prints
 * one JSON line: the report's verdict, the seconds taken and the process's peak resident memory
 * (getrusage's maxrss, worker threads included).
 */
import { verifierFromKey } from '../src/core/note-keys.ts';
import { verifyBundleFile } from '../src/ledger/export.ts';
import { openLedger } from '../src/ledger/index.ts';
import { progress } from './support.ts';

export interface ChildResult {
  ok: boolean;
  entries: number;
  seconds: number;
  peak_rss_mb: number;
}

const [what, workersArg, path, vkey, key] = process.argv.slice(2);
const workers = Number(workersArg);
if ((what !== 'log' && what !== 'bundle') || !Number.isSafeInteger(workers) || !path || !vkey)
  throw new Error('usage: verify-child.ts log|bundle WORKERS PATH VKEY [KEY]');
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
