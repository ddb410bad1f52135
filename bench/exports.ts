/**
 * Export throughput per format on the built log: the bundle (its header's subtree hashes, then
 * every entry), and the SIEM record formats (OCSF, CEF, syslog, CSV), streamed through the same
 * code as `evident export`, the output counted and dropped. Also the heap's growth over the
 * run: a streaming export stays flat whatever the log's size.
 */
import { exportBundle } from '../src/ledger/export.ts';
import type { Ledger } from '../src/ledger/index.ts';
import { exportRecords } from '../src/ledger/record-export.ts';
import { progress } from './support.ts';

export interface ExportResult {
  format: 'bundle' | 'ocsf' | 'cef' | 'syslog' | 'csv';
  entries: number;
  seconds: number;
  entries_per_s: number;
  mb_per_s: number;
  /** Output bytes per entry, on average. */
  bytes_per_entry: number;
  /** Heap in use at the end minus at the start, after a collection when exposed (MB). */
  heap_growth_mb: number;
}

const FORMATS: ExportResult['format'][] = ['bundle', 'ocsf', 'cef', 'syslog', 'csv'];

export async function benchExports(ledger: Ledger): Promise<ExportResult[]> {
  const out: ExportResult[] = [];
  const gc = (globalThis as { gc?: () => void }).gc;
  for (const format of FORMATS) {
    gc?.();
    const heap0 = process.memoryUsage().heapUsed;
    const t0 = performance.now();
    let bytes = 0;
    let lines = 0;
    const stream =
      format === 'bundle' ? exportBundle(ledger) : exportRecords(ledger, { format, productVersion: 'bench' });
    for await (const chunk of stream) {
      bytes += chunk.length;
      if (++lines % 50_000 === 0) progress(`export ${format}: ${lines.toLocaleString('en-US')} lines`);
    }
    const seconds = (performance.now() - t0) / 1000;
    gc?.();
    const n = format === 'csv' || format === 'bundle' ? lines - 1 : lines;
    out.push({
      format,
      entries: n,
      seconds: Math.round(seconds * 100) / 100,
      entries_per_s: Math.round(n / seconds),
      mb_per_s: Math.round((bytes / seconds / 1e6) * 10) / 10,
      bytes_per_entry: Math.round(bytes / Math.max(1, n)),
      heap_growth_mb: Math.round(((process.memoryUsage().heapUsed - heap0) / 1e6) * 10) / 10,
    });
  }
  progress('');
  return out;
}
