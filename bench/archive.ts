/**
 * Retention: sealing and archiving a large log to a directory target (entries/s, MB/s of
 * bundles), `archive verify` over the result (no database), and pruning the sealed segments
 * (seconds). The cached log is copied first: sealing appends a policy and a target event, and
 * pruning deletes rows. The same against an S3 target (an `s3://` URL with Object Lock) when one
 * is given.
 */
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { openDirectoryTarget } from '../src/archive/directory.ts';
import { archivePass } from '../src/archive/pass.ts';
import { buildPolicy, setPolicy } from '../src/archive/retention.ts';
import { openS3Target } from '../src/archive/s3.ts';
import { verifyArchive } from '../src/archive/verify.ts';
import { formatVerifierKey, verifierFromKey } from '../src/core/note-keys.ts';
import { loadKeyRing, openLedger } from '../src/ledger/index.ts';
import type { BuiltLog } from './built-log.ts';
import { progress } from './support.ts';

export interface ArchiveResult {
  /** `directory`, or the S3 target's URL. */
  target?: string;
  entries: number;
  segment_entries: number;
  segments: number;
  bundle_bytes: number;
  seal_seconds: number;
  seal_entries_per_s: number;
  seal_mb_per_s: number;
  verify_seconds: number;
  verify_entries_per_s: number;
  prune_seconds: number;
  pruned_entries: number;
  ok: boolean;
}

export async function benchArchive(
  log: BuiltLog,
  entries: number,
  segment: number,
  s3Url?: string,
): Promise<ArchiveResult> {
  const dir = mkdtempSync(join(tmpdir(), 'evident-bench-archive-'));
  try {
    const db = join(dir, 'audit.db');
    copyFileSync(log.db, db);
    const ledger = await openLedger({ db, key: log.key, checkpointIntervalMs: 3_600_000 });
    const origin = ledger.log.origin;
    const vkey = formatVerifierKey(origin, (await loadKeyRing(log.key)).forOrigin(origin).publicKey);
    try {
      await setPolicy(
        ledger.store,
        ledger.log,
        buildPolicy({ preset: 'custom', online: '0d', archive: '1y', segment: String(segment) }),
        { now: () => new Date(), force: true, reason: 'benchmark' },
      );
      const target = s3Url
        ? await openS3Target(s3Url)
        : await openDirectoryTarget(pathToFileURL(join(dir, 'archive')).href);
      let t0 = performance.now();
      const sealed = await archivePass({
        ledger,
        targets: [target],
        sealOpen: true,
        prune: false,
        stagingDir: dir,
        onProgress: (p) => p.last !== undefined && progress(`archive: sealed ${p.last + 1}`),
      });
      const sealSeconds = (performance.now() - t0) / 1000;
      const bytes = sealed.sealed.reduce((n, s) => n + s.bytes, 0);
      const count = (sealed.last_sealed ?? -1) + 1;

      t0 = performance.now();
      const report = await verifyArchive(target, {
        verifiers: [verifierFromKey(vkey)],
        onProgress: (p) => progress(`archive verify: ${p.segment}`),
      });
      const verifySeconds = (performance.now() - t0) / 1000;

      t0 = performance.now();
      const pruned = await archivePass({ ledger, targets: [target], stagingDir: dir });
      const pruneSeconds = (performance.now() - t0) / 1000;
      const prunedEntries = pruned.pruned.reduce((n, p) => n + p.entries, 0);
      const after = await ledger.verify({ verifiers: [verifierFromKey(vkey)] });
      if (s3Url) await target.close();
      return {
        target: s3Url ? target.url : 'directory',
        entries,
        segment_entries: segment,
        segments: sealed.sealed.length,
        bundle_bytes: bytes,
        seal_seconds: round(sealSeconds),
        seal_entries_per_s: Math.round(count / sealSeconds),
        seal_mb_per_s: round(bytes / 1e6 / sealSeconds),
        verify_seconds: round(verifySeconds),
        verify_entries_per_s: Math.round(count / verifySeconds),
        prune_seconds: round(pruneSeconds),
        pruned_entries: prunedEntries,
        ok: report.ok && after.ok,
      };
    } finally {
      await ledger.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const round = (x: number) => Math.round(x * 100) / 100;
