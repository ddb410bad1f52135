/**
 * Appends in a thread of their own. better-sqlite3 runs every statement on the calling thread,
 * so a busy store spent half of its main thread writing rows and committing them: the events
 * of the next batch (parsing, validation, sealing) waited meanwhile. The store hands each
 * sealed batch (Store.appendAt) to this worker instead, and the main thread goes on to seal the
 * next one while the worker writes and commits this one (./append-worker.ts).
 *
 * The worker writes the batches in the order they came, each in its own transaction under
 * SQLite's write lock, and only if the head is still the one the batch was sealed on: a batch
 * sealed on the head an earlier one would leave is refused when that one was not written.
 * It answers once the commit is durable (synchronous=FULL).
 */
import type { Worker } from 'node:worker_threads';
import { ErrorCode, EvidentError } from '../../core/errors.ts';
import type { LogHead } from '../types.ts';
import { startModuleWorker } from '../worker-thread.ts';
import type { AppendRows } from './append-at.ts';
import { storeError } from './errors.ts';

export interface AppendWorkerData {
  /** The database file, absolute. */
  path: string;
  busyTimeoutMs: number;
  autocheckpointPages: number;
}

export interface AppendRequest {
  seq: number;
  logId: number;
  expected: LogHead;
  rows: AppendRows;
}

export type AppendReply =
  | { seq: number; written: boolean }
  | { seq: number; error: { code: string; message: string } };

export class AppendWorker {
  private readonly worker: Worker;
  private readonly exited: Promise<void>;
  private readonly waiting = new Map<
    number,
    { resolve: (written: boolean) => void; reject: (e: Error) => void }
  >();
  private seq = 0;
  /** Batches the thread wrote. */
  written = 0;
  /** Why the thread failed or ended: every append handed to it after that fails the same way. */
  private failure: EvidentError | undefined;

  constructor(data: AppendWorkerData) {
    this.worker = startModuleWorker('append-worker', import.meta.url, { workerData: data });
    // An idle worker keeps no process alive; one with appends under way does (see append).
    this.worker.unref();
    this.exited = new Promise<void>((resolve) => this.worker.once('exit', () => resolve()));
    this.worker.on('message', (r: AppendReply) => {
      const w = this.waiting.get(r.seq);
      if (!w) return;
      this.waiting.delete(r.seq);
      if (this.waiting.size === 0) this.worker.unref();
      if ('written' in r) {
        if (r.written) this.written++;
        w.resolve(r.written);
      } else w.reject(storeError(Object.assign(new Error(r.error.message), { code: r.error.code })));
    });
    this.worker.on('error', (e) => this.fail(`the append thread failed: ${e.message}`));
    this.worker.once('exit', (code) => this.fail(`the append thread ended (exit code ${code})`));
  }

  /** Resolves once the batch is durable (true) or refused with nothing written (false). */
  append(logId: number, expected: LogHead, rows: AppendRows): Promise<boolean> {
    if (this.failure) return Promise.reject(this.failure);
    const seq = ++this.seq;
    const done = new Promise<boolean>((resolve, reject) => this.waiting.set(seq, { resolve, reject }));
    if (this.waiting.size === 1) this.worker.ref();
    this.worker.postMessage({ seq, logId, expected, rows } satisfies AppendRequest);
    return done;
  }

  /** Set once the thread failed or ended: the store starts another for the next append. */
  get failed(): boolean {
    return this.failure !== undefined;
  }

  /** Ends the thread once the appends handed to it are answered, and closes its connection. */
  async close(): Promise<void> {
    if (!this.failure) {
      this.worker.ref();
      this.worker.postMessage('close');
    }
    await this.exited;
  }

  /**
   * The appends it held fail (STORE_FAILED): none was acknowledged. One may have committed just
   * before the thread ended, as after a crash; its caller's retry with the same id finds it.
   */
  private fail(message: string): void {
    this.failure ??= new EvidentError(ErrorCode.STORE_FAILED, message, { cause: 'worker' });
    for (const w of this.waiting.values()) w.reject(this.failure);
    this.waiting.clear();
  }
}
