/**
 * The client's durable spool: append-only segment files in one directory, written by group
 * commit (every record() waiting at the moment shares one write and one fdatasync), read back in
 * order by the sender, and released only after the server's receipt: the acknowledged position
 * (ACKED) is replaced atomically, then whole segments before it are deleted.
 *
 * MUST: append() resolves only once its record is written and fdatasynced; it rejects, having
 * kept nothing that will be delivered, with SPOOL_FULL or SPOOL_FAILED.
 *
 * Write-ahead intents (fail-closed requests): `append(..., { intent: true })` writes a record
 * flagged as an intent and held: not delivered while its request runs. Completing it is one more
 * record, the final event with the same id (`retires`): once that is fsynced the intent is
 * retired (never delivered, here or at replay). `release` lets a held intent go out as it is.
 * After a crash, replay delivers every intent that has no final record.
 */
import { type FileHandle, mkdir, open, realpath, stat, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { ErrorCode, EvidentError } from '../core/errors.ts';
import { fsyncDir, replaceFile, spoolFailed } from './files.ts';
import { encodeRecord, HEADER_BYTES, SEGMENT_MAGIC } from './frame.ts';
import { lockSpool, type SpoolLock } from './lock.ts';
import type { OnFull } from './options.ts';
import { ACK_FILE, type AckPoint, replaySpool, segmentName } from './replay.ts';
import { RoomGate } from './room.ts';

export interface SpoolRecord {
  /** Position in this process's delivery order. */
  seq: number;
  segment: number;
  start: number;
  end: number;
  id: string;
  payload: Buffer;
  done: boolean;
  /** A write-ahead intent still held by its request: not delivered until released. */
  held: boolean;
}

export interface AppendOptions {
  /** Write a held write-ahead intent. */
  intent?: boolean;
  /** The intent this record completes: retired once this record is durable. */
  retires?: SpoolRecord;
}

export interface SpoolLimits {
  maxEvents: number;
  maxBytes: number;
  onFull: OnFull;
  blockTimeoutMs: number;
  segmentBytes: number;
  probeIntervalMs: number;
}

interface PendingWrite {
  frame: Buffer;
  id: string;
  intent: boolean;
  retires: SpoolRecord | undefined;
  resolve: (r: SpoolRecord) => void;
  reject: (e: EvidentError) => void;
}

const PROBE_FILE = 'PROBE';

export class Spool {
  /** Undelivered records in order; `head` is the first still in the spool. */
  private queue: SpoolRecord[] = [];
  private head = 0;
  private queuedBytes = 0;
  private seq = 0;
  private writes: PendingWrite[] = [];
  private writing: Promise<void> | undefined;
  /** Records of the group being written now. */
  private groupSize = 0;
  private fh: FileHandle | undefined;
  private segment: number;
  private segSize = 0;
  private readonly segments: number[];
  private ack: AckPoint | undefined;
  private broken: EvidentError | undefined;
  private lastWriteOkAt = 0;
  private lastWriteFailed = false;
  private probing: Promise<void> | undefined;
  private closed = false;
  private readonly room: RoomGate;
  /** Called after records are committed (the sender's wake-up). */
  onCommitted: () => void = () => undefined;
  /** Records written by this process. */
  written = 0;
  /** Group commits (one write and one fdatasync each) made by this process. */
  commits = 0;
  readonly replayed: number;
  readonly tornBytes: number;

  private constructor(
    readonly dir: string,
    private readonly dirIno: number,
    private readonly limits: SpoolLimits,
    private readonly lock: SpoolLock,
    replayed: Awaited<ReturnType<typeof replaySpool>>,
  ) {
    for (const r of replayed.records) {
      this.queue.push({
        segment: r.segment,
        start: r.start,
        end: r.end,
        id: r.id,
        payload: r.payload,
        seq: ++this.seq,
        done: r.retired === true,
        held: false,
      });
      this.queuedBytes += r.end - r.start;
    }
    // Intents retired by their final record (replay.ts) at the front leave at once.
    while (this.head < this.queue.length && this.queue[this.head]!.done) {
      const r = this.queue[this.head++]!;
      this.queuedBytes -= r.end - r.start;
    }
    this.ack = replayed.ack;
    this.segment = replayed.nextSegment - 1;
    this.segments = [...new Set(replayed.records.map((r) => r.segment))];
    if (replayed.ack && !this.segments.includes(replayed.ack.segment))
      this.segments.unshift(replayed.ack.segment);
    this.replayed = replayed.records.length;
    this.tornBytes = replayed.tornBytes;
    this.room = new RoomGate(limits, () => ({
      events: this.queue.length - this.head,
      bytes: this.queuedBytes,
    }));
  }

  /** Creates the directory if needed, takes its lock, and replays what is there. */
  static async open(dir: string, limits: SpoolLimits): Promise<Spool> {
    try {
      await mkdir(dir, { recursive: true, mode: 0o700 });
    } catch (e) {
      throw spoolFailed('cannot create the spool directory', dir, e);
    }
    const real = await realpath(dir).catch((e: unknown) => {
      throw spoolFailed('cannot resolve the spool directory', dir, e);
    });
    const info = await stat(real);
    if (!info.isDirectory()) throw spoolFailed('the spool path is not a directory', real);
    const lock = await lockSpool(real);
    try {
      const replayed = await replaySpool(real).catch((e: unknown) => {
        throw e instanceof EvidentError ? e : spoolFailed('cannot read the spool', real, e);
      });
      return new Spool(real, info.ino, limits, lock, replayed);
    } catch (e) {
      await lock.release();
      throw e;
    }
  }

  /** Undelivered events (in the spool or being written). */
  get size(): number {
    return this.queue.length - this.head + this.writes.length + this.groupSize;
  }

  get bytes(): number {
    return this.queuedBytes;
  }

  /** Writes one event; resolves once it is fsynced. */
  async append(payload: Buffer, id: string, o: AppendOptions = {}): Promise<SpoolRecord> {
    if (this.closed) throw new EvidentError(ErrorCode.LEDGER_CLOSED, 'the client is closed');
    if (this.broken) throw this.broken;
    const frame = encodeRecord(payload, o.intent === true);
    await this.room.reserve(frame.length);
    if (this.broken) {
      this.room.cancel(frame.length);
      throw this.broken;
    }
    // The reservation is released once the write is settled: by then the record is in the queue
    // (counted there) or refused.
    return new Promise<SpoolRecord>((resolve, reject) => {
      this.writes.push({ frame, id, intent: o.intent === true, retires: o.retires, resolve, reject });
      this.kick();
    });
  }

  private kick(): void {
    if (this.writing || this.writes.length === 0) return;
    this.writing = this.writeGroups().finally(() => {
      this.writing = undefined;
      this.kick();
    });
  }

  /** Resolves once every append made before the call has been written or refused. */
  async settled(): Promise<void> {
    while (this.writing) await this.writing;
  }

  private async writeGroups(): Promise<void> {
    while (this.writes.length > 0) {
      const group = this.writes.splice(0, this.writes.length);
      this.groupSize = group.length;
      let start = this.segSize;
      try {
        await this.ensureSegment();
        start = this.segSize;
        const buf = group.length === 1 ? group[0]!.frame : Buffer.concat(group.map((g) => g.frame));
        let done = 0;
        while (done < buf.length) {
          const { bytesWritten } = await this.fh!.write(buf, done, buf.length - done, start + done);
          done += bytesWritten;
        }
        await this.fh!.datasync();
        // A removed spool directory still takes writes through the open descriptor: the file
        // has no name any more, and the events would be gone for good at the next restart.
        if ((await this.fh!.stat()).nlink === 0) {
          throw spoolFailed('the spool segment was removed', join(this.dir, segmentName(this.segment)));
        }
      } catch (e) {
        const err = e instanceof EvidentError ? e : spoolFailed('cannot write the spool', this.dir, e);
        await this.abandonSegment(start);
        this.lastWriteFailed = true;
        this.groupSize = 0;
        for (const g of group) {
          this.room.cancel(g.frame.length);
          g.reject(err);
        }
        this.room.wake();
        continue;
      }
      let at = start;
      const records: SpoolRecord[] = [];
      for (const g of group) {
        const end = at + g.frame.length;
        const record: SpoolRecord = {
          seq: ++this.seq,
          segment: this.segment,
          start: at,
          end,
          id: g.id,
          payload: g.frame.subarray(HEADER_BYTES),
          done: false,
          held: g.intent,
        };
        this.queue.push(record);
        records.push(record);
        this.queuedBytes += g.frame.length;
        at = end;
        // Its final record is durable: the intent is never delivered. It leaves the queue (and
        // the acknowledged position moves past it) with the next delivery.
        if (g.retires) g.retires.done = true;
      }
      this.segSize = at;
      this.groupSize = 0;
      this.written += group.length;
      this.commits++;
      this.lastWriteOkAt = Date.now();
      this.lastWriteFailed = false;
      for (const [i, g] of group.entries()) {
        this.room.cancel(g.frame.length);
        g.resolve(records[i]!);
      }
      this.onCommitted();
    }
  }

  /** Opens the first segment, or the next one once the current is full. */
  private async ensureSegment(): Promise<void> {
    if (this.fh && this.segSize < this.limits.segmentBytes) return;
    await this.checkDirectory();
    if (this.fh) {
      await this.fh.close().catch(() => undefined);
      this.fh = undefined;
    }
    const n = this.segment + 1;
    const fh = await open(join(this.dir, segmentName(n)), 'wx', 0o600);
    try {
      await fh.write(SEGMENT_MAGIC, 0, SEGMENT_MAGIC.length, 0);
      await fh.datasync();
      await fsyncDir(this.dir);
    } catch (e) {
      await fh.close().catch(() => undefined);
      await unlink(join(this.dir, segmentName(n))).catch(() => undefined);
      throw e;
    }
    this.fh = fh;
    this.segment = n;
    this.segSize = SEGMENT_MAGIC.length;
    this.segments.push(n);
  }

  /**
   * After a failed write: cut the segment back to its last good record and leave it; the next
   * group starts a new segment. If even that fails, the spool is broken until reopened (the
   * replay then cuts the tail, which is the last segment's).
   */
  private async abandonSegment(goodSize: number): Promise<void> {
    const fh = this.fh;
    this.fh = undefined;
    if (!fh) return;
    try {
      await fh.truncate(goodSize);
      await fh.datasync();
    } catch (e) {
      this.broken = spoolFailed('cannot cut a failed write from the spool', this.dir, e, {
        reason: 'broken',
      });
    }
    await fh.close().catch(() => undefined);
  }

  /** The spool directory is still the one we locked: not removed, not replaced. */
  private async checkDirectory(): Promise<void> {
    const info = await stat(this.dir).catch(() => undefined);
    if (!info || info.ino !== this.dirIno) {
      this.broken = spoolFailed('the spool directory was removed or replaced', this.dir, undefined, {
        reason: 'removed',
      });
      throw this.broken;
    }
  }

  /**
   * Rejects with the code an append would get now. Trusts a successful write of the last
   * `probeIntervalMs`, checking only that the directory and segment are still there; past that,
   * or after a failed write, writes and fsyncs a probe file.
   */
  async ensureWritable(): Promise<void> {
    if (this.closed) throw new EvidentError(ErrorCode.LEDGER_CLOSED, 'the client is closed');
    if (this.broken) throw this.broken;
    await this.room.check();
    await this.checkDirectory();
    if (!this.lastWriteFailed && Date.now() - this.lastWriteOkAt <= this.limits.probeIntervalMs) {
      if (this.fh && (await this.fh.stat()).nlink === 0) {
        throw spoolFailed('the spool segment was removed', join(this.dir, segmentName(this.segment)));
      }
      return;
    }
    this.probing ??= this.probe().finally(() => {
      this.probing = undefined;
    });
    await this.probing;
  }

  private async probe(): Promise<void> {
    const path = join(this.dir, PROBE_FILE);
    try {
      // 'w' truncates, so the write needs a fresh block: a full disk fails here as a record would.
      const fh = await open(path, 'w', 0o600);
      try {
        await fh.write(Buffer.from(`${Date.now()}\n`));
        await fh.datasync();
      } finally {
        await fh.close();
      }
    } catch (e) {
      this.lastWriteFailed = true;
      throw spoolFailed('the spool cannot be written', path, e);
    }
    this.lastWriteOkAt = Date.now();
  }

  /** The oldest undelivered records, at most `count` and `bytes` (one at least). */
  peek(count: number, bytes: number): SpoolRecord[] {
    const out: SpoolRecord[] = [];
    let size = 0;
    for (let i = this.head; i < this.queue.length && out.length < count; i++) {
      const r = this.queue[i]!;
      if (r.done || r.held) continue;
      if (out.length > 0 && size + r.payload.length + 1 > bytes) break;
      out.push(r);
      size += r.payload.length + 1;
    }
    return out;
  }

  /**
   * Lets a held intent be delivered as it is (its request's outcome will not be recorded). The
   * record is already durable: nothing is written.
   */
  release(intent: SpoolRecord): void {
    if (!intent.held) return;
    intent.held = false;
    this.onCommitted();
  }

  /** The last record committed so far (0: none). */
  get lastSeq(): number {
    return this.seq;
  }

  /** Whether every record up to `seq` has left the spool. */
  deliveredThrough(seq: number): boolean {
    const first = this.queue[this.head];
    return first === undefined || first.seq > seq;
  }

  /**
   * Releases delivered (or set-aside) records: the acknowledged position moves past the done
   * prefix and is made durable, then fully acknowledged segments are deleted.
   */
  async complete(records: readonly SpoolRecord[]): Promise<void> {
    for (const r of records) r.done = true;
    let last: SpoolRecord | undefined;
    while (this.head < this.queue.length && this.queue[this.head]!.done) {
      last = this.queue[this.head]!;
      this.queuedBytes -= last.end - last.start;
      this.head++;
    }
    if (this.head > 1024 && this.head * 2 > this.queue.length) {
      this.queue = this.queue.slice(this.head);
      this.head = 0;
    }
    this.room.wake();
    if (!last) return;
    const next = this.queue[this.head];
    const ack: AckPoint = next
      ? { segment: next.segment, offset: next.start }
      : { segment: last.segment, offset: last.end };
    await replaceFile(this.dir, ACK_FILE, `${JSON.stringify(ack)}\n`).catch((e: unknown) => {
      throw spoolFailed('cannot record the acknowledged position', join(this.dir, ACK_FILE), e);
    });
    this.ack = ack;
    const gone = this.segments.filter((s) => s < ack.segment && s !== this.segment);
    if (gone.length === 0) return;
    for (const s of gone) {
      await unlink(join(this.dir, segmentName(s))).catch(() => undefined);
      this.segments.splice(this.segments.indexOf(s), 1);
    }
    await fsyncDir(this.dir).catch(() => undefined);
  }

  /** Stops taking records, waits for writes in progress, releases the lock. Undelivered records stay. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.room.close();
    await this.settled();
    await this.fh?.close().catch(() => undefined);
    this.fh = undefined;
    await this.lock.release();
  }
}
