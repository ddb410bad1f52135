/**
 * Verifies a log in a store: feeds the streaming verifier with pages of entries read in
 * index order (constant memory), the stored checkpoints and any kept outside. Then what no
 * hash covers but the log's meaning rests on: the schema (indexes, triggers, policies, grants)
 * against what the migrations create, and the API keys against the events that created them.
 */

import { availableParallelism } from 'node:os';
import { concatBytes } from '../core/bytes.ts';
import type { Entry } from '../core/event/entry.ts';
import { consistencyPlan, perfectSubtrees } from '../core/merkle/index.ts';
import { type NoteVerifier, verifierFromKey } from '../core/note-keys.ts';
import { verifyLog } from '../core/verify/log-verifier.ts';
import type { EntrySource } from '../core/verify/lookahead.ts';
import { type Fault, FaultKind, type PrunedReport, type VerifyReport } from '../core/verify/report.ts';
import { isRun } from '../core/verify/runs.ts';
import { NODE_WINDOW } from '../core/verify/tree-nodes.ts';
import type { SchemaDrift } from '../store/schema-drift.ts';
import type { ApiKeyStore, LogHead, LogInfo, PrunedRange, Store } from '../store/types.ts';
import { LEDGER_DEFAULTS } from './defaults.ts';
import { apiKeysOf, checkApiKeys, KeyEventsSeen } from './key-check.ts';
import { VerifyPool } from './verify-pool.ts';

export interface VerifyOptions {
  /** Keys trusted to sign this log's checkpoints. Default: the log's recorded verifier key, with a warning. */
  verifiers?: readonly NoteVerifier[];
  /**
   * Erasure keys trusted to authorise erasures (docs/formats.md, "Erasable fields and erasures"). Without, erasure
   * events are reported as unauthenticated; never taken from the database.
   */
  erasureVerifiers?: readonly NoteVerifier[];
  /** Signed checkpoints kept outside the database (the auditor's copy, a witness's). */
  trusted?: readonly string[];
  onProgress?: (entries: number, total: number) => void;
  pageSize?: number;
  /** The API keys to check against their audit events; default the store's own, if it keeps them. */
  apiKeys?: ApiKeyStore;
  /** Sees every page of entries as it is verified (a verified query filters them); verifies on the main thread only. */
  onEntries?: (page: readonly Entry[]) => void;
  /**
   * Threads that check entries: 1 verifies on the main thread alone; N > 1 starts N worker
   * threads (SQLite files only; ./verify-pool.ts). Default: the machine's available parallelism,
   * for logs of at least LEDGER_DEFAULTS.verifyParallelMinEntries entries. The report is the same.
   */
  workers?: number;
  /**
   * Entries per run a worker checks, and per read of stored tree nodes on every path: a power
   * of two, default NODE_WINDOW (4096). Small values let tests cross many runs in a small log.
   */
  runEntries?: number;
}

export async function verifyStoredLog(
  store: Store,
  log: LogInfo,
  o: VerifyOptions = {},
): Promise<VerifyReport> {
  const head = await store.head(log.id);
  // Small pages: a page's entries die young (cheap scavenges) instead of reaching the old
  // generation; 1000 verified about 1.4 times as fast as 5000, and one range query per page is cheap.
  const pageSize = o.pageSize ?? 1000;
  const warnings: string[] = [];
  let verifiers = o.verifiers;
  if (!verifiers || verifiers.length === 0) {
    verifiers = [verifierFromKey(log.vkey)];
    warnings.push(
      'checked against the verifier key recorded in the database itself: pass the published key (--vkey) for a check that does not trust the database',
    );
  }
  // A pruned prefix [0, start): its entries left the store; the tree still covers them through
  // the kept leaf hashes and nodes (docs/retention.md), so verification starts from its frontier.
  const pruned = await store.prunedRanges(log.id);
  let start = 0;
  for (const r of pruned) if (r.first === start) start = r.last + 1;
  const prefix =
    start > 0
      ? { size: start, frontier: concatBytes(...(await store.nodes(log.id, perfectSubtrees(0, start)))) }
      : undefined;
  const keyEvents = new KeyEventsSeen();
  // The head compared with the entries is read after the last of them: appends commit entries
  // and head together, so a head beyond the entries read means appends made meanwhile (read on,
  // once) or a head that claims entries the log does not hold.
  let after: LogHead | undefined;
  const runEntries = o.runEntries ?? NODE_WINDOW;
  if (
    !Number.isSafeInteger(runEntries) ||
    runEntries < 1 ||
    2 ** Math.round(Math.log2(runEntries)) !== runEntries
  )
    throw new RangeError('runEntries must be a power of two');
  // A pruned log is verified on the main thread: worker runs start at index 0.
  const pool = start > 0 ? undefined : parallelPool(store, log, head.size, o);
  const schemaCheck = pool?.schemaCheck().catch(() => store.schemaCheck());
  async function* pages(): EntrySource {
    let from = start;
    if (pool) {
      // The entries the head counted now, checked by the workers; then on as below.
      const read = (a: number, b: number) => store.entries(log.id, a, b, b - a + 1);
      for await (const item of pool.ranges(0, head.size, runEntries, read)) {
        keyEvents.add(isRun(item) ? item.kept : item);
        yield item;
      }
      from = head.size;
    }
    let reread = false;
    for (;;) {
      const page = await store.entries(log.id, from, Number.MAX_SAFE_INTEGER, pageSize);
      if (page.length === 0) {
        after = await store.head(log.id);
        if (reread || after.size <= from) return;
        reread = true;
        continue;
      }
      reread = false;
      keyEvents.add(page);
      o.onEntries?.(page);
      yield page;
      from = page[page.length - 1]!.index + 1;
    }
  }
  const stored = await store.checkpoints(log.id);
  let report: VerifyReport;
  try {
    report = await verifyLog({
      origin: log.origin,
      verifiers,
      ...(o.erasureVerifiers ? { erasureVerifiers: o.erasureVerifiers } : {}),
      entries: pages(),
      checkpoints: [
        ...stored.map((c) => ({ note: c.note, size: c.size, root: c.root })),
        ...(o.trusted ?? []).map((note) => ({ note, trusted: true })),
      ],
      ...(prefix ? { prefix } : {}),
      recordedSize: head.size,
      recordedHead: () => after,
      storedNodes: (from, to) => store.nodesCompleted(log.id, from, to),
      nodeWindow: runEntries,
      currentSize: async () => (await store.head(log.id)).size,
      consistencyProof: async (from, to) => {
        const plan = consistencyPlan(from, to);
        return plan.assemble(await store.nodes(log.id, plan.nodes));
      },
      ...(o.onProgress ? { onProgress: (n: number) => o.onProgress!(n, head.size) } : {}),
    });
  } finally {
    // The schema check runs on a worker meanwhile; the pool closes once it is in.
    void schemaCheck?.finally(() => pool?.close());
  }
  report.warnings.unshift(...warnings);
  if (pruned.length > 0) report.pruned = await prunedReport(store, log, pruned);
  const schema = await (schemaCheck ?? store.schemaCheck());
  if (schema.unchecked !== undefined) report.warnings.push(schema.unchecked);
  const apiKeys = o.apiKeys ?? apiKeysOf(store);
  addFaults(report, [
    ...schema.drifts.map(driftFault),
    ...(apiKeys ? await checkApiKeys(store, apiKeys, log, keyEvents) : []),
  ]);
  return report;
}

/** Each pruned range with the archive objects its prune event names (while that event is online). */
async function prunedReport(
  store: Store,
  log: LogInfo,
  ranges: readonly PrunedRange[],
): Promise<PrunedReport[]> {
  const out: PrunedReport[] = [];
  for (const r of ranges) {
    const event = (await store.entries(log.id, r.pruneIndex, r.pruneIndex + 1, 1))[0];
    const objects = (event?.metadata as { objects?: unknown } | undefined)?.objects;
    out.push({
      first: r.first,
      last: r.last,
      prune_index: r.pruneIndex,
      ...(Array.isArray(objects)
        ? { objects: objects.filter((o): o is string => typeof o === 'string') }
        : {}),
    });
  }
  return out;
}

/** The worker pool for this verification, or undefined to verify on the main thread alone. */
function parallelPool(store: Store, log: LogInfo, size: number, o: VerifyOptions): VerifyPool | undefined {
  const file = sqliteFile(store);
  if (file === undefined || o.onEntries) return undefined;
  const workers =
    o.workers ?? (size >= LEDGER_DEFAULTS.verifyParallelMinEntries ? availableParallelism() : 1);
  if (!Number.isSafeInteger(workers) || workers <= 1) return undefined;
  return new VerifyPool(file, log.id, workers);
}

/** The file behind a SQLite store (not an in-memory database), which workers can open on their own. */
function sqliteFile(store: Store): string | undefined {
  if (store.kind !== 'sqlite') return undefined;
  const name = (store as { database?: { name?: unknown; memory?: unknown } }).database;
  if (typeof name?.name !== 'string' || name.memory === true || name.name === '' || name.name === ':memory:')
    return undefined;
  return name.name;
}

function driftFault(d: SchemaDrift): Fault {
  const what =
    d.change === 'missing'
      ? 'is missing'
      : d.change === 'extra'
        ? 'was added (the migrations never made it)'
        : 'differs from what the migrations made';
  return {
    kind: FaultKind.SCHEMA_DRIFT,
    index: null,
    message: `${d.object} ${d.name} ${what}${d.actual !== undefined ? `: ${d.actual}` : ''}`,
    object: d.object,
    name: d.name,
    change: d.change,
    ...(d.expected !== undefined ? { expected: d.expected } : {}),
    ...(d.actual !== undefined ? { actual: d.actual } : {}),
  };
}

/** Faults that are not about one entry's place in the chain: listed after the entry faults. */
function addFaults(report: VerifyReport, faults: readonly Fault[]): void {
  if (faults.length === 0) return;
  report.ok = false;
  const room = Math.max(0, 100 - report.faults.length);
  report.faults.push(...faults.slice(0, room));
  if (faults.length > room) report.faults_truncated = true;
}
