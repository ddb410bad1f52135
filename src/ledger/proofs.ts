/**
 * Proofs are assembled from stored tree nodes (../core/merkle/plan.ts), which the database
 * holds apart from the entries and the signed checkpoints. Before a proof leaves the ledger it
 * is checked (RFC 9162 §2.1.3.2, §2.1.4.2) against the root it will be judged by: the signed
 * checkpoint of that size when one is stored (its note's own root hash), else the root of the
 * stored tree. A corrupted node, or an edited entry, then raises an integrity alarm
 * (TAMPER_DETECTED, rule proof_mismatch) instead of handing out a proof that fails.
 */
import { hexEquals } from '../core/bytes.ts';
import { parseCheckpoint } from '../core/checkpoint.ts';
import { ErrorCode, EvidentError } from '../core/errors.ts';
import type { Entry } from '../core/event/entry.ts';
import { leafHash } from '../core/hash.ts';
import { type NodeId, rootPlan, verifyConsistency, verifyInclusion } from '../core/merkle/index.ts';
import { parseNote } from '../core/note.ts';
import type { Store } from '../store/types.ts';

interface Reference {
  root: Uint8Array;
  /** What the root was taken from. */
  against: 'checkpoint' | 'tree';
}

function alarm(message: string, details: Record<string, unknown>, cause?: unknown): EvidentError {
  return new EvidentError(ErrorCode.TAMPER_DETECTED, `integrity alarm: ${message}; run evident verify`, {
    rule: 'proof_mismatch',
    ...details,
    ...(cause instanceof EvidentError ? { cause: cause.code } : {}),
  });
}

/**
 * Stored nodes for a proof. A node missing inside the tree is tampering evidence like a wrong
 * one: the store's STORE_FAILED (which names the node's level) becomes the alarm.
 */
export async function proofNodes(store: Store, logId: number, ids: NodeId[]): Promise<Uint8Array[]> {
  try {
    return await store.nodes(logId, ids);
  } catch (e) {
    if (
      e instanceof EvidentError &&
      e.code === ErrorCode.STORE_FAILED &&
      typeof e.details['level'] === 'number'
    ) {
      throw alarm(
        `a tree node (level ${e.details['level']}, index ${String(e.details['index'])}) is missing`,
        {
          level: e.details['level'],
          node_index: e.details['index'],
        },
      );
    }
    throw e;
  }
}

/** The root a proof for a tree of `size` must lead to. */
async function referenceRoot(store: Store, logId: number, size: number): Promise<Reference> {
  const cp = await store.checkpointAt(logId, size);
  if (cp) {
    try {
      const body = parseCheckpoint(parseNote(cp.note).text);
      if (body.size === size) return { root: body.rootHash, against: 'checkpoint' };
    } catch {
      // a stored note that does not parse: the alarm below
    }
    throw alarm(`the stored checkpoint of size ${size} is not a checkpoint of that size`, { size });
  }
  const plan = rootPlan(size);
  return { root: plan.assemble(await proofNodes(store, logId, plan.nodes))[0]!, against: 'tree' };
}

/**
 * Throws TAMPER_DETECTED unless `hashes` prove `entry` at its index in the tree of `size`.
 * `bytes` are the entry's leaf bytes (leafBytes(entry)), which the caller hands out too.
 */
export async function checkInclusion(
  store: Store,
  logId: number,
  entry: Entry,
  bytes: Uint8Array,
  size: number,
  hashes: readonly Uint8Array[],
): Promise<void> {
  const leaf = leafHash(bytes);
  const details = { proof: 'inclusion', index: entry.index, size };
  if (!hexEquals(leaf, entry.hash))
    throw alarm(`entry ${entry.index} does not hash to its recorded hash`, details);
  const ref = await referenceRoot(store, logId, size);
  try {
    verifyInclusion(leaf, entry.index, size, hashes, ref.root);
  } catch (e) {
    throw alarm(
      `the inclusion proof of entry ${entry.index} fails against the ${ref.against} root of size ${size}`,
      { ...details, against: ref.against },
      e,
    );
  }
}

/** Throws TAMPER_DETECTED unless `hashes` prove the tree of `to` extends the tree of `from`. */
export async function checkConsistency(
  store: Store,
  logId: number,
  from: number,
  to: number,
  hashes: readonly Uint8Array[],
): Promise<void> {
  const details = { proof: 'consistency', from, to };
  const old = await referenceRoot(store, logId, from);
  const now = await referenceRoot(store, logId, to);
  try {
    verifyConsistency(from, to, hashes, old.root, now.root);
  } catch (e) {
    throw alarm(
      `the consistency proof from ${from} to ${to} fails against the ${old.against} and ${now.against} roots`,
      { ...details, against: [old.against, now.against] },
      e,
    );
  }
}
