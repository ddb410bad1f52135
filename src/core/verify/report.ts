/** What verification reports: every fault with its kind and the first index it concerns. */
import type { ErasureSummary } from './erasures.ts';

export const FaultKind = {
  /** An entry's fields no longer hash to its stored hash (a field was edited). */
  ENTRY_MODIFIED: 'entry_modified',
  /** Entries are absent from their place (deleted, with or without renumbering). */
  ENTRY_MISSING: 'entry_missing',
  /** An entry was put between others (the ones after it were renumbered). */
  ENTRY_INSERTED: 'entry_inserted',
  /** Entries stand at another index than the one they were written at. */
  ENTRIES_REORDERED: 'entries_reordered',
  /** An entry's prev_hash is not the hash of the entry before it. */
  CHAIN_BROKEN: 'chain_broken',
  /** The log is shorter than a signed checkpoint (tail cut off, or an older copy restored). */
  LOG_TRUNCATED: 'log_truncated',
  CHECKPOINT_SIGNATURE_INVALID: 'checkpoint_signature_invalid',
  CHECKPOINT_MALFORMED: 'checkpoint_malformed',
  /** The tree rebuilt from the entries does not have the signed root at that size. */
  CHECKPOINT_ROOT_MISMATCH: 'checkpoint_root_mismatch',
  /** Two signed checkpoints that cannot both be views of one append-only log. */
  CHECKPOINT_INCONSISTENT: 'checkpoint_inconsistent',
  /** The log's recorded verifier key is not the key the auditor or operator holds for its origin. */
  VERIFIER_KEY_REPLACED: 'verifier_key_replaced',
  /** An erasable value vanished without an erasure event that names it and is authorised. */
  VALUE_MISSING: 'value_missing',
  /** An `evident.erasure` event that no trusted erasure key signed (a forged erasure). */
  ERASURE_UNAUTHORISED: 'erasure_unauthorised',
  /**
   * An index, trigger, policy, rule or grant differs from what the migrations created: no hash
   * covers it, yet a query can hide rows through it, or append-only rests on it.
   */
  SCHEMA_DRIFT: 'schema_drift',
  /** An API key in the store that no audit event created (or revoked), or that differs from it. */
  API_KEY_UNRECORDED: 'api_key_unrecorded',
  /** The stored log head (size, last hash, frontier) is not what the entries give. */
  HEAD_MISMATCH: 'head_mismatch',
  /** A stored tree node is not the hash of the subtree the entries give, is missing, or lies beyond the tree. */
  TREE_NODE_MISMATCH: 'tree_node_mismatch',
  /** A time-window bundle that cannot show it holds every entry of its window (../bundle-window.ts; `rule` says which check). */
  WINDOW_INCOMPLETE: 'window_incomplete',
} as const;

export type FaultKind = (typeof FaultKind)[keyof typeof FaultKind];

export interface Fault {
  kind: FaultKind;
  /** The first entry index the fault concerns; null when it is about a checkpoint, the head or a tree node alone. */
  index: number | null;
  /** True when `index` only starts the range in which the fault lies (a root mismatch). */
  approximate?: boolean;
  message: string;
  [detail: string]: unknown;
}

/** A checkpoint kept outside that the input cannot be checked against: never OK, not evidence either. */
export interface UncheckedCheckpoint {
  size: number;
  /** `beyond-bundle`: larger than the bundle's tree; `no-consistency-proof`: the bundle carries no proof from it. */
  reason: 'beyond-bundle' | 'no-consistency-proof';
  message: string;
}

export interface VerifyReport {
  ok: boolean;
  origin: string;
  /** Entries read. */
  entries: number;
  /** Signed checkpoints checked (stored and trusted). */
  checkpoints: number;
  /** Largest tree size whose signed root matched the rebuilt tree (0 if none). */
  verified_size: number;
  /** Root of the rebuilt tree over all entries read, base64. */
  root: string;
  /** The first entry shown bad; when only a signed root disagrees, the start of the range it covers. */
  first_bad_index: number | null;
  /** Entry faults by index first, then range faults, then faults of checkpoints alone. */
  faults: Fault[];
  /** True when more faults were found than are listed. */
  faults_truncated: boolean;
  /**
   * Erasure events read, how many a trusted erasure key signed, and how many could not be
   * checked for want of one. `unauthenticated > 0` is its own outcome: intact as far as the
   * signed checkpoints go, but the erasures' authority unknown (docs/formats.md, "Erasable fields and erasures").
   */
  erasures: ErasureSummary;
  warnings: string[];
  /** Trusted checkpoints that could not be checked (then `ok` is false even without faults). */
  unchecked?: UncheckedCheckpoint[];
  /**
   * Ranges pruned past online retention (docs/retention.md): their entries are not in the
   * store; the tree still covers them through the kept leaf hashes and nodes, and the archive
   * objects named by the prune event hold them.
   */
  pruned?: PrunedReport[];
}

export interface PrunedReport {
  /** Entries [first, last], inclusive. */
  first: number;
  last: number;
  /** The `evident.prune` event that pruned them. */
  prune_index: number;
  /** The archive objects that hold them, as the prune event names them (absent once that event is pruned too). */
  objects?: string[];
}

const LABEL: Record<FaultKind, string> = {
  entry_modified: 'field edited',
  entry_missing: 'entry missing',
  entry_inserted: 'entry inserted',
  entries_reordered: 'entries reordered',
  chain_broken: 'chain broken',
  log_truncated: 'log truncated',
  checkpoint_signature_invalid: 'bad checkpoint signature',
  checkpoint_malformed: 'malformed checkpoint',
  checkpoint_root_mismatch: 'root does not match checkpoint',
  checkpoint_inconsistent: 'inconsistent checkpoints',
  value_missing: 'value deleted without an authorised erasure',
  verifier_key_replaced: 'verifier key replaced',
  erasure_unauthorised: 'erasure not authorised',
  schema_drift: 'schema differs from the migrations',
  api_key_unrecorded: 'API key without its audit event',
  head_mismatch: 'log head does not match the entries',
  tree_node_mismatch: 'stored tree node does not match the entries',
  window_incomplete: 'time window not shown complete',
};

/** A report in words, for people. */
export function describeReport(r: VerifyReport): string {
  const lines: string[] = [];
  if (r.ok && r.erasures.unauthenticated > 0) {
    lines.push(
      `OK, ERASURES UNAUTHENTICATED: ${r.entries} entries of ${r.origin} verified; ${r.checkpoints} signed checkpoints match; ${r.erasures.unauthenticated} erasure events not checked (pass the erasure verifier key with --erasure-key).`,
    );
  } else if (r.ok) {
    lines.push(
      `OK: ${r.entries} entries of ${r.origin} verified; ${r.checkpoints} signed checkpoints match.`,
    );
  } else if (r.faults.length === 0) {
    lines.push(
      `NOT VERIFIED: ${r.entries} entries of ${r.origin} are intact, but not every trusted checkpoint could be checked:`,
    );
    for (const u of r.unchecked ?? []) lines.push(`  - tree size ${u.size}: ${u.message}`);
  } else {
    lines.push(
      `TAMPERING DETECTED in ${r.origin}: first bad index ${r.first_bad_index ?? '(none: checkpoints, schema or keys)'}.`,
    );
    for (const f of r.faults)
      lines.push(`  - ${LABEL[f.kind]}${f.index === null ? '' : ` at index ${f.index}`}: ${f.message}`);
    if (r.faults_truncated) lines.push('  - (more faults not listed)');
  }
  const pruned = r.pruned ?? [];
  const prunedCount = pruned.reduce((n, p) => n + p.last - p.first + 1, 0);
  lines.push(
    `Entries covered by a verified signed checkpoint: ${r.verified_size} of ${r.entries + prunedCount}${prunedCount > 0 ? ` (${prunedCount} pruned)` : ''}.`,
  );
  for (const p of pruned) {
    lines.push(
      `Pruned: entries ${p.first}..${p.last} (prune event #${p.prune_index}), held by ${p.objects?.join(', ') ?? 'the archive objects named by that event'}.`,
    );
  }
  for (const w of r.warnings) lines.push(`Warning: ${w}`);
  return lines.join('\n');
}
