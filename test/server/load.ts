/**
 * The ingest workload of the many-instances and fault tests, and the checks after it.
 *
 * `Load`: `concurrency` clients POST `total` events in batches (sizes drawn from `batch`,
 * seeded), each batch to one log (round-robin over `logs`) and each attempt to the next server
 * (round-robin over `urls`). Every event carries a client-made UUIDv7 id and its own timestamp,
 * so a retry is the same request: it is answered with the original receipts. A 503 or 429 is
 * retried after its Retry-After; a connection error after a short pause; both on the next
 * server. A 500 is recorded and retried (the tests then assert there was none); any other
 * status is recorded and the batch abandoned. Every answer is kept in a timeline.
 *
 * `checkLogs`: reads every log back from the database and checks what was acknowledged.
 */
import { uuidv7 } from '../../src/core/event/uuid.ts';
import { openStore } from '../../src/store/open.ts';

export interface Ack {
  log: string;
  index: number;
  hash: string;
}

interface Receipt {
  id: string;
  index: number;
  hash: string;
  duplicate?: boolean;
}

interface Batch {
  n: number;
  log: string;
  /** Made on the first attempt, sent unchanged on every retry. */
  events?: Record<string, unknown>[];
  /** Attempts so far. */
  attempts: number;
  acknowledged?: boolean;
}

export interface Answer {
  /** ms since the load started, when the answer (or the failure) arrived */
  t: number;
  /** ms since the load started, when the request was sent */
  sent: number;
  server: number;
  /** 0: no HTTP answer (connection refused, reset, ...). */
  status: number;
  code?: string;
  retryAfter?: string | null;
  /** For status 0: the cause. */
  cause?: string;
}

export interface LoadOptions {
  urls: readonly string[];
  key: string;
  logs: readonly string[];
  total: number;
  concurrency: number;
  /** Smallest and largest batch (default 50..200). */
  batch?: readonly [number, number];
  seed?: number;
  /** Give up on batches not acknowledged by then (default 240 s). */
  deadlineMs?: number;
}

/** mulberry32: a small seeded PRNG, so that a run's batch plan can be reproduced. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function causeOf(e: unknown): string {
  const c = (e as { cause?: { code?: string; message?: string } }).cause;
  return c?.code ?? c?.message ?? (e as Error).message ?? String(e);
}

export class Load {
  readonly acked = new Map<string, Ack>();
  /** Events planned per log. */
  readonly planned: Record<string, number> = {};
  readonly answers: Answer[] = [];
  /** Receipts that disagree with an earlier receipt for the same id, or with the batch sent. */
  readonly receiptFaults: string[] = [];
  /** Answers other than 201, 503, 429, 500 and connection errors: the batch was abandoned. */
  readonly unexpected: string[] = [];
  /** Batches never acknowledged (abandoned, or past the deadline). */
  readonly lost: { log: string; n: number }[] = [];
  /** Receipts answered `duplicate: true` (a retry of something already committed). */
  duplicates = 0;
  /** Batches that needed more than one attempt. */
  retriedBatches = 0;
  started = 0;
  elapsedMs = 0;
  private readonly batches: Batch[] = [];
  private next = 0;
  private rr = 0;
  private stopped = false;
  private readonly waiters: { n: number; resolve: () => void }[] = [];
  private readonly rand: () => number;
  private readonly headers: Record<string, string>;

  constructor(readonly o: LoadOptions) {
    const [min, max] = o.batch ?? [50, 200];
    this.rand = prng(o.seed ?? 1);
    let left = o.total;
    while (left > 0) {
      const n = Math.min(left, min + Math.floor(this.rand() * (max - min + 1)));
      const log = o.logs[this.batches.length % o.logs.length]!;
      this.batches.push({ n, log, attempts: 0 });
      this.planned[log] = (this.planned[log] ?? 0) + n;
      left -= n;
    }
    this.headers = { authorization: `Bearer ${o.key}`, 'content-type': 'application/json' };
  }

  /**
   * Starts no new batch: the batches under way are still sent (and retried) until answered,
   * and `planned` from now on counts only the batches started.
   */
  finish(): void {
    for (const b of this.batches.slice(this.next)) this.planned[b.log]! -= b.n;
    this.next = this.batches.length;
  }

  /** Ends the load: no new attempt is made (for a test that failed half way). */
  stop(): void {
    this.stopped = true;
  }

  get ackedCount(): number {
    return this.acked.size;
  }

  /** Resolves once at least `n` events are acknowledged (or the load is over). */
  reached(n: number): Promise<void> {
    if (this.acked.size >= n || this.elapsedMs > 0) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push({ n, resolve }));
  }

  async run(): Promise<void> {
    this.started = Date.now();
    const deadline = this.started + (this.o.deadlineMs ?? 240_000);
    await Promise.all(Array.from({ length: this.o.concurrency }, (_, c) => this.client(c, deadline)));
    this.elapsedMs = Date.now() - this.started;
    for (const w of this.waiters.splice(0)) w.resolve();
  }

  private async client(c: number, deadline: number): Promise<void> {
    for (;;) {
      const b = this.next++;
      const batch = this.batches[b];
      if (!batch || this.stopped) return;
      batch.events = Array.from({ length: batch.n }, (_, i) => ({
        id: uuidv7(),
        timestamp: new Date().toISOString(),
        actor_id: `client-${c}`,
        actor_type: 'service',
        action: 'record.update',
        resource_type: 'record',
        resource_id: `r-${b}-${i}`,
        result: i % 10 === 0 ? 'failure' : 'success',
        ip_address: `192.0.2.${c + 1}`,
        new_values: { batch: b, item: i },
      }));
      await this.send(batch, deadline);
    }
  }

  private async send(batch: Batch, deadline: number): Promise<void> {
    const events = batch.events!;
    const body = JSON.stringify(events);
    for (;;) {
      if (Date.now() > deadline || this.stopped) {
        this.lost.push({ log: batch.log, n: batch.n });
        return;
      }
      batch.attempts++;
      const server = this.rr++ % this.o.urls.length;
      const url = `${this.o.urls[server]}/v1/logs/${batch.log}/events`;
      let status: number;
      let text: string;
      let retryAfter: string | null;
      const sent = Date.now() - this.started;
      try {
        const res = await fetch(url, {
          method: 'POST',
          headers: this.headers,
          body,
          signal: AbortSignal.timeout(60_000),
        });
        status = res.status;
        retryAfter = res.headers.get('retry-after');
        text = await res.text();
      } catch (e) {
        this.answers.push({ t: Date.now() - this.started, sent, server, status: 0, cause: causeOf(e) });
        await sleep(20 + this.rand() * 80);
        continue;
      }
      let json: { code?: string; receipts?: Receipt[] } = {};
      try {
        json = JSON.parse(text);
      } catch {
        // recorded below with the raw text
      }
      this.answers.push({
        t: Date.now() - this.started,
        sent,
        server,
        status,
        ...(json.code ? { code: json.code } : {}),
        ...(status !== 201 ? { retryAfter } : {}),
      });
      if (status === 201) {
        this.accept(batch, json.receipts ?? []);
        return;
      }
      if (status === 503 || status === 429) {
        const seconds = Number(retryAfter);
        await sleep((Number.isFinite(seconds) && seconds > 0 ? seconds : 1) * 1000);
        continue;
      }
      if (status === 500) {
        await sleep(500);
        continue;
      }
      this.unexpected.push(`${status} from server ${server} for ${batch.log}: ${text.slice(0, 500)}`);
      this.lost.push({ log: batch.log, n: batch.n });
      return;
    }
  }

  private accept(batch: Batch, receipts: Receipt[]): void {
    const events = batch.events!;
    batch.acknowledged = true;
    if (batch.attempts > 1) this.retriedBatches++;
    if (receipts.length !== events.length) {
      this.receiptFaults.push(`${receipts.length} receipts for ${events.length} events`);
    }
    for (const [i, r] of receipts.entries()) {
      if (r.id !== events[i]?.['id'])
        this.receiptFaults.push(`receipt ${i} names ${r.id}, sent ${events[i]?.['id']}`);
      if (r.duplicate) this.duplicates++;
      const prior = this.acked.get(r.id);
      if (prior && (prior.index !== r.index || prior.hash !== r.hash || prior.log !== batch.log)) {
        this.receiptFaults.push(`${r.id} acknowledged twice, differently: ${JSON.stringify([prior, r])}`);
      }
      this.acked.set(r.id, { log: batch.log, index: r.index, hash: r.hash });
    }
    const n = this.acked.size;
    for (let i = this.waiters.length - 1; i >= 0; i--) {
      if (n >= this.waiters[i]!.n) this.waiters.splice(i, 1)[0]!.resolve();
    }
  }

  /**
   * Sends `count` acknowledged batches again, spread over the run, each to another server than
   * the one before: each must be answered 201 with every receipt `duplicate: true` and equal to
   * the original. Returns the faults found.
   */
  async replay(count: number): Promise<string[]> {
    const done = this.batches.filter((b) => b.acknowledged);
    const step = Math.max(1, Math.floor(done.length / count));
    const faults: string[] = [];
    for (let i = 0; i * step < done.length && i < count; i++) {
      const batch = done[i * step]!;
      const url = `${this.o.urls[i % this.o.urls.length]}/v1/logs/${batch.log}/events`;
      const res = await fetch(url, {
        method: 'POST',
        headers: this.headers,
        body: JSON.stringify(batch.events),
      });
      const body = (await res.json()) as { receipts?: Receipt[] };
      if (res.status !== 201) {
        faults.push(`replay ${i}: ${res.status} ${JSON.stringify(body)}`);
        continue;
      }
      for (const r of body.receipts ?? []) {
        const a = this.acked.get(r.id);
        if (!r.duplicate || !a || a.index !== r.index || a.hash !== r.hash) {
          faults.push(`replay ${i}: ${JSON.stringify(r)} for ${JSON.stringify(a)}`);
        }
      }
    }
    return faults;
  }

  /** Answers by status (0: connection error) and error code, e.g. {"201": 300, "503 STORE_BUSY": 12}. */
  summary(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const a of this.answers) {
      const k = a.status === 0 ? `net ${a.cause}` : a.code ? `${a.status} ${a.code}` : String(a.status);
      out[k] = (out[k] ?? 0) + 1;
    }
    return out;
  }
}

export interface LogCheck {
  log: string;
  size: number;
  /** Entries the ledger wrote itself (evident.*, such as API key creation): not the load's. */
  own: number;
  distinctIds: number;
  /** Every fault found: a gap or repeat in the indexes, a duplicate id, a receipt not honoured. */
  faults: string[];
}

/**
 * Reads every log back (the store opened read-only, as `evident verify` does) and checks: the
 * indexes are 0..size-1, each once (no fork); no id twice; the size is the number of events
 * planned for the log (nothing lost, nothing duplicated); every acknowledged receipt's index
 * holds that event, with that hash.
 */
export async function checkLogs(db: string, load: Load): Promise<LogCheck[]> {
  const store = await openStore(db, { readonly: true });
  const byLog = new Map<string, [string, Ack][]>();
  for (const [id, a] of load.acked) {
    const l = byLog.get(a.log) ?? [];
    l.push([id, a]);
    byLog.set(a.log, l);
  }
  const out: LogCheck[] = [];
  try {
    for (const log of load.o.logs) {
      const faults: string[] = [];
      const info = await store.getLog(log);
      if (!info) {
        out.push({ log, size: 0, own: 0, distinctIds: 0, faults: [`no log ${log}`] });
        continue;
      }
      const head = await store.head(info.id);
      const ids: string[] = [];
      const hashes: string[] = [];
      let own = 0; // the ledger's own events (evident.*: API key creation) are not the load's
      for (let from = 0; ; ) {
        const page = await store.entries(info.id, from, Number.MAX_SAFE_INTEGER, 10_000);
        if (page.length === 0) break;
        for (const e of page) {
          if (e.index !== ids.length && faults.length < 20) {
            faults.push(`index ${e.index} where ${ids.length} was expected`);
          }
          ids.push(e.id);
          hashes.push(e.hash);
          if (e.action.startsWith('evident.')) own++;
        }
        from = page.at(-1)!.index + 1;
      }
      if (head.size !== ids.length) faults.push(`head size ${head.size}, ${ids.length} entries`);
      const distinct = new Set(ids).size;
      if (distinct !== ids.length) faults.push(`${ids.length - distinct} ids stored twice`);
      const planned = load.planned[log] ?? 0;
      if (ids.length - own !== planned) {
        faults.push(`${ids.length - own} entries (and ${own} of evident's own), ${planned} events sent`);
      }
      let bad = 0;
      for (const [id, a] of byLog.get(log) ?? []) {
        if (ids[a.index] !== id || hashes[a.index] !== a.hash) {
          if (bad++ < 10)
            faults.push(`receipt ${id} at ${a.index}: found ${ids[a.index]} ${hashes[a.index]}`);
        }
      }
      if (bad > 10) faults.push(`... ${bad} receipts not honoured in all`);
      out.push({ log, size: ids.length, own, distinctIds: distinct, faults });
    }
  } finally {
    await store.close();
  }
  return out;
}

/** Seconds with one decimal, for the diagnostics. */
export const secs = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
