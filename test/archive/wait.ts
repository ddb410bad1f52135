/** Waiting on a condition in the archive tests that drive a server's schedules. */
/** Polls `cond` every 50 ms until it holds; throws after `ms`. */
export async function waitFor(cond: () => Promise<boolean>, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await cond()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error('timed out');
}
