/**
 * The log head is read under the sequencing lock and extended by the next append (the chain
 * from its last hash, the tree from its frontier): a head rewritten in the database would make
 * that append store a wrong link and wrong tree nodes for good. So before it is used, the head
 * is checked against the entries and the stored tree, in O(log n) reads: the largest stored
 * index is size - 1, the hash of that entry is the last hash, and the frontier is the stored
 * perfect subtrees of [0, size) (RFC 9162 §2.1.2; level 0 is an entry's own hash). A head that
 * fails is an integrity alarm (TAMPER_DETECTED, rule head_mismatch), never a client error.
 */
import { bytesEqual, toHex } from '../core/bytes.ts';
import { ErrorCode, EvidentError } from '../core/errors.ts';
import { GENESIS } from '../core/event/entry.ts';
import { CompactRange } from '../core/merkle/index.ts';
import type { LogHead, WriteTx } from '../store/types.ts';

function mismatch(field: string, message: string, details: Record<string, unknown> = {}): EvidentError {
  return new EvidentError(
    ErrorCode.TAMPER_DETECTED,
    `integrity alarm: the log head ${message}; run evident verify`,
    {
      rule: 'head_mismatch',
      field,
      ...details,
    },
  );
}

/**
 * The head, checked; throws TAMPER_DETECTED (rule head_mismatch) when the stored data disagree.
 * `known`: the head this ledger's own last commit wrote (itself built on a checked head). When
 * the stored head is exactly that one, its frontier is the one that commit computed, and only
 * what could have moved apart from it is read again: the last index and the last entry's hash.
 */
export async function checkedHead(
  tx: WriteTx,
  known?: LogHead,
): Promise<{ head: LogHead; range: CompactRange }> {
  const head = await tx.head();
  if (known && head.size > 0 && sameHead(head, known)) {
    const last = await tx.lastIndex();
    if (last === head.size - 1) {
      const [leaf] = await tx.nodes([{ level: 0, index: head.size - 1 }]);
      if (toHex(leaf!) === head.lastHash)
        return { head, range: CompactRange.decode(head.size, head.frontier) };
    }
    // Something moved under an unchanged head: the full check below names it.
  }
  let range: CompactRange;
  try {
    range = CompactRange.decode(head.size, head.frontier);
  } catch {
    throw mismatch('frontier', 'frontier does not hold one hash per perfect subtree of its size', {
      size: head.size,
    });
  }
  const last = await tx.lastIndex();
  if ((last ?? -1) !== head.size - 1) {
    throw mismatch('size', `size ${head.size} is not the number of stored entries`, {
      size: head.size,
      last_index: last ?? null,
    });
  }
  if (head.size === 0) {
    if (head.lastHash !== GENESIS) throw mismatch('last_hash', 'of an empty log does not name GENESIS');
    return { head, range };
  }
  const frontier = range.nodes();
  let stored: Uint8Array[];
  try {
    stored = await tx.nodes([...frontier, { level: 0, index: head.size - 1 }]);
  } catch (e) {
    if (e instanceof EvidentError && e.code === ErrorCode.STORE_FAILED && e.details['level'] !== undefined)
      throw mismatch('frontier', 'names a tree node that is not stored', { level: e.details['level'] });
    throw e;
  }
  if (toHex(stored[frontier.length]!) !== head.lastHash) {
    throw mismatch('last_hash', `last hash is not the hash of entry ${head.size - 1}`, { size: head.size });
  }
  for (const [i, n] of frontier.entries()) {
    if (!bytesEqual(stored[i]!, n.hash)) {
      throw mismatch('frontier', `frontier is not the stored tree (level ${n.level}, index ${n.index})`, {
        level: n.level,
        node_index: n.index,
      });
    }
  }
  return { head, range };
}

function sameHead(a: LogHead, b: LogHead): boolean {
  return a.size === b.size && a.lastHash === b.lastHash && bytesEqual(a.frontier, b.frontier);
}
