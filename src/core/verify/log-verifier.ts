/**
 * Streaming verification of a whole log: every entry is re-hashed from its fields (a stored
 * hash is never trusted), the chain is followed, the RFC 6962 tree is rebuilt in O(log n)
 * memory and its root compared with every signed checkpoint, stored or kept outside.
 * Pages of entries come from any source (a database, a bundle file), so memory stays flat.
 */
import { bytesEqual, toBase64, toHex } from '../bytes.ts';
import { openCheckpoint } from '../checkpoint.ts';
import { EvidentError } from '../errors.ts';
import { checkCommitment, type Entry, entryLeafHash, GENESIS } from '../event/entry.ts';
import { CompactRange, perfectSubtrees, verifyConsistency } from '../merkle/index.ts';
import type { NoteVerifier } from '../note-keys.ts';
import { ErasureCheck } from './erasures.ts';
import { type Fault, FaultKind, type VerifyReport } from './report.ts';

export interface CheckpointSource {
  /** The signed note, byte-exact. */
  note: string;
  /** Size and root as the store recorded them beside the note, if any: must agree with the note. */
  size?: number;
  root?: Uint8Array;
  /** Kept outside the log (by an auditor, a witness, an archive): the log must contain it. */
  trusted?: boolean;
}

export interface VerifyLogInput {
  origin: string;
  verifiers: readonly NoteVerifier[];
  /** Pages of entries in index order. */
  entries: AsyncIterable<readonly Entry[]>;
  checkpoints: readonly CheckpointSource[];
  /** The log's own record of its size (its head), when there is one. */
  recordedSize?: number;
  /** A consistency proof between two sizes from the log's stored tree, to check checkpoints pairwise. */
  consistencyProof?: (from: number, to: number) => Promise<Uint8Array[]>;
  onProgress?: (entries: number) => void;
  maxFaults?: number;
  /**
   * For a part of a log, entries [a, b): the frontier of [0, a) (the perfect subtree roots,
   * largest first) ...
   */
  prefix?: { size: number; frontier: Uint8Array };
  /** ... and the perfect subtree roots covering [b, size), left to right, to reach a checkpoint of `size`. */
  suffix?: { size: number; hashes: readonly Uint8Array[] };
}

/** How far from its place an entry is looked for when its hash fails (reorders, renumbering). */
const SHIFT_WINDOW = 8;

interface Target {
  size: number;
  root: Uint8Array;
  trusted: boolean;
}

export async function verifyLog(input: VerifyLogInput): Promise<VerifyReport> {
  const maxFaults = input.maxFaults ?? 100;
  const faults: Fault[] = [];
  let faultCount = 0;
  const add = (f: Fault) => {
    faultCount++;
    if (faults.length < maxFaults) faults.push(f);
  };
  const warnings: string[] = [];

  const targets = openTargets(input, add);
  await checkPairwise(targets, input, add);

  const range = input.prefix
    ? CompactRange.decode(input.prefix.size, input.prefix.frontier)
    : CompactRange.empty();
  const start = range.size;
  let next = 0; // the next target to compare
  let verifiedSize = 0;
  let treeAligned = true; // false once entries are missing: sizes no longer line up
  const compareRoots = () => {
    while (next < targets.length && targets[next]!.size <= range.size) {
      const t = targets[next++]!;
      if (!treeAligned || t.size !== range.size) continue;
      const computed = range.root();
      if (bytesEqual(computed, t.root)) {
        verifiedSize = t.size;
      } else {
        add({
          kind: FaultKind.CHECKPOINT_ROOT_MISMATCH,
          index: verifiedSize,
          message: `the entries do not hash to the signed root of tree size ${t.size}${t.trusted ? ' (trusted checkpoint)' : ''}: something in [${verifiedSize}, ${t.size}) was rewritten`,
          size: t.size,
          approximate: true,
          expected: toBase64(t.root),
          computed: toBase64(computed),
        });
      }
    }
  };
  compareRoots(); // size 0

  const rows = new Lookahead(input.entries);
  let pos = start;
  // Entry a-1 is not part of a partial log: the first link is taken as given.
  let prevStored: string | undefined = start === 0 ? GENESIS : undefined;
  let lastShift = 0;
  const involved = new Set<number>(); // positions already blamed: their neighbours' links are not news
  const erasures = new ErasureCheck();
  for (let cur = await rows.next(); cur !== undefined; cur = await rows.next()) {
    const index = cur.index;
    if (!Number.isSafeInteger(index) || index < pos) {
      add({
        kind: FaultKind.ENTRY_MODIFIED,
        index: pos,
        message: `stored index ${String(index)} is out of order`,
      });
      continue;
    }
    if (index > pos) {
      add({
        kind: FaultKind.ENTRY_MISSING,
        index: pos,
        message: `entries ${pos} to ${index - 1} are missing`,
        count: index - pos,
      });
      treeAligned = false;
      involved.add(index - 1);
      pos = index;
    }
    const leaf = leafHashOf(cur, index);
    const computed = leaf ? toHex(leaf) : 'unhashable';
    const stored = cur.hash;
    if (computed === stored) {
      lastShift = 0;
      const expectedPrev = prevStored ?? cur.prev_hash;
      if (cur.prev_hash !== expectedPrev && !involved.has(pos - 1)) {
        add({
          kind: FaultKind.CHAIN_BROKEN,
          index: pos - 1,
          message: `entry ${pos}'s prev_hash is not the hash of entry ${pos - 1}: entry ${pos - 1} was rewritten with a recomputed hash`,
          expected: cur.prev_hash,
          found: expectedPrev,
        });
        involved.add(pos - 1);
      }
    } else {
      involved.add(pos);
      const shift = findShift(cur, index, stored);
      if (shift === 0) {
        lastShift = 0;
        add({
          kind: FaultKind.ENTRY_MODIFIED,
          index: pos,
          message: `entry ${pos} does not hash to its recorded hash: a field was edited`,
          ...editedFields(cur),
        });
      } else if (shift > 0) {
        const upcoming = rows.peek();
        const sameShift =
          upcoming !== undefined && hashOf(upcoming, upcoming.index + shift) === upcoming.hash;
        if (sameShift || upcoming === undefined) {
          if (lastShift !== shift) {
            add({
              kind: FaultKind.ENTRY_MISSING,
              index: pos,
              message: `${shift} entr${shift === 1 ? 'y' : 'ies'} at ${pos} removed and later entries renumbered`,
              count: shift,
            });
          }
        } else {
          add({
            kind: FaultKind.ENTRIES_REORDERED,
            index: pos,
            message: `entry ${pos} holds the entry written at index ${pos + shift}`,
            written_at: pos + shift,
          });
        }
        lastShift = shift;
      } else {
        const partner = pos + shift;
        if (!involved.has(partner) && lastShift !== shift) {
          add({
            kind: FaultKind.ENTRY_INSERTED,
            index: partner,
            message: `${-shift} entr${shift === -1 ? 'y was' : 'ies were'} inserted at ${partner}: later entries were renumbered`,
            count: -shift,
          });
        }
        for (let p = partner; p < pos; p++) involved.add(p);
        lastShift = shift;
      }
    }
    checkValues(cur, pos, add);
    const settled = erasures.reach(cur, pos);
    if (settled) add(settled);
    if (cur.erased && cur.erased.length > 0) {
      const claim = erasures.claim(cur, pos);
      if (claim) add(claim);
    }
    range.append(leaf ?? UNHASHABLE);
    prevStored = stored;
    pos++;
    compareRoots();
    if (pos % 65536 === 0) input.onProgress?.(pos);
  }
  input.onProgress?.(pos);
  if (input.suffix && treeAligned) extendBySuffix(range, input.suffix, add);
  compareRoots();

  const open = erasures.finish(input.suffix !== undefined && input.suffix.size > pos);
  for (const f of open.faults) add(f);
  if (open.unchecked > 0) {
    warnings.push(`${open.unchecked} erasure records name events outside this part of the log: not checked`);
  }

  const longest = targets.reduce((m, t) => Math.max(m, t.size), 0);
  if (!input.suffix && (longest > pos || (input.recordedSize ?? 0) > pos)) {
    const claimed = Math.max(longest, input.recordedSize ?? 0);
    add({
      kind: FaultKind.LOG_TRUNCATED,
      index: pos,
      message: `the log has ${pos} entries but ${longest >= claimed && longest > pos ? 'a signed checkpoint covers' : 'its head records'} ${claimed}: entries from ${pos} on were removed, or an older copy was restored`,
      size: pos,
      expected_size: claimed,
    });
  }
  if (!treeAligned) warnings.push('entries are missing, so tree roots after the gap were not compared');
  if (pos > verifiedSize && faultCount === 0) {
    warnings.push(
      `${pos - verifiedSize} entries after tree size ${verifiedSize} are not yet covered by a signed checkpoint (run evident checkpoint)`,
    );
  }
  if (!targets.some((t) => t.trusted)) {
    warnings.push(
      'no checkpoint kept outside the log was given (--trusted-checkpoint): truncation or a rollback to an older copy of the whole database cannot be ruled out',
    );
  }
  // Faults that pin an entry come first; a root mismatch only bounds a range, so it follows.
  const rank = (f: Fault) => (f.index === null ? 2 : f.approximate ? 1 : 0);
  faults.sort((a, b) => rank(a) - rank(b) || (a.index ?? 0) - (b.index ?? 0));
  const precise = faults.filter((f) => rank(f) === 0).map((f) => f.index as number);
  const rough = faults.filter((f) => rank(f) === 1).map((f) => f.index as number);
  const indexes = precise.length > 0 ? precise : rough;
  return {
    ok: faultCount === 0,
    origin: input.origin,
    entries: pos - start,
    checkpoints: targets.length,
    verified_size: verifiedSize,
    root: toBase64(range.root()),
    first_bad_index: indexes.length > 0 ? Math.min(...indexes) : null,
    faults,
    faults_truncated: faultCount > faults.length,
    warnings,
  };
}

/** Extends the rebuilt tree from the entries' end to a checkpoint's size by whole subtrees. */
function extendBySuffix(
  range: CompactRange,
  suffix: NonNullable<VerifyLogInput['suffix']>,
  add: (f: Fault) => void,
): void {
  const nodes = suffix.size >= range.size ? perfectSubtrees(range.size, suffix.size) : undefined;
  if (!nodes || nodes.length !== suffix.hashes.length) {
    add({
      kind: FaultKind.CHECKPOINT_ROOT_MISMATCH,
      index: range.size,
      message: `the subtree hashes given from ${range.size} to ${suffix.size} do not have the shape of that range`,
      size: suffix.size,
    });
    return;
  }
  for (const [i, n] of nodes.entries()) range.appendSubtree(n.level, suffix.hashes[i]!);
}

/** Opens every checkpoint; bad signatures and malformed notes become faults. */
function openTargets(input: VerifyLogInput, add: (f: Fault) => void): Target[] {
  const bySize = new Map<number, Target>();
  for (const cp of input.checkpoints) {
    const where = cp.trusted
      ? 'trusted checkpoint'
      : `stored checkpoint${cp.size === undefined ? '' : ` of size ${cp.size}`}`;
    let size: number;
    let root: Uint8Array;
    try {
      const opened = openCheckpoint(cp.note, input.verifiers, input.origin);
      size = opened.checkpoint.size;
      root = opened.checkpoint.rootHash;
    } catch (e) {
      const code = e instanceof EvidentError ? e.code : 'UNKNOWN';
      const sig = code === 'NOTE_SIGNATURE_INVALID' || code === 'NOTE_UNVERIFIED';
      add({
        kind: sig ? FaultKind.CHECKPOINT_SIGNATURE_INVALID : FaultKind.CHECKPOINT_MALFORMED,
        index: null,
        message: `${where}: ${sig ? 'no valid signature by the trusted key' : (e as Error).message}`,
        code,
        ...(cp.size === undefined ? {} : { size: cp.size }),
      });
      continue;
    }
    if (
      (cp.size !== undefined && cp.size !== size) ||
      (cp.root !== undefined && !bytesEqual(cp.root, root))
    ) {
      add({
        kind: FaultKind.CHECKPOINT_MALFORMED,
        index: null,
        message: `${where}: the size or root recorded beside the note differs from the signed note`,
        size,
      });
    }
    const seen = bySize.get(size);
    if (seen && !bytesEqual(seen.root, root)) {
      add({
        kind: FaultKind.CHECKPOINT_INCONSISTENT,
        index: null,
        message: `two validly signed checkpoints of tree size ${size} have different roots: the log was forked`,
        size,
        roots: [toBase64(seen.root), toBase64(root)],
      });
      continue;
    }
    if (!seen || cp.trusted) bySize.set(size, { size, root, trusted: cp.trusted ?? false });
  }
  return [...bySize.values()].sort((a, b) => a.size - b.size);
}

/**
 * Consecutive checkpoints must be consistent (RFC 9162 §2.1.4) according to the stored tree.
 * A failure bounds where the history diverges, like a root mismatch; a proof the store cannot
 * assemble (nodes gone with a truncated tail) is no finding of its own: the rebuilt tree says more.
 */
async function checkPairwise(
  targets: Target[],
  input: VerifyLogInput,
  add: (f: Fault) => void,
): Promise<void> {
  if (!input.consistencyProof) return;
  for (let i = 1; i < targets.length; i++) {
    const a = targets[i - 1]!;
    const b = targets[i]!;
    if (a.size === 0) continue;
    let proof: Uint8Array[];
    try {
      proof = await input.consistencyProof(a.size, b.size);
    } catch {
      continue;
    }
    try {
      verifyConsistency(a.size, b.size, proof, a.root, b.root);
    } catch (e) {
      add({
        kind: FaultKind.CHECKPOINT_INCONSISTENT,
        index: a.size,
        approximate: true,
        message: `signed checkpoints of sizes ${a.size} and ${b.size} are not consistent in the stored tree`,
        from: a.size,
        to: b.size,
        code: e instanceof EvidentError ? e.code : 'UNKNOWN',
      });
    }
  }
}

/** The entry's leaf hash, recomputed from its fields as if it stood at `index`. */
function leafHashOf(e: Entry, index: number): Uint8Array | undefined {
  try {
    return entryLeafHash(index === e.index ? e : { ...e, index });
  } catch {
    return undefined; // a field mangled past canonical JSON: it cannot match any hash
  }
}

function hashOf(e: Entry, index: number): string {
  const h = leafHashOf(e, index);
  return h ? toHex(h) : 'unhashable';
}

/** Stands in the rebuilt tree for an entry that has no canonical form (its root cannot match). */
const UNHASHABLE = new Uint8Array(32);

/** The offset at which the entry's fields hash to its stored hash, 0 if none near. */
function findShift(e: Entry, index: number, stored: string): number {
  for (let d = 1; d <= SHIFT_WINDOW; d++) {
    if (hashOf(e, index + d) === stored) return d;
    if (index - d >= 0 && hashOf(e, index - d) === stored) return -d;
  }
  return 0;
}

/** Erasable values must match their commitments; a vanished value needs an erasure record. */
function checkValues(e: Entry, pos: number, add: (f: Fault) => void): void {
  const bad: string[] = [];
  for (const [field, c] of Object.entries(e.commitments ?? {})) {
    const value = (e as unknown as Record<string, unknown>)[field];
    const salt = e.salts?.[field as keyof typeof e.salts];
    if (value !== undefined && salt !== undefined) {
      let ok = false;
      try {
        ok = checkCommitment(c as string, salt, value);
      } catch {
        ok = false;
      }
      if (!ok) bad.push(field);
    } else if (!e.erased?.includes(field as never)) {
      add({
        kind: FaultKind.VALUE_MISSING,
        index: pos,
        message: `entry ${pos}'s ${field} was deleted without a recorded erasure`,
        field,
      });
    }
  }
  if (bad.length > 0) {
    add({
      kind: FaultKind.ENTRY_MODIFIED,
      index: pos,
      message: `entry ${pos}: ${bad.join(', ')} no longer match${bad.length === 1 ? 'es' : ''} the committed value`,
      fields: bad,
    });
  }
}

/** Names the edited fields when the edit is visible without the original (commitments). */
function editedFields(_e: Entry): Record<string, unknown> {
  return {};
}

/** Iterates entries one at a time across pages, with a look at the next one. */
class Lookahead {
  private readonly it: AsyncIterator<readonly Entry[]>;
  private page: readonly Entry[] = [];
  private at = 0;
  private done = false;
  private buffered: Entry | undefined;

  constructor(source: AsyncIterable<readonly Entry[]>) {
    this.it = source[Symbol.asyncIterator]();
  }

  async next(): Promise<Entry | undefined> {
    const e = await this.fill();
    this.buffered = undefined;
    if (e) this.at++;
    // Keep the following one ready so that peek() is synchronous.
    this.buffered = await this.fill();
    return e;
  }

  peek(): Entry | undefined {
    return this.buffered;
  }

  private async fill(): Promise<Entry | undefined> {
    while (this.at >= this.page.length) {
      if (this.done) return undefined;
      const r = await this.it.next();
      if (r.done) {
        this.done = true;
        return undefined;
      }
      this.page = r.value;
      this.at = 0;
    }
    return this.page[this.at];
  }
}
