/**
 * One process per spool directory: a `LOCK` file holding the owner's pid and host name, created
 * exclusively. A lock whose pid is not running on this host is stale (the owner died without
 * close()) and is taken over. A lock from another host is never taken over: its pid cannot be
 * checked from here.
 */

import { open, readFile, rename, stat, unlink } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { fsyncDir, spoolFailed } from './files.ts';

export const LOCK_FILE = 'LOCK';

/** Spool directories this process holds: a second client on one of them is refused too. */
const held = new Set<string>();

interface LockContent {
  pid: number;
  host: string;
  since: string;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    // EPERM: the process exists but belongs to someone else.
    return (e as { code?: string }).code === 'EPERM';
  }
}

async function create(path: string): Promise<void> {
  const fh = await open(path, 'wx', 0o600);
  try {
    const content: LockContent = { pid: process.pid, host: hostname(), since: new Date().toISOString() };
    await fh.writeFile(`${JSON.stringify(content)}\n`);
    await fh.sync();
  } finally {
    await fh.close();
  }
}

async function readLock(path: string): Promise<LockContent | undefined> {
  try {
    const c = JSON.parse(await readFile(path, 'utf8')) as Partial<LockContent>;
    if (typeof c.pid === 'number' && typeof c.host === 'string') {
      return { pid: c.pid, host: c.host, since: String(c.since) };
    }
  } catch {
    // unreadable or half-written: judged by its age below
  }
  return undefined;
}

export interface SpoolLock {
  release(): Promise<void>;
}

/** Takes the lock of `dir` (an absolute, resolved path); SPOOL_FAILED with `reason: 'locked'` if held. */
export async function lockSpool(dir: string): Promise<SpoolLock> {
  const path = join(dir, LOCK_FILE);
  if (held.has(dir)) {
    throw spoolFailed('the spool directory is in use by another client in this process', path, undefined, {
      reason: 'locked',
      pid: process.pid,
    });
  }
  for (let attempt = 0; ; attempt++) {
    try {
      await create(path);
      break;
    } catch (e) {
      if ((e as { code?: string }).code !== 'EEXIST' || attempt > 2) {
        if ((e as { code?: string }).code === 'EEXIST') {
          throw spoolFailed('the spool directory was locked by another process at the same time', path, e, {
            reason: 'locked',
          });
        }
        throw spoolFailed('cannot create the spool lock', path, e);
      }
    }
    const owner = await readLock(path);
    if (owner === undefined) {
      // A lock with no readable owner is younger than a few seconds only while its owner is
      // writing it: leave it alone then.
      const age = Date.now() - (await stat(path)).mtimeMs;
      if (age < 10_000)
        throw spoolFailed('the spool lock is being taken', path, undefined, { reason: 'locked' });
    } else if (owner.host !== hostname()) {
      throw spoolFailed(`the spool directory is locked by host ${owner.host}`, path, undefined, {
        reason: 'locked',
        pid: owner.pid,
        host: owner.host,
      });
    } else if (owner.pid !== process.pid && alive(owner.pid)) {
      throw spoolFailed(
        `the spool directory is locked by the running process ${owner.pid}`,
        path,
        undefined,
        {
          reason: 'locked',
          pid: owner.pid,
        },
      );
    }
    // Stale: moved aside under a name of our own, then checked to be the lock judged stale. Had
    // another process taken the lock over in between, ours would be its fresh lock: it is put
    // back and we give way.
    const aside = `${path}.stale-${process.pid}-${Date.now()}`;
    try {
      await rename(path, aside);
    } catch {
      continue; // someone else moved it first: try the exclusive create again
    }
    const moved = await readLock(aside);
    if (owner !== undefined && (moved?.pid !== owner.pid || moved.since !== owner.since)) {
      await rename(aside, path).catch(() => undefined);
      throw spoolFailed('the spool lock was taken over by another process', path, undefined, {
        reason: 'locked',
      });
    }
    await unlink(aside).catch(() => undefined);
  }
  await fsyncDir(dir);
  held.add(dir);
  let released = false;
  return {
    async release() {
      if (released) return;
      released = true;
      held.delete(dir);
      await unlink(path).catch(() => undefined);
      await fsyncDir(dir).catch(() => undefined);
    },
  };
}
