/**
 * Signing a checkpoint inside a write transaction: of the tree the checked head gives, never of
 * a tree that is not consistent with the latest signed checkpoint (RFC 9162 §2.1.4), nor with
 * any checkpoint published outside the database (./published.ts: the signer state, the archive).
 */
import { bytesEqual } from '../core/bytes.ts';
import { openCheckpoint, signCheckpoint } from '../core/checkpoint.ts';
import { ErrorCode, EvidentError } from '../core/errors.ts';
import { type NoteSigner, verifierFromPublicKey } from '../core/note-keys.ts';
import type { StoredCheckpoint, WriteTx } from '../store/types.ts';
import { checkedHead } from './head.ts';
import { checkFloor, consistencyFailure, type PublishedFloor } from './published.ts';

/** The latest checkpoint when it covers the tree already, else a new one, stored in `tx`. */
export async function signInTx(
  tx: WriteTx,
  o: {
    origin: string;
    signer: NoteSigner;
    now: () => Date;
    /** The published floors, read under the transaction's lock (CHECKPOINT_INCONSISTENT naming the source). */
    floors?: () => Promise<readonly PublishedFloor[]>;
  },
): Promise<StoredCheckpoint> {
  const { head, range } = await checkedHead(tx);
  const latest = await tx.lastCheckpoint();
  // The root re-derived from the checked head: a floor's proof from stored nodes must lead to it.
  const root = range.root();
  for (const f of (await o.floors?.()) ?? []) await checkFloor(f, head.size, root, (ids) => tx.nodes(ids));
  if (latest) {
    // The latest checkpoint's root as its note signs it, by this key: the root column is only
    // the database's word, and so is a note this key never signed.
    const latestRoot = signedRoot(latest, o);
    if (latest.size === head.size) {
      if (!bytesEqual(latestRoot, root)) {
        throw new EvidentError(
          ErrorCode.CHECKPOINT_INCONSISTENT,
          'the tree has another root than the latest checkpoint of its size: entries or tree nodes were rewritten',
          { rule: 'root_differs', checkpoint_size: latest.size, tree_size: head.size },
        );
      }
      return latest;
    }
    if (latest.size > head.size) {
      throw new EvidentError(
        ErrorCode.CHECKPOINT_INCONSISTENT,
        'the log is smaller than its latest checkpoint',
        {
          checkpoint_size: latest.size,
          tree_size: head.size,
        },
      );
    }
    if (latest.size > 0) {
      const e = await consistencyFailure(latest.size, latestRoot, head.size, root, (ids) => tx.nodes(ids));
      if (e !== undefined) {
        throw new EvidentError(
          ErrorCode.CHECKPOINT_INCONSISTENT,
          'refusing to sign: the tree is not consistent with the latest checkpoint',
          { from: latest.size, to: head.size, cause: (e as EvidentError).code ?? String(e) },
        );
      }
    }
  }
  const note = signCheckpoint({ origin: o.origin, size: head.size, rootHash: root }, o.signer);
  const cp: StoredCheckpoint = { size: head.size, root, note, createdAt: o.now().toISOString() };
  await tx.insertCheckpoint(cp);
  return cp;
}

/** The root the stored checkpoint's note signs with this key, for this origin and size; else TAMPER_DETECTED. */
function signedRoot(cp: StoredCheckpoint, o: { origin: string; signer: NoteSigner }): Uint8Array {
  let signed: { size: number; rootHash: Uint8Array };
  try {
    signed = openCheckpoint(
      cp.note,
      verifierFromPublicKey(o.signer.name, o.signer.publicKey),
      o.origin,
    ).checkpoint;
  } catch (e) {
    throw new EvidentError(
      ErrorCode.TAMPER_DETECTED,
      `the stored checkpoint of tree size ${cp.size} is not a checkpoint this log's key signed`,
      { rule: 'checkpoint_unsigned', size: cp.size, cause: (e as EvidentError).code ?? String(e) },
    );
  }
  if (signed.size !== cp.size || !bytesEqual(signed.rootHash, cp.root)) {
    throw new EvidentError(
      ErrorCode.TAMPER_DETECTED,
      `the stored checkpoint of tree size ${cp.size} has a size or root column other than its note's`,
      { rule: 'checkpoint_columns_differ', size: cp.size, note_size: signed.size },
    );
  }
  return signed.rootHash;
}
