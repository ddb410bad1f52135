/**
 * Worker threads for verifying a SQLite log on every core. Each worker opens the file through
 * its own read-only connection and checks runs of entries (../core/verify/runs.ts) in parallel:
 * it reads the rows and stored tree nodes of its index range, re-hashes every entry, follows
 * the links inside the range and compares the nodes inside it. The main thread hands the runs
 * to the streaming verifier in index order, which does what needs the whole log (the links
 * between runs, the tree above them, checkpoints, erasures, the head). A range that is not a
 * clean run is read again on the main thread and verified entry by entry, so that its faults
 * are found and named exactly as without workers.
 *
 * Memory stays flat: at most QUEUE_PER_WORKER ranges per worker are in flight (a worker reads
 * a range a slice at a time and sends back its leaf hashes, 32 bytes an entry), and the next is
 * asked for only when the verifier takes one. A bundle's batches of lines are bounded by bytes
 * as well (bundleRuns), and each thread's heap by WORKER_LIMITS.
 */
import type { Worker } from 'node:worker_threads';
import type { Entry } from '../core/event/entry.ts';
import type { EntrySource } from '../core/verify/lookahead.ts';
import type { RunSummary, VerifiedRun } from '../core/verify/runs.ts';
import type { SchemaCheck } from '../store/schema-drift.ts';
import { startModuleWorker } from '../store/worker-thread.ts';

/** What one verification asks of the workers; `session` names the verification, `db` its file. */
interface SessionTask {
  id: number;
  session: number;
  db: string;
  logId: number;
}

export type WorkerTask =
  | (SessionTask & { type: 'run'; from: number; to: number })
  | (SessionTask & { type: 'schema' })
  | { type: 'end'; id: number; session: number }
  /** Lines of a bundle, each an entry (../core/bundle.ts), joined by \n (./bundle-lines.ts). */
  | { type: 'lines'; id: number; bytes: Uint8Array };

export type WorkerReply =
  | { type: 'run'; id: number; run: RunSummary | undefined }
  | { type: 'schema'; id: number; schema: SchemaCheck }
  | { type: 'error'; id: number; message: string };

const QUEUE_PER_WORKER = 4;

function startWorker(): Worker {
  return startModuleWorker('verify-worker', import.meta.url, { resourceLimits: WORKER_LIMITS });
}

/**
 * A run's entries die young (a worker reads or parses them a slice at a time): a small young
 * generation per thread keeps the process's memory flat as threads are added (V8's default
 * gives each isolate 48 MB of it). The old generation is capped well above what a run keeps
 * (its leaf hashes, a slice of entries): a thread that runs out fails its run, which the main
 * thread then reads and verifies itself.
 */
const WORKER_LIMITS = { maxYoungGenerationSizeMb: 8, maxOldGenerationSizeMb: 128 };

interface Task {
  task: WorkerTask;
  resolve: (r: WorkerReply) => void;
  reject: (e: Error) => void;
}

/** One thread, one task at a time; it keeps the process alive only while it has one. */
class VerifyWorker {
  readonly thread: Worker;
  current: Task | undefined;
  failed: Error | undefined;

  constructor(onIdle: () => void) {
    this.thread = startWorker();
    this.thread.on('message', (r: WorkerReply) => {
      const t = this.current;
      if (!t || r.id !== t.task.id) return;
      this.idle();
      if (r.type === 'error') t.reject(new Error(r.message));
      else t.resolve(r);
      onIdle();
    });
    const fail = (e: Error) => {
      this.failed ??= e;
      const t = this.current;
      this.idle();
      t?.reject(e);
      onIdle();
    };
    this.thread.on('error', fail);
    this.thread.on('exit', (code) => fail(new Error(`verification worker exited (${code})`)));
    // After the listeners: adding a 'message' listener refs the thread's port again.
    this.thread.unref();
  }

  start(t: Task): void {
    this.current = t;
    this.thread.ref();
    this.thread.postMessage(t.task);
  }

  private idle(): void {
    this.current = undefined;
    this.thread.unref();
  }
}

/**
 * The process's verification threads, started on first use and kept (idle threads do not keep
 * the process alive), shared by every verification: starting a thread costs more than a small
 * log's whole verification.
 */
class WorkerPool {
  private readonly workers: VerifyWorker[] = [];
  private readonly queue: Task[] = [];
  private nextId = 0;

  /** At least `n` threads. */
  grow(n: number): void {
    while (this.workers.filter((w) => !w.failed).length < n)
      this.workers.push(new VerifyWorker(() => this.dispatch()));
  }

  /** Queued; the next idle thread takes it. A pool whose every thread failed rejects it. */
  ask(task: DistributiveOmit<WorkerTask, 'id'>): Promise<WorkerReply> {
    return new Promise((resolve, reject) => {
      this.queue.push({ task: { ...task, id: this.nextId++ } as WorkerTask, resolve, reject });
      this.dispatch();
    });
  }

  /** Sent to every thread at once, not queued: the session's connections close. */
  end(session: number): void {
    for (const w of this.workers) if (!w.failed) w.thread.postMessage({ type: 'end', id: -1, session });
  }

  private dispatch(): void {
    const alive = this.workers.filter((w) => !w.failed);
    if (alive.length === 0) {
      for (const t of this.queue.splice(0)) t.reject(this.workers[0]?.failed ?? new Error('no worker'));
      return;
    }
    for (const w of alive) {
      if (this.queue.length === 0) return;
      if (!w.current) w.start(this.queue.shift()!);
    }
  }
}

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

let shared: WorkerPool | undefined;
let sessions = 0;

/**
 * One verification's use of the shared threads: its tasks name its file and log, and close()
 * ends it (each thread closes its connection to the file).
 */
export class VerifyPool {
  private readonly pool: WorkerPool;
  private readonly session = ++sessions;
  private readonly size: number;

  constructor(
    private readonly db: string,
    private readonly logId: number,
    size: number,
  ) {
    shared ??= new WorkerPool();
    shared.grow(size);
    this.pool = shared;
    this.size = size;
  }

  /** The schema check (Store.schemaCheck) on a worker's own connection. */
  async schemaCheck(): Promise<SchemaCheck> {
    const r = await this.pool.ask({ type: 'schema', session: this.session, db: this.db, logId: this.logId });
    if (r.type !== 'schema') throw new Error(`unexpected reply ${r.type}`);
    return r.schema;
  }

  /**
   * The entries [from, to) as runs of `per` entries (on multiples of `per`, the verifier's
   * window of stored nodes), in order, checked by the workers; a range that is not a clean run
   * (or that a worker could not read) comes as a page read by `read`.
   */
  async *ranges(
    from: number,
    to: number,
    per: number,
    read: (from: number, to: number) => Promise<Entry[]>,
  ): AsyncIterable<VerifiedRun | Entry[]> {
    const inFlight: { from: number; to: number; reply: Promise<WorkerReply | undefined> }[] = [];
    let at = from;
    const fill = () => {
      while (at < to && inFlight.length < this.size * QUEUE_PER_WORKER) {
        const end = Math.min(to, (Math.floor(at / per) + 1) * per);
        const reply = this.pool
          .ask({ type: 'run', session: this.session, db: this.db, logId: this.logId, from: at, to: end })
          .catch(() => undefined);
        inFlight.push({ from: at, to: end, reply });
        at = end;
      }
    };
    fill();
    while (inFlight.length > 0) {
      const head = inFlight.shift()!;
      const r = await head.reply;
      fill();
      if (r?.type === 'run' && r.run) {
        const range = { from: head.from, to: head.to };
        yield { ...r.run, kind: 'run', expand: () => read(range.from, range.to) } satisfies VerifiedRun;
      } else {
        yield await read(head.from, head.to);
      }
    }
  }

  /** Ends the session; the threads stay for the next verification. */
  close(): void {
    this.pool.end(this.session);
  }
}

/** A batch of a bundle's entry lines, and how the main thread parses them itself. */
export interface LineBatch {
  /** The lines, joined by \n (./bundle-lines.ts). */
  bytes: Uint8Array;
  /** The entries, or the bundle's own error for the first line that is not one. */
  parse(): Entry[];
}

/** How much of a bundle may be in flight to the workers. */
export interface InFlightLimit {
  /** Bytes of lines sent to the workers and not yet taken by the verifier (at least one batch, however large). */
  bytes: number;
  /** Told the batches and bytes in flight each time a batch is sent. */
  onInFlight?: (batches: number, bytes: number) => void;
}

/**
 * Batches of a bundle's lines, in order, as runs the workers parsed and checked; a batch that
 * is not a clean run (a line that is not an entry, a fault) comes as the page `parse` gives,
 * or its error, exactly where it would without workers. At most QUEUE_PER_WORKER batches per
 * thread and `limit.bytes` bytes are in flight; the main thread holds them as bytes, never as
 * strings, and besides them only the batch the verifier is taking and the next one read.
 */
export async function* bundleRuns(
  batches: AsyncIterable<LineBatch>,
  size: number,
  limit: InFlightLimit,
): EntrySource {
  shared ??= new WorkerPool();
  shared.grow(size);
  const pool = shared;
  const it = batches[Symbol.asyncIterator]();
  const inFlight: { batch: LineBatch; reply: Promise<WorkerReply | undefined> }[] = [];
  let bytes = 0;
  let next: LineBatch | undefined;
  let done = false;
  const fill = async () => {
    while (inFlight.length < size * QUEUE_PER_WORKER) {
      if (next === undefined && !done) {
        const r = await it.next();
        if (r.done) done = true;
        else next = r.value;
      }
      if (next === undefined) return;
      const n = next.bytes.length;
      if (inFlight.length > 0 && bytes + n > limit.bytes) return;
      const batch = next;
      next = undefined;
      const reply = pool.ask({ type: 'lines', bytes: batch.bytes }).catch(() => undefined);
      inFlight.push({ batch, reply });
      bytes += n;
      limit.onInFlight?.(inFlight.length, bytes);
    }
  };
  await fill();
  while (inFlight.length > 0) {
    const head = inFlight.shift()!;
    const r = await head.reply;
    bytes -= head.batch.bytes.length;
    await fill();
    if (r?.type === 'run' && r.run) {
      const batch = head.batch;
      yield { ...r.run, kind: 'run', expand: async () => batch.parse() } satisfies VerifiedRun;
    } else {
      yield head.batch.parse();
    }
  }
}
