/**
 * A real `evident serve` or `evident witness` process for tests: started with chosen flags and
 * Node options, ready once it logs the address it listens at, stopped by its pid; and until(),
 * which polls such a process until it answers as awaited.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { BIN } from '../cli/helpers.ts';

export interface ServeProcess {
  child: ChildProcess;
  url: string;
  output: () => string;
  exit: Promise<number | null>;
  /** Sends `signal` (SIGTERM unless told) if it still runs, and waits for the exit. */
  stop(signal?: NodeJS.Signals): Promise<void>;
}

interface ProcessOptions {
  nodeOptions?: string[];
  env?: Record<string, string>;
}

export function startServeProcess(
  cwd: string,
  args: string[],
  o: ProcessOptions = {},
): Promise<ServeProcess> {
  return startProcess(cwd, ['serve', ...args], /Server listening at (https?:\/\/127\.0\.0\.1:\d+)/, o);
}

/** `evident witness` with these flags (--config and the others: docs/witness.md). */
export function startWitnessProcess(
  cwd: string,
  args: string[],
  o: ProcessOptions = {},
): Promise<ServeProcess> {
  return startProcess(cwd, ['witness', ...args], /witness listening at (http:\/\/127\.0\.0\.1:\d+)/, o);
}

function startProcess(cwd: string, args: string[], ready: RegExp, o: ProcessOptions): Promise<ServeProcess> {
  const env: NodeJS.ProcessEnv = { ...process.env, ...o.env };
  for (const k of Object.keys(env)) if (k.startsWith('EVIDENT_') && !o.env?.[k]) delete env[k];
  const child = spawn(process.execPath, [...(o.nodeOptions ?? []), BIN, ...args], {
    cwd,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.on('data', (d) => {
    out += d;
  });
  child.stderr!.on('data', (d) => {
    out += d;
  });
  const exit = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${args[0]} did not start: ${out}`)), 15_000);
    const onData = () => {
      const m = ready.exec(out);
      if (!m) return;
      clearTimeout(timer);
      child.stdout!.off('data', onData);
      resolve({
        child,
        url: m[1]!,
        output: () => out,
        exit,
        stop: async (signal: NodeJS.Signals = 'SIGTERM') => {
          if (child.exitCode === null && child.signalCode === null) child.kill(signal);
          await exit;
        },
      });
    };
    child.stdout!.on('data', onData);
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${args[0]} exited ${code}: ${out}`));
    });
  });
}

/** Polls `fn` every 100 ms until it gives a value (errors count as none); fails after `ms`. */
export async function until<T>(what: string, fn: () => Promise<T | undefined>, ms = 60_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await fn().catch(() => undefined);
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
