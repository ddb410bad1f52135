/**
 * The log head (size, hash of the last entry, frontier of the tree) is derived data: the
 * appender extends the chain from its last hash and the tree from its frontier (RFC 9162
 * §2.1.2's stack, ../merkle/compact-range.ts). A head rewritten in the database would make the
 * next append link to a wrong hash or store wrong tree nodes, so verification compares it with
 * what the entries give.
 */
import { bytesEqual, toBase64 } from '../bytes.ts';
import { type Fault, FaultKind } from './report.ts';

export interface RecordedHead {
  size: number;
  lastHash: string;
  frontier: Uint8Array;
}

export interface DerivedHead {
  /** Entries read. */
  size: number;
  /** The stored hash of the last entry read, or GENESIS. */
  lastHash: string;
  /** The frontier of the tree rebuilt from the entries; undefined when entries were already blamed. */
  frontier: Uint8Array | undefined;
}

/**
 * A head_mismatch fault, or undefined. A head larger than the entries whose last hash is not
 * the last entry's is a cut log, not a rewritten head: the caller reports it as log_truncated.
 */
export function checkHead(recorded: RecordedHead, derived: DerivedHead): Fault | undefined {
  const fields: string[] = [];
  if (recorded.size > derived.size) {
    if (recorded.lastHash !== derived.lastHash) return undefined;
    fields.push('size');
  } else if (recorded.size < derived.size) {
    fields.push('size');
    if (recorded.lastHash !== derived.lastHash) fields.push('last_hash');
  } else {
    if (recorded.lastHash !== derived.lastHash) fields.push('last_hash');
    if (derived.frontier !== undefined && !bytesEqual(recorded.frontier, derived.frontier))
      fields.push('frontier');
  }
  if (fields.length === 0) return undefined;
  return {
    kind: FaultKind.HEAD_MISMATCH,
    index: null,
    message: `the log head's ${fields.join(', ')} ${fields.length === 1 ? 'is' : 'are'} not what the entries give: the head was rewritten (the next append would extend a wrong chain or tree)`,
    fields,
    last_entry_matches: recorded.lastHash === derived.lastHash,
    recorded: {
      size: recorded.size,
      last_hash: recorded.lastHash,
      frontier: toBase64(recorded.frontier),
    },
    derived: {
      size: derived.size,
      last_hash: derived.lastHash,
      ...(derived.frontier ? { frontier: toBase64(derived.frontier) } : {}),
    },
  };
}
