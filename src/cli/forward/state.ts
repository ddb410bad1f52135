/**
 * The cursor of `evident forward`: the index of the next entry to deliver, written after the
 * receiver acknowledged a batch, never before (at-least-once: a crash between the two resends
 * that batch). Written to a temporary file, fsynced, renamed over the old one, and the directory
 * fsynced, so that a crash leaves either the old cursor or the new one, whole.
 */
import * as fs from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { usageError } from '../errors.ts';

export const FORWARD_STATE_FORMAT = 'evident-forward-state/v1';

export interface ForwardState {
  format: typeof FORWARD_STATE_FORMAT;
  origin: string;
  to: string;
  /** The next entry index to deliver. */
  next_index: number;
  updated_at: string;
}

export async function readState(path: string): Promise<ForwardState | undefined> {
  let text: string;
  try {
    text = await fs.readFile(path, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw usageError(`cannot read the forward state ${path}: ${(e as Error).message}`, '--state');
  }
  let v: Partial<ForwardState>;
  try {
    v = JSON.parse(text) as Partial<ForwardState>;
  } catch {
    throw usageError(`the forward state ${path} is not JSON`, '--state', { rule: 'format' });
  }
  if (
    v.format !== FORWARD_STATE_FORMAT ||
    typeof v.origin !== 'string' ||
    typeof v.to !== 'string' ||
    !Number.isSafeInteger(v.next_index) ||
    (v.next_index as number) < 0
  ) {
    throw usageError(`the forward state ${path} is not an ${FORWARD_STATE_FORMAT} file`, '--state', {
      rule: 'format',
    });
  }
  return v as ForwardState;
}

export async function writeState(path: string, state: ForwardState): Promise<void> {
  const tmp = join(dirname(path), `.${basename(path)}.${process.pid}.tmp`);
  const h = await fs.open(tmp, 'w', 0o644);
  try {
    await h.writeFile(`${JSON.stringify(state)}\n`);
    await h.sync();
  } finally {
    await h.close();
  }
  await fs.rename(tmp, path);
  const d = await fs.open(dirname(path), 'r');
  try {
    await d.sync();
  } finally {
    await d.close();
  }
}
