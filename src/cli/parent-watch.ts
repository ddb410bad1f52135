/**
 * `npx evident serve &` followed by `kill $!` signals npm, not this process: npm exits without
 * passing the signal on, and the server would run on, orphaned, holding its port. When npm
 * started this process (it sets npm_execpath), the process watches its parent and is told once
 * the parent is gone, so that it can shut down as on SIGTERM. A server started directly (a
 * service manager, `nohup evident serve &`) is not watched: outliving its shell is what it was
 * asked to do.
 */
export function watchNpmParent(
  env: Readonly<Record<string, string | undefined>>,
  gone: () => void,
): () => void {
  if (!env['npm_execpath']) return () => {};
  const parent = process.ppid;
  const timer = setInterval(() => {
    // An orphan is adopted by init or a subreaper: its ppid changes.
    if (process.ppid !== parent) {
      clearInterval(timer);
      gone();
    }
  }, 500);
  timer.unref();
  return () => clearInterval(timer);
}
