/**
 * Starts a worker thread on one of evident's own modules, named beside the caller's module.
 * The built package starts the `.js` file. Run from the TypeScript sources (tests, the
 * benchmarks), a worker thread does not inherit the main thread's loader hooks: it registers
 * tsx's own before loading the `.ts` file.
 */
import { Worker, type WorkerOptions } from 'node:worker_threads';

export function startModuleWorker(
  name: string,
  caller: string,
  options: Omit<WorkerOptions, 'eval'> = {},
): Worker {
  const fromSource = caller.endsWith('.ts');
  const url = new URL(`./${name}${fromSource ? '.ts' : '.js'}`, caller);
  if (!fromSource) return new Worker(url, options);
  // tsx as this module resolves it: an eval'd worker resolves bare names from the working directory.
  const tsx = import.meta.resolve('tsx/esm/api');
  const boot = `import(${JSON.stringify(tsx)}).then((t) => { t.register(); return import(${JSON.stringify(url.href)}); })`;
  return new Worker(boot, { ...options, eval: true });
}
