/**
 * Where a checkpoint the auditor kept outside meets a bundle (docs/formats.md, "Checking a
 * bundle against a trusted checkpoint"). A bundle holds entries [from, to) of the tree of its
 * signed checkpoint (size N); a trusted checkpoint of size t is checked by
 *
 *   - t = N, or from <= t <= to: the tree rebuilt from the bundle has a root at t, compared
 *     with the trusted root by the log verifier (a different root is a fork);
 *   - t < N otherwise: a consistency proof from t to N carried in the header (RFC 9162 §2.1.4),
 *     verified against the trusted root and the bundle's signed root; t = 0 needs no proof,
 *     its root must be MTH({}) (§2.1.1);
 *   - t > N: the bundle does not reach it. Nothing in the bundle can say whether the log that
 *     grew past N is the one the trusted checkpoint signs, and an old bundle is no evidence of
 *     tampering by itself: its signed checkpoint stays true of the log when it was exported.
 *
 * A checkpoint that cannot be checked is never reported OK: it is listed as unchecked, with
 * what would check it.
 */
import { fromBase64, toBase64 } from '../bytes.ts';
import { openCheckpoint } from '../checkpoint.ts';
import { EvidentError } from '../errors.ts';
import { verifyConsistency } from '../merkle/index.ts';
import type { NoteVerifier } from '../note-keys.ts';
import { type Fault, FaultKind, type UncheckedCheckpoint } from './report.ts';

export interface BundleShape {
  origin: string;
  checkpoint: string;
  tree_size: number;
  range: { from: number; to: number };
  consistency?: readonly { size: number; hashes: readonly string[] }[];
}

export interface TrustedPlacement {
  /** Trusted notes the log verifier compares with the rebuilt tree (or reports as unreadable). */
  compare: string[];
  /** Forks shown by a consistency proof. */
  faults: Fault[];
  unchecked: UncheckedCheckpoint[];
}

function signedRoot(note: string, verifiers: readonly NoteVerifier[], origin: string) {
  try {
    return openCheckpoint(note, verifiers, origin).checkpoint;
  } catch {
    return undefined; // the log verifier reports an unreadable checkpoint as a fault
  }
}

export function placeTrusted(
  h: BundleShape,
  verifiers: readonly NoteVerifier[],
  trusted: readonly string[],
): TrustedPlacement {
  const out: TrustedPlacement = { compare: [], faults: [], unchecked: [] };
  const own = signedRoot(h.checkpoint, verifiers, h.origin);
  const n = h.tree_size;
  for (const note of trusted) {
    const cp = signedRoot(note, verifiers, h.origin);
    if (!cp || cp.size === n || (cp.size >= h.range.from && cp.size <= h.range.to)) {
      out.compare.push(note);
      continue;
    }
    const t = cp.size;
    if (t > n) {
      out.unchecked.push({
        size: t,
        reason: 'beyond-bundle',
        message: `the trusted checkpoint of tree size ${t} is beyond this bundle's checkpoint (tree size ${n}): the bundle cannot show that the log it comes from grew into that tree; export a bundle again from the log as it is now`,
      });
      continue;
    }
    const proof = h.consistency?.find((c) => c.size === t);
    if (!proof && t !== 0) {
      out.unchecked.push({
        size: t,
        reason: 'no-consistency-proof',
        message: `the bundle holds entries [${h.range.from}, ${h.range.to}) and no consistency proof from tree size ${t} to ${n}: export it with --consistency-from ${t}`,
      });
      continue;
    }
    if (!own) continue; // the bundle's own checkpoint failed: already a fault
    try {
      verifyConsistency(
        t,
        n,
        (proof?.hashes ?? []).map((x) => fromBase64(x, 32)),
        cp.rootHash,
        own.rootHash,
      );
    } catch (e) {
      out.faults.push({
        kind: FaultKind.CHECKPOINT_INCONSISTENT,
        index: null,
        message: `the trusted checkpoint of tree size ${t} and the bundle's checkpoint of tree size ${n} are not views of one append-only log: the log was forked or rewritten`,
        from: t,
        to: n,
        trusted_root: toBase64(cp.rootHash),
        code: e instanceof EvidentError ? e.code : 'UNKNOWN',
      });
    }
  }
  return out;
}
