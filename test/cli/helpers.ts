/** Runs the real, built `evident` bin in a child process, each test in its own directory. */
import { execFile, execFileSync } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const BIN = join(ROOT, 'bin', 'evident.js');

/** `npm test` builds first (pretest); a lone `node --test` of this folder builds if dist is missing. */
export function ensureBuilt(): void {
  if (!existsSync(join(ROOT, 'dist', 'cli', 'main.js'))) {
    execFileSync('npm', ['run', 'build'], { cwd: ROOT, stdio: 'ignore' });
  }
}

const dirs: string[] = [];

export function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'evident-cli-'));
  dirs.push(d);
  return d;
}

export function removeTempDirs(): void {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
}

export interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

export function run(
  args: readonly string[],
  o: { cwd: string; input?: string; env?: Record<string, string> },
): Promise<Result> {
  const env: NodeJS.ProcessEnv = { ...process.env, ...o.env };
  if (!o.env?.['EVIDENT_DB']) delete env['EVIDENT_DB'];
  if (!o.env?.['EVIDENT_KEY']) delete env['EVIDENT_KEY'];
  if (!o.env?.['EVIDENT_SIGNING_KEY']) delete env['EVIDENT_SIGNING_KEY'];
  return new Promise((resolve, reject) => {
    const child = execFile(
      process.execPath,
      [BIN, ...args],
      { cwd: o.cwd, env, maxBuffer: 64 << 20 },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === 'number' ? error.code : null) : 0;
        if (code === null) reject(error);
        else resolve({ code, stdout, stderr });
      },
    );
    child.stdin!.end(o.input ?? '');
  });
}

/** The JSON error object a --json run wrote on stderr. */
export function errorOf(r: Result): { code: string; message: string; [k: string]: unknown } {
  const lines = r.stderr.trim().split('\n');
  return JSON.parse(lines[lines.length - 1]!);
}

export function jsonLines<T = Record<string, unknown>>(s: string): T[] {
  return s
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as T);
}

/** Copies a database and key file into a new directory of its own. */
export function copyLog(from: string): string {
  const to = tempDir();
  for (const f of ['evident.db', 'evident.db-wal', 'evident.db-shm', 'evident.key']) {
    if (existsSync(join(from, f))) copyFileSync(join(from, f), join(to, f));
  }
  chmodSync(join(to, 'evident.key'), 0o600);
  return to;
}

const HOUR = 3_600_000;

/** A valid event; `hoursAgo` sets its timestamp. */
export function event(
  i: number,
  o: { actor?: string; result?: string; hoursAgo?: number; resource?: string; id?: string } = {},
): Record<string, unknown> {
  return {
    ...(o.id ? { id: o.id } : {}),
    timestamp: new Date(Date.now() - (o.hoursAgo ?? 1) * HOUR).toISOString(),
    actor_id: o.actor ?? 'alice',
    actor_type: 'user',
    action: 'read',
    resource_type: 'patient_record',
    resource_id: o.resource ?? `p-${i}`,
    result: o.result ?? 'success',
    ip_address: `10.0.0.${i % 250}`,
    new_values: { n: i },
  };
}

export const lines = (events: readonly unknown[]): string =>
  events.map((e) => `${JSON.stringify(e)}\n`).join('');
