/**
 * WAL checkpoints off the event loop. SQLite copies the WAL back into the database (a
 * checkpoint) inside whichever COMMIT takes the WAL past `wal_autocheckpoint` pages: the copy and
 * its two fsyncs then run on the writer's thread, and with better-sqlite3 that is the event
 * loop, so every append and request waits for them. Once a store pipelines its commits (a
 * busy writer), this runs the checkpoints instead on a connection of its own in a worker thread
 * (PASSIVE: it never blocks the writer, which keeps appending to the WAL meanwhile), and the
 * writer's own automatic checkpoint moves to a far threshold, a back-stop should the worker
 * fall behind or fail.
 *
 * Durability is SQLite's own: the checkpointing connection syncs the WAL before it copies
 * frames and the database after, and the writer reuses the WAL from its start only once every
 * frame is in the synced database.
 */
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';

/** Pages in the WAL past which the writer checkpoints inline: SQLite's default. */
export const INLINE_CHECKPOINT_PAGES = 1000;
/** The writer's threshold while the worker checkpoints: a back-stop (256 MiB of 4 KiB pages). */
export const BACKSTOP_CHECKPOINT_PAGES = 65_536;
/** Least time between two background checkpoints: each one syncs the database file. */
export const CHECKPOINT_INTERVAL_MS = 100;
/**
 * WAL frames past which a checkpoint ends with a RESTART (32 MiB of 4 KiB pages). A PASSIVE
 * checkpoint never catches up with a writer that keeps committing, and SQLite reuses the WAL
 * from its start only when a write begins with every frame copied back: RESTART takes the write
 * lock between two commits (the writer waits on timers, the event loop runs on), copies the
 * few frames left and lets the next write start the WAL over, so it stays bounded.
 */
export const RESTART_FRAMES = 8192;
/** How long a RESTART waits for the writer's lock before giving up until the next checkpoint. */
const RESTART_WAIT_MS = 1000;

/** What the worker answers for each checkpoint: done, or why it failed. */
type Reply = { ok: true } | { ok: false; message: string };

export interface CheckpointStats {
  /** Background checkpoints finished. */
  runs: number;
  /** Set once the worker failed: the writer checkpoints inline again. */
  failed?: string;
}

/**
 * Plain JavaScript, so the same code runs from the built package and from the sources. The
 * driver is the main thread's own (its resolved path), on a connection of the worker's own.
 */
const WORKER = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.driver);
let db;
parentPort.on('message', (m) => {
  if (m === 'close') {
    try { db?.close(); } finally { process.exit(0); }
  }
  try {
    db ??= new Database(workerData.path, { fileMustExist: true });
    const r = db.pragma('wal_checkpoint(PASSIVE)')[0];
    if (r.log >= workerData.restartFrames) {
      db.pragma('busy_timeout = ' + workerData.restartWaitMs);
      try { db.pragma('wal_checkpoint(RESTART)'); } finally { db.pragma('busy_timeout = 0'); }
    }
    parentPort.postMessage({ ok: true });
  } catch (e) {
    parentPort.postMessage({ ok: false, message: String(e && e.message ? e.message : e) });
  }
});
`;

export class WalCheckpointer {
  private worker: Worker | undefined;
  private exit: Promise<void> | undefined;
  private running = false;
  private closing = false;
  private lastStart = Number.NEGATIVE_INFINITY;
  readonly stats: CheckpointStats = { runs: 0 };

  /**
   * @param path the database file
   * @param inline sets the writer's own automatic checkpoint threshold, in pages
   */
  constructor(
    private readonly path: string,
    private readonly inline: (pages: number) => void,
  ) {}

  /** After a commit: starts a checkpoint, unless one runs or the last began under the interval ago. */
  nudge(): void {
    if (this.running || this.closing || this.stats.failed !== undefined) return;
    const now = performance.now();
    if (now - this.lastStart < CHECKPOINT_INTERVAL_MS) return;
    this.lastStart = now;
    this.running = true;
    this.started().postMessage('checkpoint');
  }

  private started(): Worker {
    if (this.worker) return this.worker;
    // The driver the store itself loaded (an optional peer: resolved only once it is in use).
    const driver = createRequire(import.meta.url).resolve('better-sqlite3');
    const w = new Worker(WORKER, {
      eval: true,
      workerData: { driver, path: this.path, restartFrames: RESTART_FRAMES, restartWaitMs: RESTART_WAIT_MS },
    });
    w.unref();
    this.exit = new Promise<void>((resolve) => w.once('exit', () => resolve()));
    w.on('message', (r: Reply) => {
      this.running = false;
      if (!r.ok) return this.fail(r.message);
      this.stats.runs++;
    });
    w.on('error', (e) => this.fail(e.message));
    this.worker = w;
    this.inline(BACKSTOP_CHECKPOINT_PAGES);
    return w;
  }

  /** The worker cannot checkpoint: the writer goes back to doing it inline, as SQLite does. */
  private fail(message: string): void {
    this.running = false;
    if (this.stats.failed !== undefined || this.closing) return;
    this.stats.failed = message;
    this.inline(INLINE_CHECKPOINT_PAGES);
    this.worker?.postMessage('close');
  }

  /** Stops the worker once the checkpoint under way (if any) ends, and closes its connection. */
  close(): Promise<void> {
    this.closing = true;
    // Held open until the worker has closed its connection, or the process could end first.
    this.worker?.ref();
    this.worker?.postMessage('close');
    return this.exit ?? Promise.resolve();
  }
}
