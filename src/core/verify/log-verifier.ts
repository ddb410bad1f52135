/**
 * Streaming verification of a whole log: every entry is re-hashed from its fields (a stored
 * hash is never trusted), the chain is followed, the RFC 6962 tree is rebuilt in O(log n)
 * memory and its root compared with every signed checkpoint, stored or kept outside.
 * Pages of entries come from any source (a database, a bundle file), so memory stays flat.
 */
import { bytesEqual, hexEquals, toBase64 } from '../bytes.ts';
import { GENESIS } from '../event/entry.ts';
import { CompactRange } from '../merkle/index.ts';
import type { NoteVerifier } from '../note-keys.ts';
import { checkPairwise, extendBySuffix, openTargets } from './checkpoints.ts';
import { checkValues, findShift, hashesTo, leafHashOf, UNHASHABLE } from './entry-checks.ts';
import { ErasureCheck } from './erasures.ts';
import { checkHead, type RecordedHead } from './head.ts';
import { type EntrySource, Lookahead } from './lookahead.ts';
import { type Fault, FaultKind, type VerifyReport } from './report.ts';
import { isRun, type VerifiedRun } from './runs.ts';
import { NodeCheck, type StoredNodes } from './tree-nodes.ts';

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
  /**
   * Erasure keys the auditor trusts (docs/formats.md, "Erasable fields and erasures"): erasure events they did not
   * sign are faults. Without any, erasure events are reported as unauthenticated.
   */
  erasureVerifiers?: readonly NoteVerifier[];
  /** Pages of entries in index order, or runs of them already checked (./runs.ts). */
  entries: EntrySource;
  checkpoints: readonly CheckpointSource[];
  /** The log's own record of its size (its head), when there is one. */
  recordedSize?: number;
  /**
   * The log's whole head (size, last hash, frontier) as read after the last entries were (so
   * that appends made meanwhile are in it): compared with what the entries give. Its size then
   * stands for recordedSize.
   */
  recordedHead?: () => RecordedHead | undefined;
  /** The store's perfect-subtree nodes: each is compared with the tree the entries give. */
  storedNodes?: StoredNodes;
  /** Leaves per read of stored nodes (default NODE_WINDOW); runs must start on multiples of it. */
  nodeWindow?: number;
  /** The log's size now: stored nodes beyond it belong to no tree (appends go on while a live log is verified). */
  currentSize?: () => Promise<number>;
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
  /** Checkpoints kept outside were given, and the caller checks those not in `checkpoints`. */
  trustedGiven?: boolean;
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

  let pos = start;
  // A run that begins before pos (entries before it claimed later indexes) is taken entry by entry.
  const rows = new Lookahead(input.entries, (run) => run.start >= pos);
  // Entry a-1 is not part of a partial log: the first link is taken as given.
  let prevStored: string | undefined = start === 0 ? GENESIS : undefined;
  let lastShift = 0;
  const involved = new Set<number>(); // positions already blamed: their neighbours' links are not news
  const blamedSorted: number[] = []; // the same positions in order, to ask whether a node covers one
  const blame = (p: number) => {
    if (involved.has(p)) return;
    involved.add(p);
    let i = blamedSorted.length;
    while (i > 0 && blamedSorted[i - 1]! > p) i--;
    blamedSorted.splice(i, 0, p);
  };
  /** The entry at `pos` names `prevHash` as its predecessor's hash: else that predecessor was rewritten. */
  const checkLink = (prevHash: string) => {
    const expectedPrev = prevStored ?? prevHash;
    if (prevHash === expectedPrev || involved.has(pos - 1)) return;
    add({
      kind: FaultKind.CHAIN_BROKEN,
      index: pos - 1,
      message: `entry ${pos}'s prev_hash is not the hash of entry ${pos - 1}: entry ${pos - 1} was rewritten with a recomputed hash`,
      expected: prevHash,
      found: expectedPrev,
    });
    blame(pos - 1);
  };
  const blamedIn = (a: number, b: number) => {
    let lo = 0;
    let hi = blamedSorted.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (blamedSorted[mid]! < a) lo = mid + 1;
      else hi = mid;
    }
    return lo < blamedSorted.length && blamedSorted[lo]! < b;
  };
  const nodeCheck =
    input.storedNodes && !input.prefix
      ? new NodeCheck(input.storedNodes, add, blamedIn, input.nodeWindow)
      : undefined;
  const erasures = new ErasureCheck(input.origin, input.erasureVerifiers);
  /**
   * A clean run (./runs.ts) has the effect its entries would have one by one: each hashes to its
   * stored hash and links to the one before, so only the first link can fail; no value, erasure
   * or stored node inside it is wrong. Its leaves go into the tree as whole subtrees, unless a
   * checkpoint's size or a waiting erasure falls inside it: then leaf by leaf.
   */
  const takeRun = (run: VerifiedRun) => {
    if (run.start > pos) {
      add({
        kind: FaultKind.ENTRY_MISSING,
        index: pos,
        message: `entries ${pos} to ${run.start - 1} are missing`,
        count: run.start - pos,
      });
      treeAligned = false;
      blame(run.start - 1);
      pos = run.start;
    }
    lastShift = 0;
    checkLink(run.firstPrev);
    const end = run.start + run.count;
    const upper = new Map(run.upper.map((n) => [n.level, n]));
    const visit =
      nodeCheck && treeAligned
        ? (level: number, index: number, hash: Uint8Array) => {
            if (index * 2 ** level >= run.start) return; // inside the run: checked with it
            const stored = upper.get(level);
            nodeCheck.checkGiven(level, index, hash, stored?.index === index ? stored.hash : undefined);
          }
        : undefined;
    const targetInside = next < targets.length && targets[next]!.size < end;
    // After missing entries the tree has fewer leaves than pos: whole subtrees no longer line up.
    if (targetInside || range.size !== pos || erasures.waitsIn(run.start, end)) {
      for (let i = 0; i < run.count; i++) {
        erasures.reachOther(pos, add);
        range.push(run.leaves.subarray(i * 32, i * 32 + 32), visit);
        pos++;
        compareRoots();
        if (pos % 65536 === 0) input.onProgress?.(pos);
      }
    } else {
      for (const p of run.pieces) range.appendSubtree(p.level, p.hash, visit);
      const before = pos;
      pos = end;
      compareRoots();
      for (let m = (Math.floor(before / 65536) + 1) * 65536; m <= end; m += 65536) input.onProgress?.(m);
    }
    prevStored = run.lastHash;
  };
  // Within a page the next entry is taken without an await (a promise per entry costs more
  // than hashing it); at a page's end next() reads on.
  for (
    let cur = rows.nextInPage() ?? (await rows.next());
    cur !== undefined;
    cur = rows.nextInPage() ?? (await rows.next())
  ) {
    if (isRun(cur)) {
      takeRun(cur);
      continue;
    }
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
      blame(index - 1);
      pos = index;
    }
    const leaf = leafHashOf(cur, index);
    const stored = cur.hash;
    // An entry without a canonical form matches no stored hash (not even the text "unhashable").
    if (leaf !== undefined && hexEquals(leaf, stored)) {
      lastShift = 0;
      checkLink(cur.prev_hash);
    } else {
      blame(pos);
      const shift = findShift(cur, index, stored);
      if (shift === 0) {
        lastShift = 0;
        add({
          kind: FaultKind.ENTRY_MODIFIED,
          index: pos,
          message: `entry ${pos} does not hash to its recorded hash: a field was edited`,
        });
      } else if (shift > 0) {
        const upcoming = rows.peek();
        const sameShift = upcoming !== undefined && hashesTo(upcoming, upcoming.index + shift, upcoming.hash);
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
        for (let p = partner; p < pos; p++) blame(p);
        lastShift = shift;
      }
    }
    checkValues(cur, pos, add);
    erasures.reach(cur, pos, add);
    if (cur.erased && cur.erased.length > 0) erasures.claim(cur, pos, add);
    if (nodeCheck && treeAligned) {
      if (nodeCheck.needs(pos)) await nodeCheck.load(pos);
      range.push(leaf ?? UNHASHABLE, nodeCheck.visit);
    } else range.push(leaf ?? UNHASHABLE);
    prevStored = stored;
    pos++;
    compareRoots();
    if (pos % 65536 === 0) input.onProgress?.(pos);
  }
  input.onProgress?.(pos);
  if (nodeCheck && treeAligned) await nodeCheck.finish(pos, input.currentSize);
  if (input.suffix && treeAligned) extendBySuffix(range, input.suffix, add);
  compareRoots();

  const open = erasures.finish(input.suffix !== undefined && input.suffix.size > pos, add);
  if (open.unchecked > 0) {
    warnings.push(`${open.unchecked} erasure records name events outside this part of the log: not checked`);
  }
  const erased = erasures.summary;
  if (erased.unauthenticated > 0) {
    warnings.push(
      `${erased.unauthenticated} erasure event${erased.unauthenticated === 1 ? ' was' : 's were'} not authenticated: no erasure key was given (--erasure-key), so a database writer could have forged ${erased.unauthenticated === 1 ? 'it' : 'them'}`,
    );
  }

  const longest = targets.reduce((m, t) => Math.max(m, t.size), 0);
  const recordedHead = input.recordedHead?.();
  const head =
    recordedHead && !input.prefix && !input.suffix
      ? checkHead(recordedHead, {
          size: pos,
          lastHash: prevStored ?? GENESIS,
          frontier: treeAligned && blamedSorted.length === 0 ? range.encode() : undefined,
        })
      : undefined;
  if (head) add(head);
  // A head that only claims more entries than there are, while naming the last one present as
  // its last, was rewritten (head_mismatch above): the entries were not cut.
  const headOnly = head !== undefined && head['last_entry_matches'] === true;
  const recorded = headOnly ? 0 : (recordedHead?.size ?? input.recordedSize ?? 0);
  if (!input.suffix && (longest > pos || recorded > pos)) {
    const claimed = Math.max(longest, recorded);
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
  // Whether any was given, not whether one opened: one that failed is a fault of its own.
  if (!input.trustedGiven && !input.checkpoints.some((c) => c.trusted)) {
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
    erasures: { ...erased },
    warnings,
  };
}
