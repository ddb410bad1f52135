/** What the numbers were measured on: machine, runtime and database versions. */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import type { PgServer } from './pg.ts';

export interface Machine {
  date: string;
  evident: string;
  commit: string;
  node: string;
  sqlite: string;
  /** Absent when PostgreSQL was not reachable. */
  postgres?: PgServer;
  cpus: string;
  memory_gb: number;
  /** 1-minute load average when the run started: other work on a shared machine skews every figure. */
  load_at_start: number;
}

export function machine(postgres: PgServer | undefined): Machine {
  const root = join(import.meta.dirname, '..');
  const db = new Database(':memory:');
  const sqlite = db.prepare('SELECT sqlite_version()').pluck().get() as string;
  db.close();
  let commit = 'unknown';
  try {
    commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: root, encoding: 'utf8' }).trim();
    const dirty = execFileSync('git', ['status', '--porcelain', '--', 'src'], {
      cwd: root,
      encoding: 'utf8',
    });
    if (dirty.trim()) commit += ' (src has uncommitted changes)';
  } catch {
    // Not a git checkout (an unpacked tarball): the version is all there is.
  }
  return {
    date: new Date().toISOString(),
    evident: (JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string }).version,
    commit,
    node: process.version,
    sqlite,
    ...(postgres ? { postgres } : {}),
    cpus: `${cpus().length} x ${cpus()[0]?.model.trim() ?? 'unknown'}`,
    memory_gb: Math.round(totalmem() / 2 ** 30),
    load_at_start: Math.round(loadavg()[0]! * 100) / 100,
  };
}
