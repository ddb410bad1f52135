/**
 * Throwaway PostgreSQL servers in streaming replication, for the high-availability tests: a
 * primary (initdb), standbys made with pg_basebackup (-R -C -S: a replication slot each, and
 * the primary's address written into their configuration), and failover by PostgreSQL's own
 * machinery: the primary's postmaster and every child SIGKILLed (a machine lost), the most
 * advanced standby promoted (pg_ctl promote), the other standbys re-pointed to it, and the lost
 * primary rebuilt from it as a new standby, so that the kill can be repeated.
 *
 * Every server has `cluster_name` set to its name: a standby reports it as its
 * application_name, which is what synchronous_standby_names lists. In synchronous mode every
 * server's postgresql.conf (copied by pg_basebackup) has
 * `synchronous_standby_names = 'ANY 1 (n0, n1, ...)'` before any server is promoted, so a
 * promoted standby waits for a standby from its first commit.
 *
 * initdb and pg_ctl refuse to run as root: as root, the tools run as `postgres` (runuser),
 * which owns the directory (pgTools and initdb of test/server/cluster.ts).
 */
import {
  appendFileSync,
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { freePort, initdb, type PgTool, pgTools, postgresBinDir } from '../server/cluster.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Whether the servers can be run here: the binaries, and runuser when running as root. */
export function replicationSkipReason(bin: string | undefined): string | undefined {
  const asRoot = process.getuid?.() === 0;
  const runuser = !asRoot || existsSync('/usr/sbin/runuser') || existsSync('/sbin/runuser');
  if (bin && runuser && existsSync(join(bin, 'pg_basebackup'))) return undefined;
  return `needs the PostgreSQL server binaries (initdb, pg_ctl, pg_basebackup: set EVIDENT_TEST_PG_BIN)${runuser ? '' : ' and runuser (as root)'}`;
}

/** Runs one query on one server (a connection of its own). */
export async function sql<R = Record<string, unknown>>(
  port: number,
  text: string,
  values: readonly unknown[] = [],
): Promise<R[]> {
  const c = new pg.Client({ host: '127.0.0.1', port, user: 'postgres', database: 'postgres' });
  c.on('error', () => {});
  await c.connect();
  try {
    return (await c.query(text, values as unknown[])).rows as R[];
  } finally {
    await c.end().catch(() => undefined);
  }
}

/** A WAL position ('16/B374D848') as a number of bytes. */
function lsn(text: string | null): bigint {
  if (!text) return -1n;
  const [hi, lo] = text.split('/');
  return (BigInt(`0x${hi}`) << 32n) + BigInt(`0x${lo}`);
}

export class PgNode {
  running = false;
  constructor(
    readonly name: string,
    /** Chosen free, then fixed: changed only if taken before the node's first start (start). */
    public port: number,
    readonly base: string,
    private readonly tool: PgTool,
  ) {}

  get data(): string {
    return join(this.base, this.name);
  }

  get logFile(): string {
    return join(this.base, `${this.name}.log`);
  }

  get options(): string {
    return [
      `-p ${this.port}`,
      `-k ${this.base}`,
      '-c listen_addresses=127.0.0.1',
      '-c max_connections=100',
      `-c cluster_name=${this.name}`,
      '-c wal_level=replica',
      '-c max_wal_senders=10',
      '-c max_replication_slots=10',
      '-c hot_standby=on',
      '-c wal_retrieve_retry_interval=100ms',
      '-c wal_receiver_status_interval=1s',
    ].join(' ');
  }

  /**
   * Starts the server. A failure names the end of the server's log. `first`: the node was never
   * started, so nothing knows its port yet: if another process took the port after it was
   * chosen (tests run side by side), it starts once more on another free port.
   */
  async start(first = false): Promise<void> {
    const from = existsSync(this.logFile) ? statSync(this.logFile).size : 0;
    try {
      await this.tool('pg_ctl', [
        '-D',
        this.data,
        '-l',
        this.logFile,
        '-o',
        this.options,
        '-w',
        '-t',
        '60',
        'start',
      ]);
    } catch (e) {
      const log = existsSync(this.logFile) ? readFileSync(this.logFile, 'utf8').slice(from) : '';
      if (first && /could not bind|already in use/i.test(log)) {
        this.port = await freePort();
        return this.start(false);
      }
      const tail = log.trim().split('\n').slice(-10).join('\n');
      throw new Error(`${(e as Error).message}\nthe end of ${this.logFile}:\n${tail}`);
    }
    this.running = true;
  }

  async stop(mode: 'immediate' | 'fast' = 'fast'): Promise<void> {
    await this.tool('pg_ctl', ['-D', this.data, '-m', mode, '-w', '-t', '60', 'stop']);
    this.running = false;
  }

  /** The postmaster's process id (from postmaster.pid). */
  postmasterPid(): number {
    return Number(readFileSync(join(this.data, 'postmaster.pid'), 'utf8').split('\n')[0]);
  }

  /** The machine lost: the postmaster and every child SIGKILLed at once (no shutdown, no flush). */
  kill(): void {
    const pm = this.postmasterPid();
    // Only this server's postmaster (a stale pid file may name another process by now).
    let cmdline = '';
    try {
      cmdline = readFileSync(`/proc/${pm}/cmdline`, 'utf8');
    } catch {
      // gone
    }
    if (!cmdline.includes(this.data)) {
      this.running = false;
      return;
    }
    const children: number[] = [];
    for (const d of readdirSync('/proc')) {
      if (!/^\d+$/.test(d)) continue;
      try {
        const stat = readFileSync(`/proc/${d}/stat`, 'utf8');
        const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
        if (ppid === pm) children.push(Number(d));
      } catch {
        // the process ended meanwhile
      }
    }
    for (const pid of [pm, ...children]) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    // A killed postmaster leaves its socket's lock file: the rebuilt server would refuse to start.
    for (const f of [`.s.PGSQL.${this.port}`, `.s.PGSQL.${this.port}.lock`])
      rmSync(join(this.base, f), { force: true });
    this.running = false;
  }

  async promote(): Promise<void> {
    await this.tool('pg_ctl', ['-D', this.data, '-w', '-t', '60', 'promote']);
  }

  log(): string {
    try {
      return readFileSync(this.logFile, 'utf8');
    } catch {
      return '';
    }
  }
}

export interface ReplicationOptions {
  /** Standbys (default 2). */
  standbys?: number;
  /** synchronous_standby_names = 'ANY 1 (every server)' (default true); false: asynchronous. */
  synchronous?: boolean;
}

export interface FailoverTimes {
  killed: number;
  /** The standby promoted, and when its promotion was done (Date.now()). */
  promoted: { name: string; at: number };
  /** When every other server streamed from it again (the lost one rebuilt). */
  restored: number;
}

export class ReplicatedCluster {
  readonly nodes: PgNode[];
  primary: PgNode;

  private constructor(
    readonly base: string,
    nodes: PgNode[],
    private readonly tool: PgTool,
  ) {
    this.nodes = nodes;
    this.primary = nodes[0]!;
  }

  get standbys(): PgNode[] {
    return this.nodes.filter((n) => n !== this.primary);
  }

  /** `postgres://postgres@127.0.0.1:p0,127.0.0.1:p1,.../postgres?target_session_attrs=read-write&schema=...` */
  url(schema: string): string {
    const hosts = this.nodes.map((n) => `127.0.0.1:${n.port}`).join(',');
    return `postgres://postgres@${hosts}/postgres?target_session_attrs=read-write&schema=${schema}`;
  }

  static async start(bin: string, o: ReplicationOptions = {}): Promise<ReplicatedCluster> {
    const base = mkdtempSync(join(tmpdir(), 'evident-ha-'));
    const tool = await pgTools(bin, base);
    const count = 1 + (o.standbys ?? 2);
    const nodes: PgNode[] = [];
    for (let i = 0; i < count; i++) nodes.push(new PgNode(`n${i}`, await freePort(), base, tool));
    const c = new ReplicatedCluster(base, nodes, tool);
    try {
      const p = nodes[0]!;
      await initdb(tool, p.data);
      const names = o.synchronous === false ? '' : `ANY 1 (${nodes.map((n) => n.name).join(', ')})`;
      appendFileSync(join(p.data, 'postgresql.conf'), `\nsynchronous_standby_names = '${names}'\n`);
      await p.start(true);
      for (const s of nodes.slice(1)) await c.addStandby(s, true);
      await c.waitStreaming();
    } catch (e) {
      await c.destroy();
      throw e;
    }
    return c;
  }

  /** A fresh copy of the primary as a standby streaming from it, through a slot of its own. */
  async addStandby(s: PgNode, first = false): Promise<void> {
    const p = this.primary;
    rmSync(s.data, { recursive: true, force: true });
    await sql(p.port, 'CHECKPOINT');
    await sql(
      p.port,
      'SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = $1',
      [s.name],
    );
    await this.tool('pg_basebackup', [
      '-h',
      '127.0.0.1',
      '-p',
      String(p.port),
      '-U',
      'postgres',
      '-D',
      s.data,
      '-R',
      '-C',
      '-S',
      s.name,
      '--checkpoint=fast',
      '-X',
      'stream',
    ]);
    await s.start(first);
  }

  /** Waits until every standby that runs streams from the primary. */
  async waitStreaming(timeoutMs = 60_000): Promise<void> {
    const want = this.standbys.filter((s) => s.running).map((s) => s.name);
    const until = Date.now() + timeoutMs;
    for (;;) {
      const rows = await sql<{ application_name: string }>(
        this.primary.port,
        "SELECT application_name FROM pg_stat_replication WHERE state = 'streaming'",
      ).catch(() => []);
      const have = new Set(rows.map((r) => r.application_name));
      if (want.every((n) => have.has(n))) return;
      if (Date.now() > until) throw new Error(`standbys ${want.join(', ')} not streaming; have ${[...have]}`);
      await sleep(50);
    }
  }

  /**
   * The primary lost and replaced: SIGKILL of its postmaster and children; the standby with the
   * most WAL received promoted (with `ANY 1`, only it is sure to hold every acknowledged
   * commit); the other standbys re-pointed to it (a slot each, primary_conninfo reloaded: they
   * follow the new timeline); the lost primary rebuilt from it as a standby (unless `rebuild`
   * is false). `before` runs just before the kill, `delayMs` earlier.
   */
  async failover(before?: () => void, delayMs = 0, rebuild = true): Promise<FailoverTimes> {
    const lost = this.primary;
    before?.();
    if (delayMs > 0) await sleep(delayMs);
    lost.kill();
    const killed = Date.now();
    const standbys = this.standbys.filter((s) => s.running);
    const positions = await Promise.all(
      standbys.map(async (s) => {
        const [r] = await sql<{ lsn: string | null }>(
          s.port,
          'SELECT pg_last_wal_receive_lsn()::text AS lsn',
        );
        return lsn(r?.lsn ?? null);
      }),
    );
    let best = 0;
    for (let i = 1; i < standbys.length; i++) if (positions[i]! > positions[best]!) best = i;
    const next = standbys[best]!;
    await next.promote();
    const promoted = { name: next.name, at: Date.now() };
    this.primary = next;
    for (const s of standbys) {
      if (s === next) continue;
      await sql(next.port, 'SELECT pg_create_physical_replication_slot($1, true)', [s.name]);
      await sql(
        s.port,
        `ALTER SYSTEM SET primary_conninfo = 'host=127.0.0.1 port=${next.port} user=postgres'`,
      );
      await sql(s.port, `ALTER SYSTEM SET primary_slot_name = '${s.name}'`);
      await sql(s.port, 'SELECT pg_reload_conf()');
    }
    if (rebuild) await this.addStandby(lost);
    await this.waitStreaming();
    return { killed, promoted, restored: Date.now() };
  }

  /** Waits until every streaming standby has replayed all the WAL the primary has flushed. */
  async waitCaughtUp(timeoutMs = 60_000): Promise<void> {
    const [r] = await sql<{ lsn: string }>(
      this.primary.port,
      'SELECT pg_current_wal_flush_lsn()::text AS lsn',
    );
    const until = Date.now() + timeoutMs;
    for (;;) {
      const rows = await sql<{ lsn: string | null }>(
        this.primary.port,
        'SELECT replay_lsn::text AS lsn FROM pg_stat_replication',
      );
      if (rows.length > 0 && rows.every((x) => lsn(x.lsn) >= lsn(r!.lsn))) return;
      if (Date.now() > until) throw new Error('standbys did not catch up');
      await sleep(20);
    }
  }

  /** Process ids of the primary's walsenders (one per streaming standby). */
  async walsenders(): Promise<number[]> {
    const rows = await sql<{ pid: number }>(this.primary.port, 'SELECT pid FROM pg_stat_replication');
    return rows.map((r) => r.pid);
  }

  async destroy(): Promise<void> {
    for (const n of this.nodes) {
      if (!n.running || !existsSync(join(n.data, 'postmaster.pid'))) continue;
      try {
        n.kill();
      } catch {
        // not running
      }
    }
    rmSync(this.base, { recursive: true, force: true });
  }
}

/**
 * The server binaries, or undefined after skipping `t` with the reason; under CI=true a
 * missing part fails the test instead.
 */
export function binariesOrSkip(t: { skip(message: string): void }): string | undefined {
  const bin = postgresBinDir();
  const why = replicationSkipReason(bin);
  if (!why) return bin;
  if (process.env['CI'] === 'true') throw new Error(`${why}: not allowed under CI`);
  t.skip(`${why}: skipped`);
  return undefined;
}
