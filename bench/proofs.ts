/**
 * Inclusion and consistency proofs in library mode (Ledger.proveInclusion, proveConsistency) at
 * random indexes and sizes of a large log; the first inclusion proofs are checked against the
 * signed checkpoint's root, so that a fast wrong answer cannot pass.
 */
import { createReadStream, existsSync, writeFileSync } from 'node:fs';
import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { fromBase64, leafHash, verifyInclusion } from '../src/core/index.ts';
import type { BuiltLog } from './built-log.ts';
import { latencySummary, progress } from './support.ts';

/**
 * The state of the OS page cache when the proofs were timed. `warm`: the database file read
 * through once first, as on a server that has been answering from it (a large log's file may
 * be half out of the cache right after it was built). `cold`: the page cache dropped first (as
 * root only), the first proofs a restarted machine answers, every page from the disk.
 */
export type PageCache = 'warm' | 'cold';

export interface ProofResult {
  /** Absent in results written before the state was set. */
  page_cache?: PageCache;
  entries: number;
  build_events_per_s: number;
  samples: number;
  inclusion: { p50_ms: number; p99_ms: number };
  consistency: { p50_ms: number; p99_ms: number };
  /** Inclusion proofs checked against the checkpoint root: all verified. */
  ok: boolean;
}

const CHECKED = 50;
const WARM_UP = 50;

const DROP_CACHES = '/proc/sys/vm/drop_caches';

/** Whether this process may drop the page cache (root on Linux): what a cold run needs. */
export function canDropCaches(): boolean {
  return process.getuid?.() === 0 && existsSync(DROP_CACHES);
}

async function setPageCache(db: string, state: PageCache): Promise<void> {
  if (state === 'cold') {
    writeFileSync(DROP_CACHES, '1'); // clean pages only: the built log is checkpointed and closed
    return;
  }
  for (const file of [db, `${db}-wal`].filter((f) => existsSync(f))) {
    await pipeline(
      createReadStream(file, { highWaterMark: 1 << 20 }),
      new Writable({ write: (_c, _e, done) => done() }),
    );
  }
}

export async function benchProofs(
  log: BuiltLog,
  samples: number,
  pageCache: PageCache,
): Promise<ProofResult> {
  const n = log.build.entries;
  progress(`proofs at ${n}: page cache ${pageCache}`);
  await setPageCache(log.db, pageCache);
  const ledger = await log.open();
  try {
    const cp = await ledger.latestCheckpoint();
    if (cp?.size !== n) throw new Error(`the built log's checkpoint covers ${cp?.size}, not ${n}`);
    const rand = (below: number) => Math.floor(Math.random() * below);
    // Untimed first: statements prepared, code compiled, the first pages of the tree read.
    for (let s = 0; s < WARM_UP; s++) {
      await ledger.proveInclusion(rand(n), n);
      const to = 2 + rand(n - 1);
      await ledger.proveConsistency(1 + rand(to - 1), to);
    }
    const inclusion: number[] = [];
    let ok = true;
    for (let s = 0; s < samples; s++) {
      const index = rand(n);
      const t = performance.now();
      const proof = await ledger.proveInclusion(index, n);
      inclusion.push(performance.now() - t);
      if (s < CHECKED) {
        try {
          verifyInclusion(
            leafHash(fromBase64(proof.leaf)),
            index,
            n,
            proof.hashes.map((h) => fromBase64(h)),
            cp.root,
          );
        } catch {
          ok = false;
        }
      }
      if (s % 500 === 0) progress(`inclusion proofs at ${n}: ${s}/${samples}`);
    }
    const consistency: number[] = [];
    for (let s = 0; s < samples; s++) {
      const to = 2 + rand(n - 1);
      const from = 1 + rand(to - 1);
      const t = performance.now();
      await ledger.proveConsistency(from, to);
      consistency.push(performance.now() - t);
      if (s % 500 === 0) progress(`consistency proofs at ${n}: ${s}/${samples}`);
    }
    return {
      page_cache: pageCache,
      entries: n,
      build_events_per_s: log.build.events_per_s,
      samples,
      inclusion: latencySummary(inclusion),
      consistency: latencySummary(consistency),
      ok,
    };
  } finally {
    await ledger.close();
  }
}
