/**
 * Retry delays: exponential from `baseMs`, capped at `maxMs`, with "equal jitter" (half fixed,
 * half random) so that many clients that failed together do not return together. A server's
 * Retry-After is a floor: the client never comes back earlier than it was told to.
 */
export function retryDelay(attempt: number, baseMs: number, maxMs: number, retryAfterMs?: number): number {
  const exp = Math.min(maxMs, baseMs * 2 ** Math.min(attempt, 30));
  const jittered = exp / 2 + Math.random() * (exp / 2);
  if (retryAfterMs === undefined) return Math.round(jittered);
  // A little jitter above the floor too, for the same reason.
  return Math.round(retryAfterMs + Math.random() * Math.min(retryAfterMs * 0.1 + 50, 1000));
}
