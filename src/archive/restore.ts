/**
 * `evident restore`: a working store rebuilt from an archive (docs/retention.md, "Restore").
 * The archive is verified first (./verify.ts) and refused if it does not verify; then each
 * segment's bundle is copied to a local staging file, its SHA-256 compared with the manifest
 * again (the archive is not trusted between the two reads), and its entries inserted in index
 * order with every leaf hash, chain link and tree node recomputed here, never taken from the
 * archive. The archived checkpoints up to the restored size are stored beside them, and the
 * restored log is verified before the command reports success.
 */
import { createReadStream, promises as fs } from 'node:fs';
import { createInterface } from 'node:readline';
import { openCheckpoint } from '../core/checkpoint.ts';
import { ErrorCode, EvidentError } from '../core/errors.ts';
import { type Entry, GENESIS } from '../core/event/entry.ts';
import type { ErasableField } from '../core/event/schema.ts';
import { CompactRange } from '../core/merkle/index.ts';
import type { NoteVerifier } from '../core/note-keys.ts';
import { appendCopied, type TreeEnd } from '../ledger/copy.ts';
import { verifyStoredLog } from '../ledger/verify.ts';
import type { Erasure, LogInfo, Store } from '../store/types.ts';
import { parseName } from './layout.ts';
import { parseManifest, type SegmentManifest } from './manifest.ts';
import { readAll, stage } from './stage.ts';
import type { ArchiveTarget } from './target.ts';
import { type ArchiveVerifyReport, verifyArchive } from './verify.ts';

export interface RestoreOptions {
  verifiers: readonly NoteVerifier[];
  vkey: string;
  /** The log to restore; default the only log in the archive. */
  log?: string;
  stagingDir?: string;
  onProgress?: (entries: number) => void;
}

export interface RestoreResult {
  log: string;
  origin: string;
  entries: number;
  checkpoints: number;
  /** The latest restored checkpoint's tree size and root (base64). */
  size: number;
  /**
   * Whether a restored checkpoint has the restored size. When not, the last entries are proven
   * only by a bundle's checkpoint of a larger tree (checked by archive verify), not by one the
   * restored store holds: seal with --seal-open before a planned restore.
   */
  covered: boolean;
  root: string | null;
  archive: ArchiveVerifyReport;
}

const BATCH = 1000;

export async function restoreFromArchive(
  target: ArchiveTarget,
  store: Store,
  o: RestoreOptions,
): Promise<RestoreResult> {
  const archive = await verifyArchive(target, { verifiers: o.verifiers });
  if (!archive.ok) {
    throw new EvidentError(
      ErrorCode.TAMPER_DETECTED,
      `the archive ${target.url} does not verify: nothing restored`,
      {
        rule: 'archive_not_verified',
        faults: archive.faults.slice(0, 20),
      },
    );
  }
  const logs = archive.logs.filter((l) => l.segments > 0);
  const chosen =
    o.log !== undefined ? logs.find((l) => l.log === o.log) : logs.length === 1 ? logs[0] : undefined;
  if (!chosen) {
    throw new EvidentError(
      ErrorCode.USAGE,
      o.log !== undefined
        ? `the archive holds no segment of log "${o.log}"`
        : `the archive holds ${logs.length} logs (${logs.map((l) => l.log).join(', ')}): name one with --log`,
      { field: '--log', logs: logs.map((l) => l.log) },
    );
  }
  if (chosen.first !== 0) {
    throw new EvidentError(ErrorCode.USAGE, `the archive of log "${chosen.log}" does not start at entry 0`, {
      field: '--from',
    });
  }
  if (await store.getLog(chosen.log)) {
    throw new EvidentError(
      ErrorCode.USAGE,
      `the target database already has a log "${chosen.log}": restore into a new one`,
      {
        field: '--db',
        log: chosen.log,
      },
    );
  }
  const manifests: SegmentManifest[] = [];
  const notes: string[] = [];
  for await (const obj of target.list(`${chosen.log}/`)) {
    const n = parseName(obj.name);
    if (n.kind === 'manifest')
      manifests.push(parseManifest(new TextDecoder().decode(await readAll((await target.read(obj.name))!))));
    if (n.kind === 'checkpoint')
      notes.push(new TextDecoder().decode(await readAll((await target.read(obj.name))!, 1 << 16)));
  }
  manifests.sort((a, b) => a.first - b.first);
  const first = manifests[0]!;
  const log: LogInfo = await store.createLog({
    name: chosen.log,
    origin: first.origin,
    vkey: o.vkey,
    erasable: first.erasable as ErasableField[],
  });
  let end: TreeEnd = { range: CompactRange.empty(), lastHash: GENESIS };
  const erased: Erasure[] = [];
  for (const m of manifests) {
    if (m.first !== end.range.size) break; // contiguous by verification; stop at the end
    const body = await target.read(m.bundle.name);
    if (!body)
      throw new EvidentError(ErrorCode.ARCHIVE_UNAVAILABLE, `${m.bundle.name} vanished`, {
        target: target.url,
        name: m.bundle.name,
      });
    const staged = await stage(body, o.stagingDir);
    try {
      if (staged.sha256 !== m.bundle.sha256 || staged.size !== m.bundle.size) {
        throw new EvidentError(ErrorCode.TAMPER_DETECTED, `${m.bundle.name} changed since it was verified`, {
          rule: 'archive_altered',
          name: m.bundle.name,
        });
      }
      const lines = createInterface({
        input: createReadStream(staged.path, 'utf8'),
        crlfDelay: Number.POSITIVE_INFINITY,
      });
      let header = true;
      let batch: Entry[] = [];
      const flush = async () => {
        if (batch.length === 0) return;
        const entries = batch;
        batch = [];
        end = await appendCopied(store, log.id, end, entries, erased, {
          name: m.bundle.name,
          rule: 'archive_altered',
        });
        o.onProgress?.(end.range.size);
      };
      for await (const line of lines) {
        if (line.trim() === '') continue;
        if (header) {
          header = false;
          continue;
        }
        batch.push(JSON.parse(line) as Entry);
        if (batch.length >= BATCH) await flush();
      }
      await flush();
    } finally {
      await fs.rm(staged.path, { force: true });
    }
  }
  const size = end.range.size;
  // Erasure records whose erasure event was restored (an event not yet sealed cannot name them).
  const named = erased.filter((x) => x.erasureIndex < size);
  if (named.length > 0) await store.write(log.id, (tx) => tx.erase(named));
  // Checkpoints: the archived notes and the manifests' own, up to the restored size.
  const all = new Map<number, { note: string; root: Uint8Array }>();
  for (const note of [...notes, ...manifests.map((m) => m.checkpoint)]) {
    const { checkpoint } = openCheckpoint(note, o.verifiers, first.origin);
    if (checkpoint.size <= size && !all.has(checkpoint.size))
      all.set(checkpoint.size, { note, root: checkpoint.rootHash });
  }
  const sizes = [...all.keys()].sort((a, b) => a - b);
  if (sizes.length > 0) {
    await store.write(log.id, async (tx) => {
      for (const s of sizes) {
        const c = all.get(s)!;
        await tx.insertCheckpoint({
          size: s,
          root: c.root,
          note: c.note,
          createdAt: new Date().toISOString(),
        });
      }
    });
  }
  const report = await verifyStoredLog(store, log, { verifiers: o.verifiers });
  if (!report.ok) {
    throw new EvidentError(ErrorCode.TAMPER_DETECTED, 'the restored log does not verify', {
      faults: report.faults.slice(0, 20),
    });
  }
  const latest = sizes.at(-1);
  return {
    log: log.name,
    origin: log.origin,
    entries: size,
    checkpoints: sizes.length,
    size: latest ?? 0,
    covered: latest === size,
    root: latest !== undefined ? Buffer.from(all.get(latest)!.root).toString('base64') : null,
    archive,
  };
}
