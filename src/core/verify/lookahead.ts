import type { Entry } from '../event/entry.ts';

/** Iterates entries one at a time across pages, with a look at the next one. */
export class Lookahead {
  private readonly it: AsyncIterator<readonly Entry[]>;
  private page: readonly Entry[] = [];
  private at = 0;
  private done = false;
  private buffered: Entry | undefined;

  constructor(source: AsyncIterable<readonly Entry[]>) {
    this.it = source[Symbol.asyncIterator]();
  }

  async next(): Promise<Entry | undefined> {
    const e = await this.fill();
    this.buffered = undefined;
    if (e) this.at++;
    // Keep the following one ready so that peek() is synchronous.
    this.buffered = await this.fill();
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

  private async fill(): Promise<Entry | undefined> {
    while (this.at >= this.page.length) {
      if (this.done) return undefined;
      const r = await this.it.next();
      if (r.done) {
        this.done = true;
        return undefined;
      }
      this.page = r.value;
      this.at = 0;
    }
    return this.page[this.at];
  }
}
