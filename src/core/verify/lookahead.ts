import type { Entry } from '../event/entry.ts';
import { isRun, type VerifiedRun } from './runs.ts';

/** What the source yields: pages of entries, or runs already checked elsewhere (./runs.ts). */
export type EntrySource = AsyncIterable<readonly Entry[] | VerifiedRun>;

/**
 * Iterates entries one at a time across pages, with a look at the next one. A run is handed
 * out whole; the look ahead from the entry before it sees the run's first entry. A run that
 * `accept` refuses when its turn comes is expanded into its entries, handed out one by one.
 */
export class Lookahead {
  private readonly it: AsyncIterator<readonly Entry[] | VerifiedRun>;
  private page: readonly Entry[] = [];
  private at = 0;
  private run: VerifiedRun | undefined;
  private done = false;
  private buffered: Entry | undefined;

  constructor(
    source: EntrySource,
    private readonly accept: (run: VerifiedRun) => boolean = () => true,
  ) {
    this.it = source[Symbol.asyncIterator]();
  }

  async next(): Promise<Entry | VerifiedRun | undefined> {
    let e = await this.fill();
    while (e !== undefined && isRun(e) && !this.accept(e)) {
      this.run = undefined;
      this.page = await e.expand();
      this.at = 0;
      e = await this.fill();
    }
    this.buffered = undefined;
    if (e === undefined) return undefined;
    if (isRun(e)) this.run = undefined;
    else this.at++;
    // Keep the following one ready so that peek() is synchronous.
    const after = await this.fill();
    this.buffered = after === undefined || !isRun(after) ? after : after.first;
    return e;
  }

  /**
   * next() without awaiting, when the page in hand holds the next entry and the one after it
   * (what next() would return and leave for peek()); undefined otherwise: then call next().
   */
  nextInPage(): Entry | undefined {
    const e = this.page[this.at];
    if (e === undefined || this.at + 1 >= this.page.length) return undefined;
    this.at++;
    this.buffered = this.page[this.at];
    return e;
  }

  peek(): Entry | undefined {
    return this.buffered;
  }

  private async fill(): Promise<Entry | VerifiedRun | undefined> {
    while (this.at >= this.page.length) {
      if (this.run) return this.run;
      if (this.done) return undefined;
      const r = await this.it.next();
      if (r.done) {
        this.done = true;
        return undefined;
      }
      if (isRun(r.value)) {
        this.page = [];
        this.at = 0;
        this.run = r.value;
        return r.value;
      }
      this.page = r.value;
      this.at = 0;
    }
    return this.page[this.at];
  }
}
