/** A real `evident serve` process for tests: started with chosen flags and Node options, stopped by its pid. */
import { type ChildProcess, spawn } from 'node:child_process';
import { BIN } from '../cli/helpers.ts';

export interface ServeProcess {
  child: ChildProcess;
  url: string;
  output: () => string;
  exit: Promise<number | null>;
  stop(): Promise<void>;
}

export function startServeProcess(
  cwd: string,
  args: string[],
  o: { nodeOptions?: string[]; env?: Record<string, string> } = {},
): Promise<ServeProcess> {
  const env: NodeJS.ProcessEnv = { ...process.env, ...o.env };
  for (const k of Object.keys(env)) if (k.startsWith('EVIDENT_') && !o.env?.[k]) delete env[k];
  const child = spawn(process.execPath, [...(o.nodeOptions ?? []), BIN, 'serve', ...args], {
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
    const timer = setTimeout(() => reject(new Error(`serve did not start: ${out}`)), 15_000);
    const onData = () => {
      const m = /Server listening at (http:\/\/127\.0\.0\.1:\d+)/.exec(out);
      if (!m) return;
      clearTimeout(timer);
      child.stdout!.off('data', onData);
      resolve({
        child,
        url: m[1]!,
        output: () => out,
        exit,
        stop: async () => {
          if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
          await exit;
        },
      });
    };
    child.stdout!.on('data', onData);
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`serve exited ${code}: ${out}`));
    });
  });
}
