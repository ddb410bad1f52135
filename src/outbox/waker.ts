/**
 * The relay's sleep: a timer that a notification (or a drain request) cuts short, and that a
 * stop always ends. A wake while nobody sleeps is remembered, so a notification that arrives
 * during a pass starts the next pass at once instead of after a poll interval.
 */
export class Waker {
  private pending = false;
  private stopped = false;
  /** Ends the current sleep; `wakeable` says whether wake() may end it. */
  private sleeper: { end: () => void; wakeable: boolean } | undefined;

  /** Sleeps up to `ms`; when `wakeable`, a wake() ends it early (a backoff is not cut short). */
  sleep(ms: number, wakeable: boolean): Promise<void> {
    if (this.stopped) return Promise.resolve();
    if (wakeable && this.pending) {
      this.pending = false;
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      const end = () => {
        clearTimeout(timer);
        this.sleeper = undefined;
        resolve();
      };
      const timer = setTimeout(end, ms);
      this.sleeper = { end, wakeable };
    });
  }

  wake(): void {
    if (this.sleeper?.wakeable) this.sleeper.end();
    else this.pending = true;
  }

  stop(): void {
    this.stopped = true;
    this.sleeper?.end();
  }
}
