/**
 * Copying a log from one store to another and proving the copy (docs/clusters.md, moving a
 * log): entries in index order with their values, the chain and every tree node recomputed
 * here (never taken from the source), the erasures, the checkpoints byte for byte, their
 * witness cosignatures and the write-ahead intents. The source must not change meanwhile (the
 * move marks it read-only first). A copy left half-done resumes where the target stops.
 *
 * The copy is then verified on its own (verifyStoredLog: every leaf, link, node and checkpoint
 * signature re-derived from the target) and compared with the source: the same head (size,
 * last hash, compact range), every checkpoint note identical, the same cosignatures.
 */
import { toHex } from '../core/bytes.ts';
import { ErrorCode, EvidentError } from '../core/errors.ts';
import { type Entry, entryLeafHash, GENESIS } from '../core/event/entry.ts';
import { CompactRange } from '../core/merkle/index.ts';
import { verifierFromKey } from '../core/note-keys.ts';
import type { CosignatureStore, Erasure, LogInfo, NodeHash, Store } from '../store/types.ts';
import { verifyStoredLog } from './verify.ts';

export type CopyStore = Store & CosignatureStore;

export interface CopyResult {
  log: string;
  entries: number;
  /** Entries already on the target from an earlier, interrupted copy. */
  resumed: number;
  checkpoints: number;
  cosignatures: number;
  erasures: number;
  /** The latest checkpoint's size and root (base64), the same on both. */
  size: number;
  root: string | null;
}

const PAGE = 1000;

function refused(message: string, details: Record<string, unknown>): EvidentError {
  return new EvidentError(ErrorCode.USAGE, message, details);
}

/** Where a log's tree ends while entries are written into it: its compact range and last hash. */
export interface TreeEnd {
  range: CompactRange;
  lastHash: string;
}

/**
 * Writes `entries` read from a copy of the log (another store, an archived bundle) at `end` of
 * log `id`, the tree nodes recomputed here, after checking each continues the log: the next
 * index, its hash its leaf's, linked to the one before. The first that does not is refused
 * (TAMPER_DETECTED with its index and `source.rule`, the message naming `source.name`) and
 * nothing of the batch is written. The erasures recorded on the entries are added to `erased`
 * (to be written once their erasure events are). Returns the new end.
 */
export async function appendCopied(
  store: Store,
  id: number,
  end: TreeEnd,
  entries: Entry[],
  erased: Erasure[],
  source: { name: string; rule: string },
): Promise<TreeEnd> {
  const next = end.range.clone();
  const nodes: NodeHash[] = [];
  let link = end.lastHash;
  for (const e of entries) {
    const leaf = entryLeafHash(e);
    if (e.index !== next.size || toHex(leaf) !== e.hash || e.prev_hash !== link) {
      throw new EvidentError(
        ErrorCode.TAMPER_DETECTED,
        `entry ${e.index} of ${source.name} does not continue the log`,
        { index: e.index, rule: source.rule },
      );
    }
    for (const n of next.append(leaf)) if (n.level > 0) nodes.push(n);
    link = e.hash;
    erased.push(...erasuresOf(e));
  }
  await store.write(id, (tx) =>
    tx.insertEntries(entries, nodes, { size: next.size, lastHash: link, frontier: next.encode() }),
  );
  return { range: next, lastHash: link };
}

/** The erasures recorded on an entry (its erased fields, by the erasure event that erased them). */
function erasuresOf(e: Entry): Erasure[] {
  const by = e.erased_by;
  return by === undefined
    ? []
    : (e.erased ?? []).map((field) => ({ index: e.index, field, erasureIndex: by }));
}

/** Copies `log` (as the source knows it) to `target`, then verifies the copy against the source. */
export async function copyLog(
  source: CopyStore,
  log: LogInfo,
  target: CopyStore,
  o: {
    onProgress?: (entries: number, of: number) => void;
    /** Called with the target's log before anything is copied into it (a new copy, or one resumed). */
    onTarget?: (copy: LogInfo) => Promise<void>;
  } = {},
): Promise<CopyResult> {
  const onProgress = o.onProgress;
  if ((await source.prunedRanges(log.id)).length > 0) {
    throw refused(
      `log "${log.name}" has pruned ranges: its entries are in the archive, not here; restore it from the archive instead`,
      {
        field: 'log',
        rule: 'pruned',
      },
    );
  }
  const head = await source.head(log.id);
  let copy = await target.getLog(log.name);
  if (copy && (copy.origin !== log.origin || copy.vkey !== log.vkey)) {
    throw refused(`the target already holds another log named "${log.name}" (origin ${copy.origin})`, {
      field: 'log',
      rule: 'exists',
    });
  }
  copy ??= await target.createLog({
    name: log.name,
    origin: log.origin,
    vkey: log.vkey,
    erasable: log.erasable,
  });
  const id = copy.id;
  // Resume: the entries the target holds must be the source's, link for link (checked below,
  // and again by the verification at the end).
  const start = await target.head(id);
  if (start.size > head.size) {
    throw refused(
      `the target's copy of "${log.name}" is longer than the source (${start.size} > ${head.size})`,
      {
        field: 'log',
        rule: 'diverged',
      },
    );
  }
  let range = CompactRange.empty();
  let lastHash = GENESIS;
  if (start.size > 0) {
    const [last] = await source.entries(log.id, start.size - 1, start.size, 1);
    if (!last || last.hash !== start.lastHash) {
      throw refused(`the target's copy of "${log.name}" is not a prefix of the source`, {
        field: 'log',
        rule: 'diverged',
      });
    }
    range = CompactRange.decode(start.size, start.frontier);
    lastHash = start.lastHash;
  }
  const erased: Erasure[] = [];
  // Erasures already recorded on the entries the target holds: collected from the source.
  for (let from = 0; from < start.size; from += PAGE) {
    for (const e of await source.entries(log.id, from, Math.min(start.size, from + PAGE), PAGE))
      erased.push(...erasuresOf(e));
  }
  let end: TreeEnd = { range, lastHash };
  for (let from = start.size; from < head.size; ) {
    const entries: Entry[] = await source.entries(log.id, from, Math.min(head.size, from + PAGE), PAGE);
    if (entries.length === 0)
      throw new EvidentError(ErrorCode.STORE_FAILED, `entry ${from} is missing from the source`);
    end = await appendCopied(target, id, end, entries, erased, { name: 'the source', rule: 'chain' });
    from = end.range.size;
    onProgress?.(from, head.size);
  }
  // Erasures not yet recorded on the target.
  const have = new Set((await target.erasures(id, 0, head.size)).map((x) => `${x.index}/${x.field}`));
  const missing = erased.filter((x) => !have.has(`${x.index}/${x.field}`));
  if (missing.length > 0) await target.write(id, (tx) => tx.erase(missing));
  // Checkpoints, byte for byte, with their cosignatures.
  const checkpoints = await source.checkpoints(log.id);
  const held = new Set((await target.checkpoints(id)).map((c) => c.size));
  const todo = checkpoints.filter((c) => !held.has(c.size));
  for (let i = 0; i < todo.length; i += PAGE) {
    const page = todo.slice(i, i + PAGE);
    await target.write(id, async (tx) => {
      for (const c of page) await tx.insertCheckpoint(c);
    });
  }
  let cosignatures = 0;
  for (const c of checkpoints) {
    const cs = await source.cosignatures(log.id, c.size);
    if (cs.length > 0) {
      await target.addCosignatures(id, cs);
      cosignatures += cs.length;
    }
  }
  const intents = await source.intents(log.id);
  const heldIntents = new Set((await target.intents(id)).map((x) => x.id));
  const newIntents = intents.filter((x) => !heldIntents.has(x.id));
  if (newIntents.length > 0)
    await target.write(id, async (tx) => {
      for (const x of newIntents) await tx.putIntent(x);
    });
  await checkCopy(source, log, target, copy);
  const latest = checkpoints.at(-1);
  return {
    log: log.name,
    entries: head.size,
    resumed: start.size,
    checkpoints: checkpoints.length,
    cosignatures,
    erasures: erased.length,
    size: latest?.size ?? 0,
    root: latest ? Buffer.from(latest.root).toString('base64') : null,
  };
}

/**
 * The copy on its own (every leaf, link, node and checkpoint re-derived and checked against
 * the log's verifier key), then against the source: head, checkpoint notes, cosignatures.
 */
export async function checkCopy(
  source: CopyStore,
  log: LogInfo,
  target: CopyStore,
  copy: LogInfo,
): Promise<void> {
  const report = await verifyStoredLog(target, copy, { verifiers: [verifierFromKey(log.vkey)] });
  const fail = (rule: string, message: string, extra: Record<string, unknown> = {}) =>
    new EvidentError(ErrorCode.TAMPER_DETECTED, `the copy of "${log.name}" ${message}: the move stops here`, {
      log: log.name,
      rule,
      ...extra,
    });
  if (!report.ok) throw fail('verify', 'does not verify', { faults: report.faults.slice(0, 20) });
  const [a, b] = await Promise.all([source.head(log.id), target.head(copy.id)]);
  if (a.size !== b.size || a.lastHash !== b.lastHash || toHex(a.frontier) !== toHex(b.frontier))
    throw fail('head', `has another head (size ${b.size}, source ${a.size})`);
  const [ca, cb] = await Promise.all([source.checkpoints(log.id), target.checkpoints(copy.id)]);
  if (ca.length !== cb.length)
    throw fail('checkpoints', `holds ${cb.length} checkpoints, the source ${ca.length}`);
  for (const [i, c] of ca.entries()) {
    const d = cb[i]!;
    if (c.size !== d.size || c.note !== d.note || toHex(c.root) !== toHex(d.root))
      throw fail('checkpoints', `has another checkpoint at size ${c.size}`, { size: c.size });
  }
  for (const c of ca) {
    const [x, y] = await Promise.all([
      source.cosignatures(log.id, c.size),
      target.cosignatures(copy.id, c.size),
    ]);
    const lines = (l: typeof x) =>
      l
        .map((s) => s.line)
        .sort()
        .join('\n');
    if (lines(x) !== lines(y))
      throw fail('cosignatures', `has other cosignatures at size ${c.size}`, { size: c.size });
  }
}
