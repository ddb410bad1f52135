/**
 * Real failures for the fail-closed tests: a small tmpfs file system that is filled to the last
 * block (ENOSPC on the next allocation), and a SQLite write lock held by another process.
 * Mounting needs root: without it these tests skip with a message, and fail under CI=true.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { closeSync, mkdirSync, mkdtempSync, openSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface SmallDisk {
  dir: string;
  /** Writes a filler file until the file system has no block left. */
  fill(): void;
  /** Deletes the filler: the file system has room again. */
  free(): void;
  cleanup(): void;
}

/** Why real full disks cannot be made here, or undefined when they can. */
export function cannotMount(): string | undefined {
  if (process.getuid?.() !== 0) return 'needs root to mount a small tmpfs';
  try {
    const d = mountSmall(64);
    d.cleanup();
    return undefined;
  } catch (e) {
    return `mount failed: ${(e as Error).message}`;
  }
}

/** The skip option of node:test: a message locally, a failure under CI=true. */
export function skipWithoutMount(): string | false {
  const why = cannotMount();
  if (why === undefined) return false;
  if (process.env['CI'] === 'true') throw new Error(`fail-closed disk tests cannot run under CI: ${why}`);
  return why;
}

export function mountSmall(kib: number): SmallDisk {
  const dir = mkdtempSync(join(tmpdir(), 'evident-fulldisk-'));
  execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${kib}k`, 'tmpfs', dir]);
  const filler = join(dir, 'filler');
  return {
    dir,
    fill: () => {
      const fd = openSync(filler, 'a');
      try {
        for (const size of [65536, 4096, 512, 1]) {
          const buf = Buffer.alloc(size, 1);
          for (;;) {
            try {
              writeSync(fd, buf);
            } catch (e) {
              if ((e as { code?: string }).code === 'ENOSPC') break;
              throw e;
            }
          }
        }
      } finally {
        closeSync(fd);
      }
    },
    free: () => rmSync(filler, { force: true }),
    cleanup: () => {
      try {
        execFileSync('umount', [dir]);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  };
}

/** A directory on the small disk. */
export function subdir(disk: SmallDisk, name: string): string {
  const d = join(disk.dir, name);
  mkdirSync(d, { recursive: true });
  return d;
}

/**
 * Another process holding SQLite's write lock (BEGIN IMMEDIATE) on `db` until `release`.
 * Resolves once the lock is held.
 */
export async function holdWriteLock(db: string): Promise<{ release(): Promise<void> }> {
  const script = `
    const Database = require('better-sqlite3');
    const db = new Database(process.argv[1]);
    db.exec('BEGIN IMMEDIATE');
    process.stdout.write('locked\\n');
    process.stdin.on('end', () => { db.exec('ROLLBACK'); db.close(); process.exit(0); });
    process.stdin.resume();
  `;
  const child: ChildProcess = spawn(process.execPath, ['-e', script, db], {
    stdio: ['pipe', 'pipe', 'inherit'],
    cwd: process.cwd(),
  });
  await new Promise<void>((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`the lock holder exited with ${code}`)));
    child.stdout!.on('data', (d: Buffer) => {
      if (d.toString().includes('locked')) resolve();
    });
  });
  return {
    release: () =>
      new Promise<void>((resolve) => {
        child.removeAllListeners('exit');
        child.once('exit', () => resolve());
        child.stdin!.end();
      }),
  };
}
