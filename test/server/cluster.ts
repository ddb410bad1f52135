/**
 * Real `evident serve` processes and, for outage tests, a throwaway PostgreSQL cluster: the
 * processes are the built CLI (bin/evident.js) exactly as an operator runs it, each on a port
 * of its own, their JSON request log parsed as it arrives. Every process started here is
 * remembered, so that `killAll()` (in an `after()` hook) leaves nothing running.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { chownSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BIN, type Result, run } from '../cli/helpers.ts';

const children = new Set<ChildProcess>();

/** SIGKILLs every process started here that is still running. */
export function killAll(): void {
  for (const c of children) {
    if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  }
  children.clear();
}

/** A port nobody listens on right now (the kernel's pick, released at once). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.unref();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

/** Runs the CLI; throws with its output unless it exits 0. */
export async function cli(args: readonly string[], cwd: string): Promise<Result> {
  const r = await run(args, { cwd });
  if (r.code !== 0) throw new Error(`evident ${args.join(' ')} exited ${r.code}:\n${r.stdout}${r.stderr}`);
  return r;
}

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface Served {
  name: string;
  url: string;
  port: number;
  child: ChildProcess;
  exit: Promise<Exit>;
  /** Requests answered, by status, from the server's own request log. */
  statuses: Map<number, number>;
  /** Log lines at level error or above (the first 50), and how many there were. */
  errors: string[];
  errorCount(): number;
  /** The last 16 KiB of stdout and stderr. */
  tail(): string;
}

export interface ServeOptions {
  name: string;
  cwd: string;
  db: string;
  key: string;
  port?: number;
  args?: readonly string[];
}

/** Starts `evident serve` and resolves once it listens. */
export async function startServe(o: ServeOptions): Promise<Served> {
  const port = o.port ?? (await freePort());
  const env = { ...process.env };
  for (const k of Object.keys(env)) if (k.startsWith('EVIDENT_')) delete env[k];
  const child = spawn(
    process.execPath,
    [
      BIN,
      'serve',
      '--host',
      '127.0.0.1',
      '--port',
      String(port),
      '--db',
      o.db,
      '--key',
      o.key,
      ...(o.args ?? []),
    ],
    { cwd: o.cwd, env, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  children.add(child);
  const statuses = new Map<number, number>();
  const errors: string[] = [];
  let tail = '';
  let partial = '';
  let errorCount = 0;
  const keep = (s: string) => {
    tail = (tail + s).slice(-16_384);
  };
  let listening: (() => void) | undefined;
  child.stdout!.setEncoding('utf8');
  child.stdout!.on('data', (d: string) => {
    keep(d);
    const lines = (partial + d).split('\n');
    partial = lines.pop()!;
    for (const line of lines) {
      let l: { level?: number; msg?: string; status?: number };
      try {
        l = JSON.parse(line);
      } catch {
        continue;
      }
      if (l.msg === 'request' && typeof l.status === 'number') {
        statuses.set(l.status, (statuses.get(l.status) ?? 0) + 1);
      } else if (l.msg?.startsWith('Server listening at')) listening?.();
      if ((l.level ?? 0) >= 50) {
        errorCount++;
        if (errors.length < 50) errors.push(line);
      }
    }
  });
  child.stderr!.setEncoding('utf8');
  child.stderr!.on('data', keep);
  // 'close': the process exited and its output has been read to the end
  const exit = new Promise<Exit>((resolve) =>
    child.on('close', (code, signal) => {
      children.delete(child);
      resolve({ code, signal });
    }),
  );
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${o.name} did not start within 60 s:\n${tail}`));
    }, 60_000);
    listening = () => {
      clearTimeout(timer);
      resolve();
    };
    void exit.then((e) => {
      clearTimeout(timer);
      reject(new Error(`${o.name} exited (${e.code ?? e.signal}) before listening:\n${tail}`));
    });
  });
  return {
    name: o.name,
    url: `http://127.0.0.1:${port}`,
    port,
    child,
    exit,
    statuses,
    errors,
    errorCount: () => errorCount,
    tail: () => tail,
  };
}

/** SIGTERM, then the exit (graceful shutdown: commit, sign a last checkpoint, exit 0). */
export async function stopServe(s: Served): Promise<Exit> {
  if (s.child.exitCode !== null || s.child.signalCode !== null) return s.exit;
  s.child.kill('SIGTERM');
  return s.exit;
}

/** `evident verify --json` on one log: exit code and report. */
export async function verifyLog(
  cwd: string,
  db: string,
  key: string,
  log: string,
): Promise<{
  code: number;
  report: { ok: boolean; entries: number; verified_size: number } | undefined;
  out: string;
}> {
  const r = await run(['verify', '--db', db, '--log', log, '--key', key, '--json'], { cwd });
  let report: { ok: boolean; entries: number; verified_size: number } | undefined;
  try {
    report = JSON.parse(r.stdout);
  } catch {
    report = undefined;
  }
  return { code: r.code, report, out: r.stdout + r.stderr };
}

// ---------------------------------------------------------------- a throwaway PostgreSQL cluster

/** The directory of initdb and pg_ctl: $EVIDENT_TEST_PG_BIN, else the newest /usr/lib/postgresql/N/bin. */
export function postgresBinDir(): string | undefined {
  const given = process.env['EVIDENT_TEST_PG_BIN'];
  if (given) return existsSync(join(given, 'initdb')) ? given : undefined;
  const root = '/usr/lib/postgresql';
  if (!existsSync(root)) return undefined;
  const versions = readdirSync(root)
    .filter((v) => /^\d+$/.test(v))
    .sort((a, b) => Number(b) - Number(a));
  for (const v of versions) {
    const bin = join(root, v, 'bin');
    if (existsSync(join(bin, 'initdb')) && existsSync(join(bin, 'pg_ctl'))) return bin;
  }
  return undefined;
}

function exec(file: string, args: readonly string[], cwd?: string): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(file, args, { maxBuffer: 16 << 20, ...(cwd ? { cwd } : {}) }, (error, stdout, stderr) => {
      if (error) reject(new Error(`${file} ${args.join(' ')}: ${error.message}\n${stdout}${stderr}`));
      else resolve(stdout + stderr);
    });
  });
}

/** Runs a PostgreSQL tool (initdb, pg_ctl, ...) with these arguments; its output. */
export type PgTool = (name: string, args: readonly string[]) => Promise<string>;

/** As root the tools run as the `postgres` user: initdb refuses to run as root. */
const asPostgresUser = () => process.getuid?.() === 0;

/**
 * The tools of `bin` for a private cluster under `dir`. As root, `dir` is handed to the
 * `postgres` user and the tools run as it (runuser).
 */
export async function pgTools(bin: string, dir: string): Promise<PgTool> {
  if (!asPostgresUser()) return (name, args) => exec(join(bin, name), args);
  const uid = Number((await exec('id', ['-u', 'postgres'])).trim());
  const gid = Number((await exec('id', ['-g', 'postgres'])).trim());
  chownSync(dir, uid, gid);
  // Run from `dir`: the test's own directory may be one `postgres` cannot enter (a checkout
  // under a mode-0700 temporary directory), and the tools then fail to find their way back to it.
  return (name, args) => exec('runuser', ['-u', 'postgres', '--', join(bin, name), ...args], dir);
}

/** initdb of a test cluster's data directory: trust authentication, UTF8, C locale, no fsync. */
export async function initdb(tool: PgTool, data: string): Promise<void> {
  await tool('initdb', [
    '-D',
    data,
    '-U',
    'postgres',
    '-A',
    'trust',
    '-E',
    'UTF8',
    '--locale=C',
    '--no-sync',
  ]);
}

export interface PgCluster {
  /** postgres://postgres@127.0.0.1:PORT/postgres */
  url: string;
  port: number;
  /** pg_ctl stop (immediate: a crash, no checkpoint; fast: a clean shutdown). */
  stop(mode?: 'immediate' | 'fast'): Promise<void>;
  start(): Promise<void>;
  /** Stops it (if running) and removes its files. */
  destroy(): Promise<void>;
  /** The server's log file. */
  log(): string;
}

/**
 * initdb + pg_ctl start of a private cluster on a free port, in a temporary directory. initdb
 * refuses to run as root: as root, the tools run as the `postgres` user (runuser), which owns
 * the directory. Trust authentication, TCP on 127.0.0.1 and a private socket directory only.
 */
export async function startPgCluster(bin: string): Promise<PgCluster> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'evident-pgcluster-'));
  const data = join(dir, 'data');
  const logFile = join(dir, 'server.log');
  const tool = await pgTools(bin, dir);
  if (!asPostgresUser()) mkdirSync(data, { recursive: true });
  await initdb(tool, data);
  const options = `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c max_connections=100`;
  let running = false;
  const cluster: PgCluster = {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    port,
    async start() {
      await tool('pg_ctl', ['-D', data, '-l', logFile, '-o', options, '-w', '-t', '60', 'start']);
      running = true;
    },
    async stop(mode = 'immediate') {
      await tool('pg_ctl', ['-D', data, '-m', mode, '-w', '-t', '60', 'stop']);
      running = false;
    },
    async destroy() {
      if (running) await cluster.stop('immediate').catch(() => undefined);
      rmSync(dir, { recursive: true, force: true });
    },
    log: () => {
      try {
        return readFileSync(logFile, 'utf8');
      } catch {
        return '';
      }
    },
  };
  try {
    await cluster.start();
  } catch (e) {
    rmSync(dir, { recursive: true, force: true });
    throw e;
  }
  return cluster;
}

/**
 * A postgres:// URL with evident's `schema` parameter set (the store's own, not passed to pg),
 * and any other parameters for node-postgres (e.g. application_name, which names the
 * connections in pg_stat_activity).
 */
export function withSchema(url: string, schema: string, params: Record<string, string> = {}): string {
  const u = new URL(url);
  u.searchParams.set('schema', schema);
  for (const [k, v] of Object.entries(params)) u.searchParams.set(k, v);
  return u.toString();
}

export interface Logs {
  keyFile: string;
  /** An API key with the ingest scope on every log. */
  ingestKey: string;
  /** An API key with the read scope on every log. */
  readKey: string;
}

/**
 * `evident init` of each log (origin `<host>/<log>`; the first creates the key file, the others
 * derive their keys from it), then `evident keys create` of an ingest key and a read key.
 */
export async function initLogs(
  dir: string,
  db: string,
  logs: readonly string[],
  host: string,
): Promise<Logs> {
  const keyFile = join(dir, 'audit.key');
  for (const log of logs) {
    await cli(['init', '--db', db, '--key', keyFile, '--log', log, '--origin', `${host}/${log}`], dir);
  }
  const key = async (scope: string) =>
    JSON.parse(
      (await cli(['keys', 'create', '--db', db, '--log', logs.join(','), '--scope', scope, '--json'], dir))
        .stdout,
    ).key as string;
  return { keyFile, ingestKey: await key('ingest'), readKey: await key('read') };
}
