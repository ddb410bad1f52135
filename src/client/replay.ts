/**
 * Opening a spool: the segments still holding undelivered events are read back in order. A torn
 * tail of the last segment (a crash mid-write: nothing after it was ever acknowledged) is cut
 * off; a bad record anywhere else is damage and fails the open with SPOOL_FAILED
 * (`reason: 'corrupt_record'`, the segment and offset): never skipped.
 *
 * A write-ahead intent followed by a record with its event id was completed: only the later
 * record is delivered. An intent with no such record is an orphan (its process ended mid
 * request) and is delivered as it is: the provisional event, never lost.
 */
import { open, readdir, readFile, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { fsyncDir, spoolFailed } from './files.ts';
import { HEADER_BYTES, isTornTail, readRecord, SEGMENT_MAGIC } from './frame.ts';

export const ACK_FILE = 'ACKED';
const SEGMENT = /^seg-(\d{16})\.log$/;

export const segmentName = (n: number): string => `seg-${String(n).padStart(16, '0')}.log`;

/** Every record before this point has a receipt (or was set aside). */
export interface AckPoint {
  segment: number;
  offset: number;
}

export interface ReplayedRecord {
  segment: number;
  start: number;
  end: number;
  id: string;
  payload: Buffer;
  /** A write-ahead intent (frame.ts). */
  intent?: boolean;
  /** An intent whose final record follows: never delivered. */
  retired?: boolean;
}

export interface Replayed {
  records: ReplayedRecord[];
  ack: AckPoint | undefined;
  /** The segment files kept (not yet wholly acknowledged), in order. */
  segments: number[];
  /** The number the next segment gets. */
  nextSegment: number;
  /** Bytes cut from a torn tail, 0 if none. */
  tornBytes: number;
}

async function readAck(dir: string): Promise<AckPoint | undefined> {
  let text: string;
  try {
    text = await readFile(join(dir, ACK_FILE), 'utf8');
  } catch (e) {
    if ((e as { code?: string }).code === 'ENOENT') return undefined;
    throw spoolFailed('cannot read the acknowledged position', join(dir, ACK_FILE), e);
  }
  const a = (() => {
    try {
      return JSON.parse(text) as Partial<AckPoint>;
    } catch {
      return undefined;
    }
  })();
  if (!a || !Number.isSafeInteger(a.segment) || !Number.isSafeInteger(a.offset)) {
    throw spoolFailed('the acknowledged position file is damaged', join(dir, ACK_FILE), undefined, {
      reason: 'corrupt_ack',
    });
  }
  return { segment: a.segment!, offset: a.offset! };
}

function idOf(payload: Buffer): string | undefined {
  try {
    const ev = JSON.parse(payload.toString('utf8')) as { id?: unknown };
    return typeof ev.id === 'string' ? ev.id : undefined;
  } catch {
    return undefined;
  }
}

export async function replaySpool(dir: string): Promise<Replayed> {
  const ack = await readAck(dir);
  const names = (await readdir(dir)).filter((n) => SEGMENT.test(n)).sort();
  const numbers = names.map((n) => Number(SEGMENT.exec(n)![1]));
  const records: ReplayedRecord[] = [];
  /** Ids with a record that is not an intent: an intent of one of them was completed. */
  const completed = new Set<string>();
  const kept: number[] = [];
  let tornBytes = 0;
  for (const [i, seg] of numbers.entries()) {
    const path = join(dir, segmentName(seg));
    if (ack && seg < ack.segment) {
      // Acknowledged whole; the crash came between the position's write and this removal.
      await unlink(path);
      continue;
    }
    const buf = await readFile(path);
    const last = i === numbers.length - 1;
    kept.push(seg);
    const corrupt = (offset: number, why: string) =>
      spoolFailed(
        `spool segment ${segmentName(seg)} is damaged at offset ${offset} (${why})`,
        path,
        undefined,
        {
          reason: 'corrupt_record',
          segment: seg,
          offset,
        },
      );
    if (buf.length < HEADER_BYTES || !buf.subarray(0, HEADER_BYTES).equals(SEGMENT_MAGIC)) {
      // A segment is created and its header fsynced before any record goes in: only the last
      // one can lack it, after a crash at creation.
      if (
        last &&
        buf.subarray(0, Math.min(buf.length, HEADER_BYTES)).every((b, k) => b === SEGMENT_MAGIC[k] || b === 0)
      ) {
        kept.pop();
        await unlink(path);
        tornBytes += buf.length;
        continue;
      }
      throw corrupt(0, 'bad segment header');
    }
    let at = HEADER_BYTES;
    const from = ack && seg === ack.segment ? ack.offset : HEADER_BYTES;
    // The acknowledged position must fall on a record boundary.
    let onBoundary = from === HEADER_BYTES;
    while (at < buf.length) {
      const step = readRecord(buf, at);
      if (step.kind === 'bad') {
        if (!last || !isTornTail(buf, step)) throw corrupt(at, step.reason);
        tornBytes += buf.length - at;
        const fh = await open(path, 'r+');
        try {
          await fh.truncate(at);
          await fh.sync();
        } finally {
          await fh.close();
        }
        break;
      }
      if (step.end === from) onBoundary = true;
      if (step.start >= from) {
        const id = idOf(step.payload);
        if (id === undefined) throw corrupt(at, 'record is not an event with an id');
        if (!step.intent) completed.add(id);
        records.push({
          segment: seg,
          start: step.start,
          end: step.end,
          id,
          payload: Buffer.from(step.payload),
          ...(step.intent ? { intent: true } : {}),
        });
      }
      at = step.end;
    }
    if (!onBoundary) throw corrupt(from, 'the acknowledged position is not a record boundary');
  }
  if (ack && numbers.some((n) => n < ack.segment)) await fsyncDir(dir);
  for (const r of records) if (r.intent && completed.has(r.id)) r.retired = true;
  return {
    records,
    ack,
    segments: kept,
    nextSegment: numbers.length > 0 ? numbers[numbers.length - 1]! + 1 : 1,
    tornBytes,
  };
}
