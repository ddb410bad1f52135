/**
 * Shared by the client tests: temp dirs, events, a real `evident serve` on a SQLite file with an
 * ingest, a read and a verify key, and reading a log back over HTTP.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureBuilt } from '../cli/helpers.ts';
import { cli, freePort, initLogs, type Served, startServe, stopServe } from '../server/cluster.ts';

const dirs: string[] = [];

export function tempDir(prefix = 'evident-client-'): string {
  const d = mkdtempSync(join(tmpdir(), prefix));
  dirs.push(d);
  return d;
}

export function removeTempDirs(): void {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
}

let n = 0;

/** A valid event without id or timestamp (the client fills them in). */
export function event(tag = 'e'): Record<string, unknown> {
  n++;
  return {
    actor_id: `user-${n % 7}`,
    actor_type: 'user',
    action: 'read',
    resource_type: 'patient_record',
    resource_id: `${tag}-${n}`,
    result: 'success',
    ip_address: '192.0.2.7',
  };
}

export interface Server {
  dir: string;
  db: string;
  keyFile: string;
  ingestKey: string;
  readKey: string;
  verifyKey: string;
  port: number;
  url: string;
  served: Served | undefined;
  start(): Promise<void>;
  stop(): Promise<void>;
}

/** A log `default` in a fresh SQLite file; the server (with `args`) is not started until start(). */
export async function prepareServer(args: readonly string[] = []): Promise<Server> {
  ensureBuilt();
  const dir = tempDir('evident-client-server-');
  const db = join(dir, 'audit.db');
  const logs = await initLogs(dir, db, ['default'], 'audit.test');
  const verifyKey = JSON.parse(
    (await cli(['keys', 'create', '--db', db, '--log', 'default', '--scope', 'verify', '--json'], dir))
      .stdout,
  ).key as string;
  const port = await freePort();
  const s: Server = {
    dir,
    db,
    keyFile: logs.keyFile,
    ingestKey: logs.ingestKey,
    readKey: logs.readKey,
    verifyKey,
    port,
    url: `http://127.0.0.1:${port}`,
    served: undefined,
    async start() {
      s.served = await startServe({
        name: 'serve',
        cwd: dir,
        db,
        key: logs.keyFile,
        port,
        args: ['--checkpoint-interval-ms', '0', ...args],
      });
    },
    async stop() {
      if (s.served) await stopServe(s.served);
      s.served = undefined;
    },
  };
  return s;
}

export interface LogEntry {
  id: string;
  index: number;
  action: string;
  resource_id: string;
  [k: string]: unknown;
}

/** Every entry of the log, in index order, read page by page with the read key. */
export async function readLog(s: Server, log = 'default'): Promise<LogEntry[]> {
  const out: LogEntry[] = [];
  let cursor: string | null = null;
  do {
    const q = new URLSearchParams({ limit: '1000', ...(cursor ? { cursor } : {}) });
    const res = await fetch(`${s.url}/v1/logs/${log}/events?${q}`, {
      headers: { authorization: `Bearer ${s.readKey}` },
    });
    if (!res.ok) throw new Error(`read ${res.status}: ${await res.text()}`);
    const body = (await res.json()) as { entries: LogEntry[]; next_cursor: string | null };
    out.push(...body.entries);
    cursor = body.next_cursor;
  } while (cursor);
  return out;
}

/** The verifier key the server publishes. */
export async function fetchVkey(s: Server, log = 'default'): Promise<string> {
  const res = await fetch(`${s.url}/v1/logs/${log}/key`, {
    headers: { authorization: `Bearer ${s.verifyKey}` },
  });
  if (!res.ok) throw new Error(`key ${res.status}`);
  return (await res.text()).trim();
}

/** Asserts that `ids` occur in `entries` exactly once each, in this order. */
export function checkOnceInOrder(entries: readonly LogEntry[], ids: readonly string[]): string | undefined {
  const wanted = new Set(ids);
  if (wanted.size !== ids.length) return 'the ids given are not unique';
  const seen = entries.filter((e) => wanted.has(e.id)).map((e) => e.id);
  if (seen.length !== ids.length) return `${seen.length} entries for ${ids.length} ids`;
  for (let i = 0; i < ids.length; i++) {
    if (seen[i] !== ids[i]) return `position ${i}: ${seen[i]} where ${ids[i]} was recorded`;
  }
  return undefined;
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
