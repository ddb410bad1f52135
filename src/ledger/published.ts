/**
 * Published floors: a checkpoint that has left the process (returned to a client, sent to a
 * witness, put to an archive target, exported) can never be taken back, even when the database
 * loses it (an asynchronous failover, a restored backup, a rewrite by whoever can write the
 * database). The signer checks every new tree against the largest checkpoint each independent
 * source says was published, kept outside the database:
 *
 * - `journal`: this host's signer state (./signer-state.ts), written after the signing
 *   transaction commits and before the checkpoint leaves the process;
 * - `archive`: the largest checkpoint an archive target holds (../archive/pass.ts);
 * - `witness`: a witness that holds a larger tree than the log, or a root the log contradicts
 *   (../server/witnessing.ts). A witness names only a size in its answers, never a root, so it
 *   fences the log at once instead of adding a floor.
 *
 * Consistency is transitive, so one floor per source suffices (RFC 9162 §2.1.4): a published
 * size larger than the tree is refused; an equal size must carry the same root; a smaller one
 * must be proved consistent with the tree, the proof assembled from stored nodes and checked
 * against the root the signer re-derived from the checked head, never the stored nodes alone.
 * A violation is CHECKPOINT_INCONSISTENT naming the source; the ledger is then fenced
 * (LOG_FENCED): nothing more is appended or signed until the log is put back and reopened.
 */
import { bytesEqual, toBase64 } from '../core/bytes.ts';
import { ErrorCode, EvidentError } from '../core/errors.ts';
import { consistencyPlan, type NodeId, verifyConsistency } from '../core/merkle/index.ts';

/** Where a published checkpoint was seen. */
export type FloorSource = 'journal' | 'archive' | 'witness';

/** A checkpoint known to be published: the signer never signs a tree that contradicts it. */
export interface PublishedFloor {
  source: FloorSource;
  size: number;
  root: Uint8Array;
  /** Where: the signer state file, the archive target's URL, the witness's URL. */
  where: string;
}

/** Why a log takes no more appends (Ledger.fence): the published state it contradicts. */
export interface Fence {
  source: FloorSource;
  /** `published_larger`, `published_root_differs`, `not_consistent`, `witness_conflict`, ... */
  rule: string;
  published_size: number;
  tree_size: number;
  where: string;
  /** When it was fenced (RFC 3339). */
  since: string;
}

/**
 * Why the tree of `size` with root `root` is not consistent with the checkpoint of `from` (0 <
 * from < size) with root `fromRoot`: the failed check's error, or undefined when it is. The proof
 * is assembled from stored nodes (`nodes`; a missing one throws) and checked against `root`,
 * which must not come from those nodes alone.
 */
export async function consistencyFailure(
  from: number,
  fromRoot: Uint8Array,
  size: number,
  root: Uint8Array,
  nodes: (ids: NodeId[]) => Promise<Uint8Array[]>,
): Promise<unknown> {
  const plan = consistencyPlan(from, size);
  const proof = plan.assemble(await nodes(plan.nodes));
  try {
    verifyConsistency(from, size, proof, fromRoot, root);
    return undefined;
  } catch (e) {
    return e;
  }
}

/** The failure a floor check raises (CHECKPOINT_INCONSISTENT), with the fields of a Fence. */
export function floorViolation(
  f: Pick<PublishedFloor, 'source' | 'size' | 'where'>,
  treeSize: number,
  rule: string,
  message: string,
): EvidentError {
  return new EvidentError(
    ErrorCode.CHECKPOINT_INCONSISTENT,
    `refusing to sign: ${message} (${f.source} ${f.where})`,
    {
      source: f.source,
      rule,
      published_size: f.size,
      tree_size: treeSize,
      where: f.where,
      from: f.size,
      to: treeSize,
    },
  );
}

/**
 * Throws CHECKPOINT_INCONSISTENT unless the tree of `size` with root `root` extends the
 * published floor. `nodes` reads stored tree nodes; `root` must not come from them alone.
 */
export async function checkFloor(
  floor: PublishedFloor,
  size: number,
  root: Uint8Array,
  nodes: (ids: NodeId[]) => Promise<Uint8Array[]>,
): Promise<void> {
  if (floor.size > size) {
    throw floorViolation(
      floor,
      size,
      'published_larger',
      `a checkpoint of tree size ${floor.size} was published, the tree has ${size} entries`,
    );
  }
  if (floor.size === size) {
    if (!bytesEqual(floor.root, root)) {
      throw floorViolation(
        floor,
        size,
        'published_root_differs',
        `a checkpoint of tree size ${size} with another root (${toBase64(floor.root)}) was published`,
      );
    }
    return;
  }
  if (floor.size === 0) return;
  let failure: unknown;
  try {
    failure = await consistencyFailure(floor.size, floor.root, size, root, nodes);
  } catch (e) {
    failure = e; // a node the proof needs is missing: no proof, so no consistency either
  }
  if (failure !== undefined) {
    throw floorViolation(
      floor,
      size,
      'not_consistent',
      `the tree of size ${size} is not consistent with the published checkpoint of size ${floor.size}` +
        (failure instanceof EvidentError ? ` (${failure.code})` : ''),
    );
  }
}

/** The fence a floor violation leaves, from its error's details. */
export function fenceFrom(e: EvidentError, now: Date): Fence | undefined {
  const d = e.details;
  if (e.code !== ErrorCode.CHECKPOINT_INCONSISTENT || typeof d['source'] !== 'string') return undefined;
  return {
    source: d['source'] as FloorSource,
    rule: String(d['rule']),
    published_size: Number(d['published_size']),
    tree_size: Number(d['tree_size']),
    where: String(d['where']),
    since: now.toISOString(),
  };
}

/** The error an append or a signing gets on a fenced log. */
export function fencedError(log: string, f: Fence): EvidentError {
  return new EvidentError(
    ErrorCode.LOG_FENCED,
    `log "${log}" is fenced: the ${f.source} holds a published checkpoint of tree size ${f.published_size} ` +
      `that this log (size ${f.tree_size}) contradicts (${f.rule}); restore the database that holds it, then restart`,
    { log, ...f },
  );
}
