/**
 * `evident archive verify`: an archive target checked alone, with no database (docs/retention.md,
 * "Checking an archive"). For each log in it:
 *
 * - every segment: its manifest parses and names the range its object name says; its bundle
 *   hashes to the manifest's SHA-256 and size; the bundle's entries, chain and proofs verify
 *   against its signed checkpoint and the trusted verifier key (the core bundle verifier); its
 *   header names the manifest's range and checkpoint;
 * - consecutive segments are contiguous from index 0 (or from the first one inside --from/--to);
 * - every checkpoint note is signed by the trusted key, lies under its own tree size, and is
 *   consistent with the rest: the tree is rebuilt across all segments in order, and each
 *   checkpoint within the sealed range must have its root; a checkpoint beyond it is checked by
 *   a consistency proof a later bundle's header carries (RFC 9162 §2.1.4), else listed unchecked.
 *
 * Faults name the object and their kind: missing, altered, extra, out_of_order, inconsistent.
 */
import { createHash } from 'node:crypto';
import { createInterface } from 'node:readline';
import { Readable } from 'node:stream';
import { type BundleHeader, isBlankLine, parseBundleHeader, verifyBundle } from '../core/bundle.ts';
import { bytesEqual, concatBytes, fromBase64, fromHex, toBase64 } from '../core/bytes.ts';
import { openCheckpoint } from '../core/checkpoint.ts';
import type { Entry } from '../core/event/entry.ts';
import { CompactRange, verifyConsistency } from '../core/merkle/index.ts';
import type { NoteVerifier } from '../core/note-keys.ts';
import { bundleName, manifestName, parseName } from './layout.ts';
import { parseManifest, type SegmentManifest } from './manifest.ts';
import { readAll } from './stage.ts';
import type { ArchiveTarget } from './target.ts';

export type ArchiveFaultKind = 'missing' | 'altered' | 'extra' | 'out_of_order' | 'inconsistent';

export interface ArchiveFault {
  kind: ArchiveFaultKind;
  /** The object name (or, for a gap, the range of segment names that should be there). */
  object: string;
  message: string;
  [detail: string]: unknown;
}

export interface ArchiveLogReport {
  log: string;
  origin?: string;
  segments: number;
  entries: number;
  /** Entries [first, last] the verified segments cover. */
  first: number | null;
  last: number | null;
  checkpoints: number;
  checkpoints_checked: number;
  /** Largest checkpoint tree size whose root the rebuilt tree matched. */
  verified_size: number;
  /** The root of the rebuilt tree at verified_size (base64). */
  root?: string;
}

export interface ArchiveVerifyReport {
  ok: boolean;
  target: string;
  logs: ArchiveLogReport[];
  faults: ArchiveFault[];
  warnings: string[];
}

export interface ArchiveVerifyOptions {
  verifiers: readonly NoteVerifier[];
  /** Checkpoints kept outside (the auditor's): each must be consistent with the archive. */
  trusted?: readonly string[];
  /** Only segments whose received_at range meets [from, to). */
  from?: Date;
  to?: Date;
  onProgress?: (p: { log: string; segment: string; entries: number }) => void;
}

interface Cp {
  size: number;
  root: Uint8Array;
  object: string;
}

export async function verifyArchive(
  target: ArchiveTarget,
  o: ArchiveVerifyOptions,
): Promise<ArchiveVerifyReport> {
  const report: ArchiveVerifyReport = { ok: true, target: target.url, logs: [], faults: [], warnings: [] };
  const fault = (
    kind: ArchiveFaultKind,
    object: string,
    message: string,
    details: Record<string, unknown> = {},
  ) => report.faults.push({ kind, object, message, ...details });
  const byLog = new Map<
    string,
    {
      manifests: Map<string, { first: number; last: number }>;
      bundles: Set<string>;
      checkpoints: Map<string, number>;
    }
  >();
  for await (const obj of target.list('')) {
    const n = parseName(obj.name);
    if (n.kind === 'unknown') {
      fault('extra', obj.name, 'not an object of the archive layout (docs/formats.md)');
      continue;
    }
    let g = byLog.get(n.log);
    if (!g) {
      g = { manifests: new Map(), bundles: new Set(), checkpoints: new Map() };
      byLog.set(n.log, g);
    }
    if (n.kind === 'manifest') g.manifests.set(obj.name, { first: n.first, last: n.last });
    else if (n.kind === 'bundle') g.bundles.add(obj.name);
    else if (n.kind === 'checkpoint') g.checkpoints.set(obj.name, n.size);
  }
  for (const [log, g] of byLog)
    report.logs.push(await verifyLogArchive(target, log, g, o, fault, report.warnings));
  if (o.trusted && o.trusted.length > 0 && report.logs.length === 0) {
    fault('missing', '', 'the archive holds no log, yet a trusted checkpoint was given');
  }
  report.ok = report.faults.length === 0;
  return report;
}

async function verifyLogArchive(
  target: ArchiveTarget,
  log: string,
  g: {
    manifests: Map<string, { first: number; last: number }>;
    bundles: Set<string>;
    checkpoints: Map<string, number>;
  },
  o: ArchiveVerifyOptions,
  fault: (kind: ArchiveFaultKind, object: string, message: string, details?: Record<string, unknown>) => void,
  warnings: string[],
): Promise<ArchiveLogReport> {
  const out: ArchiveLogReport = {
    log,
    segments: 0,
    entries: 0,
    first: null,
    last: null,
    checkpoints: 0,
    checkpoints_checked: 0,
    verified_size: 0,
  };
  // Bundles without their manifest: the manifest is missing.
  for (const b of g.bundles) {
    const n = parseName(b);
    if (n.kind === 'bundle' && !g.manifests.has(manifestName(log, n.first, n.last)))
      fault('missing', manifestName(log, n.first, n.last), `the manifest of ${b} is missing`, { log });
  }
  // Checkpoint notes: signed by the trusted key, under their own size.
  const cps: Cp[] = [];
  let origin: string | undefined;
  for (const [name, size] of g.checkpoints) {
    const note = new TextDecoder().decode(await readAll((await target.read(name))!, 1 << 16));
    try {
      const { checkpoint } = openCheckpoint(note, o.verifiers);
      origin ??= checkpoint.origin;
      if (checkpoint.size !== size) {
        fault('out_of_order', name, `holds the checkpoint of tree size ${checkpoint.size}`, {
          log,
          size: checkpoint.size,
        });
        continue;
      }
      cps.push({ size, root: checkpoint.rootHash, object: name });
    } catch (e) {
      fault('altered', name, `not a checkpoint signed by the trusted key: ${(e as Error).message}`, { log });
    }
  }
  for (const note of o.trusted ?? []) {
    try {
      const { checkpoint } = openCheckpoint(note, o.verifiers);
      if (origin === undefined || checkpoint.origin === origin)
        cps.push({
          size: checkpoint.size,
          root: checkpoint.rootHash,
          object: `(trusted checkpoint of size ${checkpoint.size})`,
        });
    } catch (e) {
      fault(
        'altered',
        '(trusted checkpoint)',
        `the trusted checkpoint does not verify: ${(e as Error).message}`,
        { log },
      );
    }
  }
  out.checkpoints = cps.length;
  const pending = [...cps].sort((a, b) => a.size - b.size);

  // Segments in index order, within the time window.
  const segs = [...g.manifests.entries()]
    .map(([name, r]) => ({ name, ...r }))
    .sort((a, b) => a.first - b.first || a.last - b.last);
  const shaOf = new Map<string, string>(); // bundle sha256 -> the manifest that names it
  const manifests = new Map<string, SegmentManifest>();
  for (const s of segs) {
    try {
      const m = parseManifest(new TextDecoder().decode(await readAll((await target.read(s.name))!)));
      manifests.set(s.name, m);
      shaOf.set(m.bundle.sha256, s.name);
    } catch (e) {
      fault('altered', s.name, `the manifest does not parse: ${(e as Error).message}`, { log });
    }
  }
  let range: CompactRange | undefined;
  let expected: number | undefined;
  const headers: BundleHeader[] = [];
  const inWindow = (m: SegmentManifest) =>
    (!o.from || new Date(m.last_received_at) >= o.from) && (!o.to || new Date(m.first_received_at) < o.to);
  const unplaced: Cp[] = []; // passed by the rebuilt tree (after a gap, or before the window)
  const compare = () => {
    while (range && pending.length > 0 && pending[0]!.size <= range.size) {
      const c = pending.shift()!;
      if (c.size < range.size) {
        unplaced.push(c);
        continue;
      }
      out.checkpoints_checked++;
      const root = range.root();
      if (bytesEqual(root, c.root)) {
        out.verified_size = c.size;
        out.root = toBase64(root);
      } else {
        fault('inconsistent', c.object, `the segments rebuild another root at tree size ${c.size}`, {
          log,
          size: c.size,
          expected: toBase64(c.root),
          computed: toBase64(root),
        });
      }
    }
  };
  for (const s of segs) {
    const m = manifests.get(s.name);
    if (!m) continue;
    if (!inWindow(m)) continue;
    if (m.first !== s.first || m.last !== s.last || m.log !== log) {
      fault('out_of_order', s.name, `the manifest describes segment ${m.first}..${m.last} of log ${m.log}`, {
        log,
      });
      continue;
    }
    if (expected !== undefined && s.first < expected) {
      fault('extra', s.name, `overlaps the segment before it (which ends at ${expected - 1})`, { log });
      continue;
    }
    if (expected === undefined && s.first > 0 && !o.from) {
      fault(
        'missing',
        `${log}/segments/${pad(0)}-${pad(s.first - 1)}`,
        `entries 0..${s.first - 1}: no segment holds them`,
        { log, first: 0, last: s.first - 1 },
      );
    }
    if (expected !== undefined && s.first > expected) {
      fault(
        'missing',
        `${log}/segments/${pad(expected)}-${pad(s.first - 1)}`,
        `entries ${expected}..${s.first - 1}: no segment holds them`,
        { log, first: expected, last: s.first - 1 },
      );
      range = undefined; // the rebuilt tree stops at the gap
    }
    const bName = bundleName(log, s.first, s.last);
    if (m.bundle.name !== bName) {
      fault('altered', s.name, `names bundle ${m.bundle.name}, not ${bName}`, { log });
      continue;
    }
    if (!g.bundles.has(bName)) {
      fault('missing', bName, `the bundle of segment ${s.first}..${s.last} is missing`, { log });
      expected = s.last + 1;
      range = undefined;
      continue;
    }
    const res = await checkBundle(target, bName, m, o, (n) =>
      o.onProgress?.({ log, segment: bName, entries: n }),
    );
    if (res.sha256 !== m.bundle.sha256 || res.size !== m.bundle.size) {
      const other = shaOf.get(res.sha256);
      if (other && other !== s.name)
        fault('out_of_order', bName, `holds the bundle that ${other} describes`, { log });
      else
        fault('altered', bName, `does not hash to its manifest (SHA-256 ${res.sha256}, ${res.size} bytes)`, {
          log,
          sha256: res.sha256,
          expected: m.bundle.sha256,
        });
      range = undefined;
    } else if (!res.ok) {
      fault('altered', bName, `the bundle does not verify: ${res.why}`, { log, faults: res.faults });
      range = undefined;
    } else {
      out.segments++;
      out.entries += m.count;
      out.first ??= m.first;
      out.last = m.last;
      origin ??= m.origin;
      out.origin = origin;
      headers.push(res.header!);
      // The rebuilt tree continues across segments; the first one's header gives its prefix.
      if (!range) range = res.prefixRange!;
      for (const h of res.leaves!) {
        range.push(h);
        compare();
      }
      // The bundle's own checkpoint was checked by the bundle verifier: it joins the others.
      const own = openCheckpoint(m.checkpoint, o.verifiers).checkpoint;
      pending.push({ size: own.size, root: own.rootHash, object: `${s.name} (checkpoint)` });
      pending.sort((a, b) => a.size - b.size);
      compare();
    }
    expected = s.last + 1;
  }
  // Checkpoints past the rebuilt tree: by a consistency proof a verified header carries.
  for (const c of [...unplaced, ...pending]) {
    const proof = headers
      .map((h) => ({ h, p: h.consistency?.find((x) => x.size === c.size) }))
      .find((x) => x.p !== undefined || x.h.tree_size === c.size);
    if (!proof) {
      if (!c.object.endsWith('(checkpoint)'))
        warnings.push(
          range && c.size < range.size
            ? `${c.object}: tree size ${c.size} lies outside the segments checked here; not checked`
            : `${c.object}: tree size ${c.size} lies beyond the sealed segments (entries not sealed yet, or missing); not checked`,
        );
      continue;
    }
    const hRoot = openCheckpoint(proof.h.checkpoint, o.verifiers).checkpoint.rootHash;
    try {
      if (proof.h.tree_size === c.size) {
        if (!bytesEqual(hRoot, c.root)) throw new Error('another root at the same size');
      } else {
        verifyConsistency(
          c.size,
          proof.h.tree_size,
          proof.p!.hashes.map((x) => fromBase64(x, 32)),
          c.root,
          hRoot,
        );
      }
      out.checkpoints_checked++;
    } catch {
      fault(
        'inconsistent',
        c.object,
        `not consistent with the checkpoint of tree size ${proof.h.tree_size}`,
        { log, size: c.size },
      );
    }
  }
  return out;
}

const pad = (n: number) => String(n).padStart(16, '0');

interface BundleCheck {
  sha256: string;
  size: number;
  ok: boolean;
  why?: string;
  faults?: unknown[];
  header?: BundleHeader;
  leaves?: Uint8Array[];
  prefixRange?: CompactRange;
}

/** Reads the bundle once: hashes its bytes, verifies its entries and proofs, keeps the leaf hashes. */
async function checkBundle(
  target: ArchiveTarget,
  name: string,
  m: SegmentManifest,
  o: ArchiveVerifyOptions,
  progress: (n: number) => void,
): Promise<BundleCheck> {
  const body = (await target.read(name))!;
  const h = createHash('sha256');
  let size = 0;
  async function* tapped() {
    for await (const c of body) {
      h.update(c);
      size += c.length;
      yield c;
    }
  }
  const lines = createInterface({ input: Readable.from(tapped()), crlfDelay: Number.POSITIVE_INFINITY });
  const it = lines[Symbol.asyncIterator]();
  const done = async () => {
    for (let r = await it.next(); !r.done; r = await it.next()) {
      /* drain, so the hash covers every byte */
    }
    return { sha256: h.digest('hex'), size };
  };
  try {
    let first = await it.next();
    while (!first.done && isBlankLine(first.value)) first = await it.next();
    if (first.done) return { ...(await done()), ok: false, why: 'empty' };
    const header = parseBundleHeader(JSON.parse(first.value));
    const leaves: Uint8Array[] = [];
    let count = 0;
    async function* pages(): AsyncIterable<Entry[]> {
      let page: Entry[] = [];
      for (let r = await it.next(); !r.done; r = await it.next()) {
        if (isBlankLine(r.value)) continue;
        const e = JSON.parse(r.value) as Entry;
        page.push(e);
        if (typeof e.hash === 'string' && /^[0-9a-f]{64}$/.test(e.hash)) leaves.push(fromHex(e.hash));
        if (page.length === 1000) {
          count += page.length;
          progress(count);
          yield page;
          page = [];
        }
      }
      if (page.length > 0) yield page;
    }
    const report = await verifyBundle(header, pages(), { verifiers: o.verifiers });
    const sums = await done();
    const why =
      header.range.from !== m.first || header.range.to !== m.last + 1
        ? `its header covers [${header.range.from}, ${header.range.to}), not the manifest's segment`
        : header.checkpoint !== m.checkpoint
          ? "its header's checkpoint is not the manifest's"
          : !report.ok
            ? report.faults.map((f) => f.message).join('; ') || 'not verified'
            : undefined;
    return {
      ...sums,
      ok: why === undefined,
      ...(why !== undefined ? { why, faults: report.faults } : {}),
      header,
      leaves,
      prefixRange: CompactRange.decode(
        header.range.from,
        concatBytes(...header.prefix.map((x) => fromBase64(x, 32))),
      ),
    };
  } catch (e) {
    return {
      ...(await done().catch(() => ({ sha256: '', size: -1 }))),
      ok: false,
      why: (e as Error).message,
    };
  }
}
