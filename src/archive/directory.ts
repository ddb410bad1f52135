/**
 * The directory target (`file:///path`): each object a file, written once.
 *
 * A put writes a temporary file beside the object, fsyncs it, makes it read-only (0444), then
 * links it to its name: link(2) fails when the name exists, so an object is never overwritten,
 * not even by two passes racing. The directory is fsynced so the name itself is durable, and the
 * object is read back and hashed before the put resolves (the contract of ./target.ts). An
 * existing object with the same bytes is a retried put (success); with other bytes,
 * ARCHIVE_CONFLICT. retainUntil goes in a side record under `.retain/`, written the same way.
 * A directory is only as immutable as its file system and its operator allow: it is the
 * target for a mounted WORM volume or a second machine; S3 Object Lock enforces retention.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, promises as fs } from 'node:fs';
import { dirname, isAbsolute, join, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ErrorCode, EvidentError, isEvidentError } from '../core/errors.ts';
import type { ArchiveBody, ArchiveObject, ArchivePut, ArchiveTarget } from './target.ts';

const SIDE = '.retain';

export async function openDirectoryTarget(url: string): Promise<DirectoryTarget> {
  let root: string;
  try {
    root = fileURLToPath(url);
  } catch {
    throw new EvidentError(ErrorCode.USAGE, `not a file URL: ${url}`, {
      field: 'url',
      rule: 'file_url',
      url,
    });
  }
  if (!isAbsolute(root)) {
    throw new EvidentError(ErrorCode.USAGE, 'a directory target is file:///absolute/path', {
      field: 'url',
      rule: 'file_url',
      url,
    });
  }
  const t = new DirectoryTarget(url.replace(/\/+$/, ''), root);
  try {
    await fs.mkdir(root, { recursive: true });
  } catch (e) {
    throw t.unavailable('cannot create the directory', '', e);
  }
  return t;
}

const NAME_PART = /^[A-Za-z0-9_][A-Za-z0-9._-]*$/;

function checkName(name: string): void {
  const parts = name.split('/');
  if (name.length > 1024 || parts.some((p) => !NAME_PART.test(p))) {
    throw new EvidentError(ErrorCode.USAGE, `not an archive object name: ${name}`, { field: 'name', name });
  }
}

async function sha256File(path: string): Promise<{ sha256: string; size: number }> {
  const h = createHash('sha256');
  let size = 0;
  for await (const chunk of createReadStream(path)) {
    h.update(chunk as Buffer);
    size += (chunk as Buffer).length;
  }
  return { sha256: h.digest('hex'), size };
}

async function fsyncPath(path: string): Promise<void> {
  const fh = await fs.open(path, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

export class DirectoryTarget implements ArchiveTarget {
  constructor(
    readonly url: string,
    private readonly root: string,
  ) {}

  unavailable(what: string, name: string, cause: unknown): EvidentError {
    const code = (cause as { code?: string })?.code;
    return new EvidentError(
      ErrorCode.ARCHIVE_UNAVAILABLE,
      `archive ${this.url}: ${what}${name ? ` (${name})` : ''}: ${code ?? String(cause)}`,
      {
        target: this.url,
        name,
        cause: code ?? String(cause),
      },
    );
  }

  private path(name: string): string {
    checkName(name);
    return join(this.root, ...name.split('/'));
  }

  /** Where the side record of an object lies (under `.retain/`, never listed). */
  private sidePath(name: string): string {
    checkName(name);
    return join(this.root, SIDE, ...`${name}.json`.split('/'));
  }

  async put(name: string, body: ArchiveBody, meta: ArchivePut): Promise<ArchiveObject> {
    const final = this.path(name);
    try {
      const existing = await this.existing(name, final, meta);
      if (existing) return existing;
      await this.writeOnce(final, body);
      const back = await sha256File(final);
      if (back.sha256 !== meta.sha256 || back.size !== meta.size) {
        // Another writer linked other bytes first, or the disk returned what was not written.
        throw new EvidentError(
          ErrorCode.ARCHIVE_CONFLICT,
          `archive ${this.url}: ${name} reads back with other bytes`,
          {
            target: this.url,
            name,
            sha256: back.sha256,
            expected: meta.sha256,
          },
        );
      }
      const side = this.sidePath(name);
      if (!(await exists(side))) {
        const record = {
          name,
          sha256: meta.sha256,
          size: meta.size,
          retain_until: meta.retainUntil.toISOString(),
        };
        await this.writeOnce(side, { bytes: new TextEncoder().encode(`${JSON.stringify(record)}\n`) }).catch(
          async (e) => {
            if ((e as { code?: string }).code !== 'EEXIST') throw e;
          },
        );
      }
      return { name, size: meta.size, sha256: meta.sha256, retainUntil: meta.retainUntil };
    } catch (e) {
      if (isEvidentError(e)) throw e;
      throw this.unavailable('write failed', name, e);
    }
  }

  /** The object if it exists with these bytes; ARCHIVE_CONFLICT if with others. */
  private async existing(name: string, final: string, meta: ArchivePut): Promise<ArchiveObject | undefined> {
    if (!(await exists(final))) return undefined;
    const got = await sha256File(final);
    if (got.sha256 !== meta.sha256 || got.size !== meta.size) {
      throw new EvidentError(
        ErrorCode.ARCHIVE_CONFLICT,
        `archive ${this.url}: ${name} exists with other bytes; archive objects are never overwritten`,
        { target: this.url, name, sha256: got.sha256, expected: meta.sha256 },
      );
    }
    return { name, size: got.size, sha256: got.sha256, retainUntil: meta.retainUntil };
  }

  /** temp file, fsync, 0444, link (fails if the name exists), unlink temp, fsync directory. */
  private async writeOnce(final: string, body: ArchiveBody): Promise<void> {
    const dir = dirname(final);
    await fs.mkdir(dir, { recursive: true });
    const tmp = join(dir, `.tmp-${randomBytes(8).toString('hex')}`);
    try {
      if ('bytes' in body) {
        const fh = await fs.open(tmp, 'wx', 0o600);
        try {
          await fh.writeFile(body.bytes);
          await fh.sync();
        } finally {
          await fh.close();
        }
      } else {
        await fs.copyFile(body.path, tmp, fs.constants.COPYFILE_EXCL);
        await fsyncPath(tmp);
      }
      await fs.chmod(tmp, 0o444);
      await fs.link(tmp, final);
    } finally {
      await fs.rm(tmp, { force: true }).catch(() => {});
    }
    await fsyncPath(dir);
  }

  async read(name: string): Promise<AsyncIterable<Uint8Array> | undefined> {
    const p = this.path(name);
    try {
      if (!(await exists(p))) return undefined;
      await fs.access(p, fs.constants.R_OK);
    } catch (e) {
      throw this.unavailable('read failed', name, e);
    }
    return createReadStream(p);
  }

  async stat(name: string): Promise<ArchiveObject | undefined> {
    const p = this.path(name);
    try {
      const st = await fs.stat(p).catch((e) => {
        if ((e as { code?: string }).code === 'ENOENT') return undefined;
        throw e;
      });
      if (!st) return undefined;
      const side = await fs.readFile(this.sidePath(name), 'utf8').catch(() => undefined);
      const rec = side ? (JSON.parse(side) as { sha256?: string; retain_until?: string }) : {};
      return {
        name,
        size: st.size,
        ...(rec.sha256 ? { sha256: rec.sha256 } : {}),
        ...(rec.retain_until ? { retainUntil: new Date(rec.retain_until) } : {}),
      };
    } catch (e) {
      throw this.unavailable('stat failed', name, e);
    }
  }

  async *list(prefix: string): AsyncIterable<ArchiveObject> {
    let names: string[];
    try {
      names = (await walk(this.root, '')).sort();
    } catch (e) {
      throw this.unavailable('list failed', prefix, e);
    }
    for (const name of names) {
      if (!name.startsWith(prefix)) continue;
      const st = await fs.stat(join(this.root, ...name.split('/')));
      yield { name, size: st.size };
    }
  }

  async close(): Promise<void> {}
}

/** Every file under dir, as `/`-separated names; the side records and temporary files left out. */
async function walk(root: string, rel: string): Promise<string[]> {
  const out: string[] = [];
  for (const d of await fs.readdir(rel ? join(root, rel) : root, { withFileTypes: true })) {
    if (d.name.startsWith('.')) continue;
    const name = rel ? `${rel}/${d.name}` : d.name;
    if (d.isDirectory()) out.push(...(await walk(root, name)));
    else out.push(name);
  }
  return out.map((n) => n.split(sep).join('/'));
}

async function exists(p: string): Promise<boolean> {
  try {
    await fs.lstat(p);
    return true;
  } catch (e) {
    if ((e as { code?: string }).code === 'ENOENT') return false;
    throw e;
  }
}
