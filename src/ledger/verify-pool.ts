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
 * Memory stays flat: at most QUEUE_PER_WORKER ranges per worker are in flight, each a few
 * hundred KB, and the next is asked for only when the verifier takes one.
 */
import { Worker } from 'node:worker_threads';
import type { Entry } from '../core/event/entry.ts';
import type { RunSummary, VerifiedRun } from '../core/verify/runs.ts';
import type { SchemaCheck } from '../store/schema-drift.ts';

export type WorkerTask =
  | { type: 'run'; id: number; from: number; to: number }
  | { type: 'schema'; id: number };

export type WorkerReply =
  | { type: 'ready'; id: number }
  | { type: 'run'; id: number; run: RunSummary | undefined }
  | { type: 'schema'; id: number; schema: SchemaCheck }
  | { type: 'error'; id: number; message: string };

const QUEUE_PER_WORKER = 4;

const here = import.meta.url;
const fromSource = here.endsWith('.ts');
const workerUrl = new URL(`./verify-worker${fromSource ? '.ts' : '.js'}`, here);

/**
 * The built package starts verify-worker.js. Run from the TypeScript sources (tests, the
 * benchmarks), a worker thread does not inherit the main thread's loader hooks: it registers
 * tsx's own before loading verify-worker.ts.
 */
function startWorker(workerData: unknown): Worker {
  if (!fromSource) return new Worker(workerUrl, { workerData });
  const boot = `import('tsx/esm/api').then((t) => { t.register(); return import(${JSON.stringify(workerUrl.href)}); })`;
  return new Worker(boot, { eval: true, workerData });
}

interface Task {
  task: WorkerTask;
  resolve: (r: WorkerReply) => void;
  reject: (e: Error) => void;
}

/** One thread, one task at a time. */
class VerifyWorker {
  readonly thread: Worker;
  current: Task | undefined;
  failed: Error | undefined;

  constructor(db: string, logId: number, onIdle: () => void) {
    this.thread = startWorker({ db, logId });
    this.thread.unref();
    this.thread.on('message', (r: WorkerReply) => {
      const t = this.current;
      if (r.type === 'ready' || !t || r.id !== t.task.id) return;
      this.current = undefined;
      if (r.type === 'error') t.reject(new Error(r.message));
      else t.resolve(r);
      onIdle();
    });
    const fail = (e: Error) => {
      this.failed ??= e;
      const t = this.current;
      this.current = undefined;
      t?.reject(e);
      onIdle();
    };
    this.thread.on('error', fail);
    this.thread.on('exit', (code) => fail(new Error(`verification worker exited (${code})`)));
  }

  start(t: Task): void {
    this.current = t;
    this.thread.postMessage(t.task);
  }
}

export class VerifyPool {
  private readonly workers: VerifyWorker[];
  private readonly queue: Task[] = [];
  private nextId = 0;

  constructor(db: string, logId: number, size: number) {
    this.workers = Array.from({ length: size }, () => new VerifyWorker(db, logId, () => this.dispatch()));
  }

  get size(): number {
    return this.workers.length;
  }

  /** Queued; the next idle worker takes it. A pool whose every worker failed rejects it. */
  private ask(
    task: WorkerTask extends infer T ? (T extends WorkerTask ? Omit<T, 'id'> : never) : never,
  ): Promise<WorkerReply> {
    return new Promise((resolve, reject) => {
      this.queue.push({ task: { ...task, id: this.nextId++ } as WorkerTask, resolve, reject });
      this.dispatch();
    });
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

  /** The schema check (Store.schemaCheck) on a worker's own connection. */
  async schemaCheck(): Promise<SchemaCheck> {
    const r = await this.ask({ type: 'schema' });
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
      while (at < to && inFlight.length < this.workers.length * QUEUE_PER_WORKER) {
        const end = Math.min(to, (Math.floor(at / per) + 1) * per);
        const reply = this.ask({ type: 'run', from: at, to: end }).catch(() => undefined);
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
        const run = r.run;
        const range = { from: head.from, to: head.to };
        yield { ...run, kind: 'run', expand: () => read(range.from, range.to) } satisfies VerifiedRun;
      } else {
        yield await read(head.from, head.to);
      }
    }
  }

  async close(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.thread.terminate()));
  }
}
