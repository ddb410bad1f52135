/**
 * One archive pass over a log (docs/retention.md): check the archive's checkpoints against the
 * store (a rolled-back store is caught here), seal every closed segment and put it to every
 * target (a segment some target already holds is copied from it, byte for byte), write every
 * signed checkpoint a target lacks, then prune what is past online retention and held, and
 * verified, by every target. A target that fails stops the pass before anything is pruned.
 */
import { promises as fs } from 'node:fs';
import { ErrorCode, EvidentError } from '../core/errors.ts';
import { verifierFromKey } from '../core/note-keys.ts';
import { exportBundle, verifyBundleFile } from '../ledger/export.ts';
import type { Ledger } from '../ledger/ledger.ts';
import type { StoredCheckpoint } from '../store/types.ts';
import { addDuration, parseDuration } from './duration.ts';
import { bundleName, checkpointName, manifestName, parseName } from './layout.ts';
import { MANIFEST_FORMAT, manifestBytes, parseManifest, type SegmentManifest } from './manifest.ts';
import { pruneSegment } from './prune.ts';
import { readPolicy } from './retention.ts';
import { segmentEnd } from './segments.ts';
import { readAll, sha256Hex, stage } from './stage.ts';
import type { ArchiveTarget } from './target.ts';

export interface ArchivePassOptions {
  ledger: Ledger;
  targets: readonly ArchiveTarget[];
  /** Also seal the open segment (up to the current size). */
  sealOpen?: boolean;
  /** Prune what is past online retention (default true). */
  prune?: boolean;
  now?: () => Date;
  stagingDir?: string;
  onProgress?: (p: {
    phase: 'seal' | 'copy' | 'checkpoints' | 'prune';
    first?: number;
    last?: number;
  }) => void;
}

export interface ArchivePassResult {
  log: string;
  targets: string[];
  sealed: { first: number; last: number; bytes: number }[];
  copied: number;
  checkpoints_written: number;
  pruned: { first: number; last: number; entries: number; prune_index: number }[];
  /** Last index held by every target, or null when nothing is sealed yet. */
  last_sealed: number | null;
  /** Entries not yet sealed. */
  lag_entries: number;
  /** Entries [0, pruned_through) are pruned from the primary store. */
  pruned_through: number;
}

export async function archivePass(o: ArchivePassOptions): Promise<ArchivePassResult> {
  const { ledger, targets } = o;
  const store = ledger.store;
  const log = ledger.log;
  const now = o.now ?? (() => new Date());
  if (targets.length === 0) {
    throw new EvidentError(
      ErrorCode.USAGE,
      `log "${log.name}" has no archive target (evident archive target add)`,
      {
        field: 'target',
        rule: 'no_target',
      },
    );
  }
  const inForce = await readPolicy(store, log);
  if (!inForce) {
    throw new EvidentError(
      ErrorCode.USAGE,
      `log "${log.name}" has no retention policy (evident retention set, or evident init --retention)`,
      { field: 'retention', rule: 'no_policy' },
    );
  }
  const policy = inForce.policy;
  await checkArchivedCheckpoints(ledger, targets);

  const result: ArchivePassResult = {
    log: log.name,
    targets: targets.map((t) => t.url),
    sealed: [],
    copied: 0,
    checkpoints_written: 0,
    pruned: [],
    last_sealed: null,
    lag_entries: 0,
    pruned_through: 0,
  };
  const held = await heldSegments(log.name, targets);
  const pruned = await store.prunedRanges(log.id);
  let prunedThrough = 0;
  for (const r of pruned) if (r.first === prunedThrough) prunedThrough = r.last + 1;
  const manifests: SegmentManifest[] = [];
  let size = (await store.head(log.id)).size;
  let prevTreeSize: number | undefined;
  for (let s = 0; ; ) {
    const h = held.segments.get(s);
    if (h) {
      const manifest = await copyToMissing(log.name, s, h, targets, o, result);
      manifests.push(manifest);
      prevTreeSize = manifest.tree_size;
      s = manifest.last + 1;
      continue;
    }
    if (s < prunedThrough) {
      throw new EvidentError(
        ErrorCode.TAMPER_DETECTED,
        `entries from ${s} were pruned from the store, yet no archive target holds their segment`,
        { rule: 'pruned_segment_lost', index: s },
      );
    }
    // A bundle without its manifest: a pass stopped between the two puts. Its bytes are adopted
    // (once they verify), since a new seal would differ and the target never overwrites.
    const orphan = held.orphans.get(s);
    const end = orphan
      ? orphan.last
      : await segmentEnd(store, log, s, size, policy.segment, {
          now: now(),
          sealOpen: o.sealOpen ?? false,
        });
    if (end === undefined) break;
    o.onProgress?.({ phase: 'seal', first: s, last: end });
    const manifest = orphan
      ? await adoptOrphan(ledger, s, orphan, policy, now, o)
      : await sealSegment(ledger, s, end, policy, prevTreeSize, now, o);
    try {
      for (const t of targets) await putSegment(t, manifest);
    } finally {
      await dropStaged(manifest);
    }
    result.sealed.push({ first: s, last: end, bytes: manifest.bundle.size });
    manifests.push(manifest);
    prevTreeSize = manifest.tree_size;
    size = Math.max(size, manifest.tree_size);
    s = end + 1;
  }
  o.onProgress?.({ phase: 'checkpoints' });
  result.checkpoints_written = await writeCheckpoints(ledger, targets);

  if (o.prune ?? true) {
    const online = parseDuration(policy.online, 'online');
    for (const m of manifests) {
      if (m.last < prunedThrough) continue;
      if (m.first !== prunedThrough) break;
      if (addDuration(new Date(m.last_received_at), online).getTime() > now().getTime()) break;
      o.onProgress?.({ phase: 'prune', first: m.first, last: m.last });
      const p = await pruneSegment(ledger, m, targets, policy, now);
      result.pruned.push({ first: m.first, last: m.last, entries: p.entries, prune_index: p.pruneIndex });
      prunedThrough = m.last + 1;
    }
  }
  const last = manifests.at(-1);
  result.last_sealed = last ? last.last : null;
  result.lag_entries = (await store.head(log.id)).size - (last ? last.last + 1 : 0);
  result.pruned_through = prunedThrough;
  return result;
}

/** Segments the targets hold, by first index: which targets hold a manifest of it. */
async function heldSegments(log: string, targets: readonly ArchiveTarget[]) {
  const segments = new Map<number, { last: number; holders: ArchiveTarget[] }>();
  const bundles = new Map<ArchiveTarget, Map<number, number>>();
  for (const t of targets) {
    const own = new Map<number, number>();
    bundles.set(t, own);
    for await (const obj of t.list(`${log}/segments/`)) {
      const n = parseName(obj.name);
      if ((n.kind !== 'manifest' && n.kind !== 'bundle') || n.log !== log) continue;
      if (n.kind === 'bundle') {
        own.set(n.first, n.last);
        continue;
      }
      const h = segments.get(n.first);
      if (h && h.last === n.last) h.holders.push(t);
      else if (!h) segments.set(n.first, { last: n.last, holders: [t] });
    }
  }
  // Bundles no target's manifest describes.
  const orphans = new Map<number, { last: number; holder: ArchiveTarget }>();
  for (const [t, own] of bundles) {
    for (const [first, last] of own) {
      if (segments.has(first) || orphans.has(first)) continue;
      orphans.set(first, { last, holder: t });
    }
  }
  return { segments, orphans };
}

/** A bundle left without its manifest, read back and verified with the log's key, then described. */
async function adoptOrphan(
  ledger: Ledger,
  first: number,
  orphan: { last: number; holder: ArchiveTarget },
  policy: { online: string; archive: string },
  now: () => Date,
  o: ArchivePassOptions,
): Promise<SegmentManifest> {
  const name = bundleName(ledger.log.name, first, orphan.last);
  const body = await orphan.holder.read(name);
  if (!body)
    throw new EvidentError(ErrorCode.ARCHIVE_UNAVAILABLE, `archive ${orphan.holder.url}: ${name} vanished`, {
      target: orphan.holder.url,
      name,
    });
  const staged = await stage(body, o.stagingDir);
  let header: { checkpoint: string; tree_size: number; range: { from: number; to: number } };
  let ok = false;
  try {
    const r = await verifyBundleFile(staged.path, { verifiers: [verifierFromKey(ledger.log.vkey)] });
    header = r.header;
    ok = r.report.ok && r.header.range.from === first && r.header.range.to === orphan.last + 1;
  } catch {
    ok = false;
  }
  if (!ok) {
    await fs.rm(staged.path, { force: true });
    throw new EvidentError(
      ErrorCode.ARCHIVE_CONFLICT,
      `archive ${orphan.holder.url}: ${name} has no manifest and does not verify as segment ${first}..${orphan.last}: remove it or look into it`,
      { target: orphan.holder.url, name },
    );
  }
  return manifestFor(ledger, first, orphan.last, staged, header!, policy, now);
}

async function readManifest(
  t: ArchiveTarget,
  name: string,
): Promise<{ bytes: Uint8Array; manifest: SegmentManifest }> {
  const body = await t.read(name);
  if (!body)
    throw new EvidentError(ErrorCode.ARCHIVE_UNAVAILABLE, `archive ${t.url}: ${name} vanished`, {
      target: t.url,
      name,
    });
  const bytes = await readAll(body);
  return { bytes, manifest: parseManifest(new TextDecoder().decode(bytes)) };
}

/** A segment held by some targets: read from the first holder, checked, put to the others. */
async function copyToMissing(
  log: string,
  first: number,
  h: { last: number; holders: ArchiveTarget[] },
  targets: readonly ArchiveTarget[],
  o: ArchivePassOptions,
  result: ArchivePassResult,
): Promise<SegmentManifest> {
  const source = h.holders[0]!;
  const mName = manifestName(log, first, h.last);
  const { bytes, manifest } = await readManifest(source, mName);
  const missing = targets.filter((t) => !h.holders.includes(t));
  if (missing.length === 0) return manifest;
  o.onProgress?.({ phase: 'copy', first, last: h.last });
  const body = await source.read(manifest.bundle.name);
  if (!body)
    throw new EvidentError(
      ErrorCode.ARCHIVE_UNAVAILABLE,
      `archive ${source.url}: ${manifest.bundle.name} is missing`,
      { target: source.url, name: manifest.bundle.name },
    );
  const staged = await stage(body, o.stagingDir);
  try {
    if (staged.sha256 !== manifest.bundle.sha256 || staged.size !== manifest.bundle.size) {
      throw new EvidentError(
        ErrorCode.TAMPER_DETECTED,
        `archive ${source.url}: ${manifest.bundle.name} does not match its manifest`,
        {
          rule: 'archive_altered',
          target: source.url,
          name: manifest.bundle.name,
        },
      );
    }
    const retainUntil = new Date(manifest.retain_until);
    for (const t of missing) {
      await t.put(
        manifest.bundle.name,
        { path: staged.path },
        { sha256: staged.sha256, size: staged.size, retainUntil },
      );
      await t.put(
        mName,
        { bytes },
        { sha256: sha256Hex(bytes), size: bytes.length, retainUntil, contentType: 'application/json' },
      );
      result.copied++;
    }
  } finally {
    await fs.rm(staged.path, { force: true });
  }
  return manifest;
}

const stagedPaths = new WeakMap<SegmentManifest, string>();

async function sealSegment(
  ledger: Ledger,
  first: number,
  last: number,
  policy: { online: string; archive: string },
  prevTreeSize: number | undefined,
  now: () => Date,
  o: ArchivePassOptions,
): Promise<SegmentManifest> {
  const store = ledger.store;
  const log = ledger.log;
  // Consistency proofs in the header (RFC 9162 §2.1.4): from the previous segment's checkpoint,
  // and from the stored checkpoints past this segment, so an archive alone checks them all.
  const sizes = (await store.checkpoints(log.id)).map((c) => c.size).filter((n) => n > last + 1);
  const consistencyFrom = [...(prevTreeSize !== undefined ? [prevTreeSize] : []), ...sizes.slice(-60)];
  const lines = exportBundle(ledger, { fromIndex: first, toIndex: last + 1, consistencyFrom });
  let header: { checkpoint: string; tree_size: number } | undefined;
  async function* tap(): AsyncIterable<string> {
    for await (const line of lines) {
      if (!header) header = JSON.parse(line) as { checkpoint: string; tree_size: number };
      yield line;
    }
  }
  const staged = await stage(tap(), o.stagingDir);
  return manifestFor(ledger, first, last, staged, header!, policy, now);
}

/** The manifest of a staged bundle of entries [first, last], proven against `header.checkpoint`. */
async function manifestFor(
  ledger: Ledger,
  first: number,
  last: number,
  staged: { path: string; sha256: string; size: number },
  header: { checkpoint: string; tree_size: number },
  policy: { online: string; archive: string },
  now: () => Date,
): Promise<SegmentManifest> {
  const store = ledger.store;
  const log = ledger.log;
  const [a] = await store.entries(log.id, first, first + 1, 1);
  const [b] = await store.entries(log.id, last, last + 1, 1);
  const retainUntil = addDuration(new Date(b!.received_at), parseDuration(policy.archive, 'archive'));
  const manifest: SegmentManifest = {
    format: MANIFEST_FORMAT,
    log: log.name,
    origin: log.origin,
    first,
    last,
    count: last - first + 1,
    first_received_at: a!.received_at,
    last_received_at: b!.received_at,
    first_timestamp: a!.timestamp,
    last_timestamp: b!.timestamp,
    bundle: { name: bundleName(log.name, first, last), sha256: staged.sha256, size: staged.size },
    checkpoint: header.checkpoint,
    tree_size: header.tree_size,
    erasable: log.erasable,
    sealed_at: now().toISOString(),
    retain_until: retainUntil.toISOString(),
    online: policy.online,
    archive: policy.archive,
  };
  stagedPaths.set(manifest, staged.path);
  return manifest;
}

/** Bundle first, then manifest: a manifest on a target means its bundle was put before it. */
async function putSegment(t: ArchiveTarget, m: SegmentManifest): Promise<void> {
  const path = stagedPaths.get(m)!;
  const retainUntil = new Date(m.retain_until);
  await t.put(m.bundle.name, { path }, { sha256: m.bundle.sha256, size: m.bundle.size, retainUntil });
  const bytes = manifestBytes(m);
  await t.put(
    manifestName(m.log, m.first, m.last),
    { bytes },
    {
      sha256: sha256Hex(bytes),
      size: bytes.length,
      retainUntil,
      contentType: 'application/json',
    },
  );
}

/** Removes a sealed segment's staging file once every target holds it. */
export async function dropStaged(m: SegmentManifest): Promise<void> {
  const p = stagedPaths.get(m);
  if (p) await fs.rm(p, { force: true });
}

/**
 * The archive's latest checkpoint must be in the store, byte for byte: the store keeps every
 * checkpoint it signed (append-only), so one the store lacks, or holds with other bytes, means
 * the store was rolled back to an older copy or forked (TAMPER_DETECTED, exit 1). The latest
 * per target suffices: a rolled-back or forked store lacks it too, and the store's own verify
 * checks its checkpoints against each other; it keeps a pass O(1) in checkpoints read.
 */
export async function checkArchivedCheckpoints(
  ledger: Ledger,
  targets: readonly ArchiveTarget[],
): Promise<void> {
  const log = ledger.log;
  for (const t of targets) {
    let latest: { name: string; size: number } | undefined;
    for await (const obj of t.list(`${log.name}/checkpoints/`)) {
      const n = parseName(obj.name);
      if (n.kind === 'checkpoint' && n.log === log.name && (!latest || n.size > latest.size))
        latest = { name: obj.name, size: n.size };
    }
    if (!latest) continue;
    const body = await t.read(latest.name);
    if (!body) continue;
    const note = new TextDecoder().decode(await readAll(body));
    // A published floor from now on: the signer refuses any tree it contradicts (and the log is
    // fenced at once if the store's tree already does), whatever the store says below.
    await ledger.raisePublished('archive', note, `${t.url} ${latest.name}`);
    const stored = await ledger.store.checkpointAt(log.id, latest.size);
    if (!stored || stored.note !== note) {
      const head = await ledger.store.head(log.id);
      throw new EvidentError(
        ErrorCode.TAMPER_DETECTED,
        stored
          ? `the archive ${t.url} holds a checkpoint of tree size ${latest.size} that differs from the store's: the log was forked or rewritten`
          : `the archive ${t.url} holds a signed checkpoint of tree size ${latest.size} that the store lacks (store size ${head.size}): the store was rolled back to an older copy`,
        {
          rule: stored ? 'archive_checkpoint_differs' : 'archive_checkpoint_missing',
          size: latest.size,
          target: t.url,
          object: latest.name,
          store_size: head.size,
        },
      );
    }
  }
}

/**
 * Between passes (docs/retention.md, "Checkpoints between passes"): the rollback check of a pass,
 * then the store's latest signed checkpoint put to each target that lacks it, under the same name
 * and retain-until as the pass writes. One object per call per target at most; returns how many
 * were written.
 */
export async function archiveLatestCheckpoint(
  ledger: Ledger,
  targets: readonly ArchiveTarget[],
): Promise<number> {
  await checkArchivedCheckpoints(ledger, targets);
  const all = await ledger.store.checkpoints(ledger.log.id);
  let latest: StoredCheckpoint | undefined;
  for (const cp of all) if (!latest || cp.size > latest.size) latest = cp;
  return latest ? writeCheckpoints(ledger, targets, [latest]) : 0;
}

async function writeCheckpoints(
  ledger: Ledger,
  targets: readonly ArchiveTarget[],
  only?: readonly StoredCheckpoint[],
): Promise<number> {
  const log = ledger.log;
  const all = only ?? (await ledger.store.checkpoints(log.id));
  // Recorded in the signer state before any leaves (Ledger.publish): the largest covers the rest.
  let largest: StoredCheckpoint | undefined;
  for (const cp of all) if (!largest || cp.size > largest.size) largest = cp;
  await ledger.publish(largest);
  let written = 0;
  for (const t of targets) {
    const have = new Set<string>();
    for await (const obj of t.list(`${log.name}/checkpoints/`)) have.add(obj.name);
    for (const cp of all) {
      const name = checkpointName(log.name, cp.size);
      if (have.has(name)) continue;
      const bytes = new TextEncoder().encode(cp.note);
      // Checkpoints are kept as long as the longest retention: they pin every segment.
      await t.put(
        name,
        { bytes },
        {
          sha256: sha256Hex(bytes),
          size: bytes.length,
          retainUntil: farFuture(cp.createdAt),
          contentType: 'text/plain',
        },
      );
      written++;
    }
  }
  return written;
}

/** A checkpoint's retain-until: 10 years after it was signed (longer than any preset). */
function farFuture(createdAt: string): Date {
  return addDuration(new Date(createdAt), { count: 10, unit: 'y' });
}
