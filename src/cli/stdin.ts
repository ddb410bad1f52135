/** Reading all of stdin as UTF-8 text; invalid UTF-8 is refused, never replaced. */
import { ErrorCode, EvidentError } from '../core/errors.ts';
import type { Io } from './io.ts';

export async function readStdin(io: Io): Promise<string> {
  const chunks: Uint8Array[] = [];
  let size = 0;
  for await (const c of io.stdin) {
    const b = typeof c === 'string' ? new TextEncoder().encode(c) : c;
    chunks.push(b);
    size += b.length;
  }
  const all = new Uint8Array(size);
  let at = 0;
  for (const c of chunks) {
    all.set(c, at);
    at += c.length;
  }
  try {
    return new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(all);
  } catch {
    throw new EvidentError(ErrorCode.JSON_INVALID, 'stdin is not valid UTF-8', { rule: 'utf8' });
  }
}
