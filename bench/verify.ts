/**
 * Verification of a whole log: entries per second and peak memory (it must stay flat), on the
 * main thread alone (1) and with a worker thread per core (N), in the same run; then the same
 * log exported as a bundle and verified offline (verify-bundle), 1 and N again. Beside them, the
 * limit rows: reading and hashing every row with no check, and the schema check alone. Each
 * verification runs in a process of its own (bench/verify-child.ts), so that its peak memory
 * is not what an earlier one left behind (heap, idle threads).
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { exportBundle } from '../src/ledger/export.ts';
import type { BuiltLog } from './built-log.ts';
import { progress } from './support.ts';
import type { ChildResult } from './verify-child.ts';

export interface VerifyResult {
  entries: number;
  /**
   * `log`: Ledger.verify of the SQLite file; `bundle`: verifyBundleFile of its export. The limit
   * rows (bench/verify-child.ts), one thread each: `read`, every entry row read and hashed with
   * no check; `schema`, the schema check (PRAGMA integrity_check) alone.
   */
  what: 'log' | 'bundle' | 'read' | 'schema';
  /** Threads checking entries: 1 is the main thread alone. */
  workers: number;
  /** How fast the log was built (appendMany in chunks), possibly by an earlier run. */
  build_events_per_s: number;
  entries_per_s: number;
  seconds: number;
  /** Peak resident memory of the process that verified (worker threads included; its own process). */
  peak_rss_mb: number;
  ok: boolean;
}

export async function benchVerify(log: BuiltLog): Promise<VerifyResult[]> {
  const entries = log.build.entries;
  const n = Math.max(2, availableParallelism());
  const out: VerifyResult[] = [];
  const row = (what: VerifyResult['what'], workers: number, r: ChildResult) =>
    out.push({
      entries,
      what,
      workers,
      build_events_per_s: log.build.events_per_s,
      entries_per_s: Math.round(entries / r.seconds),
      seconds: Math.round(r.seconds * 10) / 10,
      peak_rss_mb: r.peak_rss_mb,
      ok: r.ok && r.entries === entries,
    });
  const ledger = await log.open();
  const vkey = ledger.log.vkey;
  const dir = mkdtempSync(join(tmpdir(), 'evident-bench-bundle-'));
  const bundle = join(dir, 'bench.jsonl');
  try {
    for (const what of ['read', 'schema'] as const) {
      progress(`the limit of verifying ${entries}: ${what} alone, in a process of its own`);
      row(what, 1, await child([what, '1', log.db, vkey]));
    }
    for (const workers of [1, n]) {
      progress(`verifying ${entries} (${workers} thread(s)) in a process of its own`);
      row('log', workers, await child(['log', String(workers), log.db, vkey, log.key]));
    }
    progress(`exporting ${entries} as a bundle`);
    await writeFile(bundle, exportBundle(ledger));
    progress(`bundle: ${Math.round(statSync(bundle).size / 1e6)} MB`);
    for (const workers of [1, n]) {
      progress(`verifying the bundle of ${entries} (${workers} thread(s)) in a process of its own`);
      row('bundle', workers, await child(['bundle', String(workers), bundle, vkey]));
    }
  } finally {
    await ledger.close();
    rmSync(dir, { recursive: true, force: true });
  }
  return out;
}

/** bench/verify-child.ts with these arguments, from the sources as the benchmark runs; its progress shows. */
function child(args: string[]): Promise<ChildResult> {
  const p = spawn(
    process.execPath,
    ['--import', 'tsx', join(import.meta.dirname, 'verify-child.ts'), ...args],
    {
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  let stdout = '';
  p.stdout.setEncoding('utf8').on('data', (s: string) => {
    stdout += s;
  });
  return new Promise((resolve, reject) => {
    p.on('error', reject);
    p.on('close', (code) => {
      if (code !== 0) reject(new Error(`verify-child ${args.slice(0, 2).join(' ')} exited with ${code}`));
      else resolve(JSON.parse(stdout.trim().split('\n').pop()!) as ChildResult);
    });
  });
}
