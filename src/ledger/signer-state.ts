/**
 * The signer state: the largest checkpoint this host's signer has let out, kept in a directory
 * outside the database (`--signer-state DIR`), so that a database rolled back or rewritten
 * cannot make the signer sign a fork of it (./published.ts, source `journal`).
 *
 * Layout: `DIR/<origin, percent-encoded>/<size, 20 digits>.checkpoint`, each file the signed
 * note exactly as stored. A file is written beside its place (fsynced), hard-linked to its name
 * (a link never replaces: two writers of one size cannot overwrite each other), and the
 * directory fsynced; then files of smaller sizes are removed. The floor is the largest file, so
 * it only grows, whatever the order in which processes sharing the directory write: no lock,
 * nothing a crashed process can leave held. A file that does not parse, or names another
 * origin or size than its name, is refused (STORE_FAILED): the signer fails closed.
 */
import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import { join } from 'node:path';
import { bytesEqual } from '../core/bytes.ts';
import { parseCheckpoint } from '../core/checkpoint.ts';
import { ErrorCode, EvidentError } from '../core/errors.ts';
import { parseNote } from '../core/note.ts';
import { fsyncDir, writeSynced } from './durable.ts';
import { floorViolation, type PublishedFloor } from './published.ts';

const SUFFIX = '.checkpoint';
const NAME = /^([0-9]{20})\.checkpoint$/;

/** A checkpoint to record: its size, root and signed note. */
export interface RecordedCheckpoint {
  size: number;
  root: Uint8Array;
  note: string;
}

export class SignerState {
  /** The directory of this origin's files. */
  readonly dir: string;
  /** The largest floor this process read or wrote: recording a size at or below it does nothing. */
  private known: PublishedFloor | undefined;

  constructor(
    root: string,
    private readonly origin: string,
  ) {
    const name = encodeURIComponent(origin);
    this.dir = join(root, name === '.' || name === '..' ? `%2E${name.slice(1)}` : name);
  }

  /**
   * The largest floor this process has read or written, if it covers `size` (no I/O: the floor
   * only grows); else undefined.
   */
  cached(size: number): PublishedFloor | undefined {
    return this.known && this.known.size >= size ? this.known : undefined;
  }

  /** The largest recorded checkpoint, read from disk (another process may have raised it). */
  async floor(): Promise<PublishedFloor | undefined> {
    for (let attempt = 0; ; attempt++) {
      let names: string[];
      try {
        names = await fs.readdir(this.dir);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
        throw this.failed(e, this.dir);
      }
      let best: string | undefined;
      for (const n of names) if (NAME.test(n) && (best === undefined || n > best)) best = n;
      if (best === undefined) return undefined;
      const path = join(this.dir, best);
      let note: string;
      try {
        note = await fs.readFile(path, 'utf8');
      } catch (e) {
        // Removed by a writer that recorded a larger one meanwhile: read the directory again.
        if ((e as NodeJS.ErrnoException).code === 'ENOENT' && attempt < 5) continue;
        throw this.failed(e, path);
      }
      const f = this.parse(note, Number(NAME.exec(best)![1]), path);
      if (f.size > (this.known?.size ?? -1)) this.known = f;
      return f;
    }
  }

  /**
   * Records a checkpoint, durably, unless one as large is known recorded. A file of the same
   * size with another root is a fork (CHECKPOINT_INCONSISTENT, source `journal`): never replaced.
   */
  async record(cp: RecordedCheckpoint): Promise<void> {
    if (cp.size <= (this.known?.size ?? -1)) return;
    const name = `${String(cp.size).padStart(20, '0')}${SUFFIX}`;
    const path = join(this.dir, name);
    const tmp = join(this.dir, `.${name}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
    try {
      await fs.mkdir(this.dir, { recursive: true, mode: 0o700 });
      await writeSynced(tmp, cp.note, 'wx', 0o600);
      try {
        await fs.link(tmp, path);
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        if (code === 'EEXIST') {
          const there = this.parse(await fs.readFile(path, 'utf8'), cp.size, path);
          if (!bytesEqual(there.root, cp.root)) {
            throw floorViolation(
              there,
              cp.size,
              'published_root_differs',
              `a checkpoint of tree size ${cp.size} with another root was recorded`,
            );
          }
        } else if (code === 'EPERM' || code === 'ENOTSUP' || code === 'EOPNOTSUPP') {
          // A file system without hard links: the rename replaces, which only a fork would notice.
          await fs.rename(tmp, path);
        } else throw e;
      }
      await fs.rm(tmp, { force: true });
      await fsyncDir(this.dir);
    } catch (e) {
      await fs.rm(tmp, { force: true }).catch(() => {});
      if (e instanceof EvidentError) throw e;
      throw this.failed(e, path);
    }
    if (cp.size > (this.known?.size ?? -1))
      this.known = { source: 'journal', size: cp.size, root: cp.root, where: path };
    await this.prune(cp.size);
  }

  /** Removes the files of sizes below `size` (never the largest: `size` is on disk). */
  private async prune(size: number): Promise<void> {
    try {
      for (const n of await fs.readdir(this.dir)) {
        const m = NAME.exec(n);
        if (m && Number(m[1]) < size) await fs.rm(join(this.dir, n), { force: true });
      }
    } catch {
      // Only tidiness: a file left behind is smaller than the floor and never read.
    }
  }

  private parse(note: string, size: number, path: string): PublishedFloor {
    try {
      const cp = parseCheckpoint(parseNote(note).text);
      if (cp.origin !== this.origin || cp.size !== size) throw new Error('origin or size');
      return { source: 'journal', size, root: cp.rootHash, where: path };
    } catch {
      throw new EvidentError(
        ErrorCode.STORE_FAILED,
        `the signer state file ${path} is not a checkpoint of ${this.origin} at tree size ${size}: refusing to sign`,
        { field: 'signer_state', rule: 'signer_state_unreadable', path },
      );
    }
  }

  private failed(e: unknown, path: string): EvidentError {
    return new EvidentError(
      ErrorCode.STORE_FAILED,
      `the signer state ${path} cannot be read or written: ${(e as Error).message}`,
      {
        field: 'signer_state',
        rule: 'signer_state_unwritable',
        path,
        cause: String((e as NodeJS.ErrnoException).code ?? e),
      },
    );
  }
}
