/** Runs test/ledger/fixtures/appender.ts as a real child process and reads its receipts. */
import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { Receipt } from '../../src/ledger/integrate.ts';

const APPENDER = fileURLToPath(new URL('./fixtures/appender.ts', import.meta.url));

export interface Appender {
  child: ChildProcess;
  receipts: Receipt[];
  /** Resolves with the exit code (or signal) once the process has ended and its output is read. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }>;
  /** Resolves once the ledger is open in the child. */
  ready: Promise<void>;
  /** Tells the child to start appending. */
  go(): void;
  /** Resolves once `n` receipts have been read. */
  receiptsRead(n: number): Promise<void>;
  done: boolean;
}

export function startAppender(
  db: string,
  key: string,
  prefix: string,
  count: number | 'forever',
  batch: number,
  /** The child's working directory; tsx is found from here whatever it is, as its threads must. */
  cwd?: string,
): Appender {
  const child = spawn(
    process.execPath,
    ['--import', import.meta.resolve('tsx'), APPENDER, db, key, prefix, String(count), String(batch)],
    {
      stdio: ['pipe', 'pipe', 'pipe'],
      ...(cwd ? { cwd } : {}),
    },
  );
  const a: Appender = {
    child,
    receipts: [],
    done: false,
    exited: undefined as never,
    receiptsRead: undefined as never,
    ready: undefined as never,
    go: () => child.stdin!.end('go\n'),
  };
  let onReady: () => void = () => {};
  a.ready = new Promise((resolve) => {
    onReady = resolve;
  });
  const waiters: { n: number; resolve: () => void }[] = [];
  let buffer = '';
  let stderr = '';
  child.stdout!.setEncoding('utf8');
  child.stderr!.setEncoding('utf8');
  child.stderr!.on('data', (d: string) => {
    stderr += d;
  });
  child.stdout!.on('data', (d: string) => {
    buffer += d;
    for (let nl = buffer.indexOf('\n'); nl >= 0; nl = buffer.indexOf('\n')) {
      const line = buffer.slice(0, nl);
      buffer = buffer.slice(nl + 1);
      const msg = JSON.parse(line) as Receipt & { ready?: true; done?: true };
      if (msg.done) a.done = true;
      else if (msg.ready) onReady();
      else a.receipts.push(msg);
    }
    for (let i = waiters.length - 1; i >= 0; i--) {
      if (a.receipts.length >= waiters[i]!.n) waiters.splice(i, 1)[0]!.resolve();
    }
  });
  a.exited = new Promise((resolve) => {
    child.on('close', (code, signal) => {
      // A line cut short by a kill was never acknowledged: it is dropped with the buffer.
      for (const w of waiters.splice(0)) w.resolve();
      onReady();
      resolve({ code, signal, stderr });
    });
  });
  a.receiptsRead = (n) =>
    a.receipts.length >= n ? Promise.resolve() : new Promise((resolve) => waiters.push({ n, resolve }));
  return a;
}
