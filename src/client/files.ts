/** Small durable-file steps the spool builds on: fsync of a directory, atomic replace, errors. */
import { open, rename } from 'node:fs/promises';
import { join } from 'node:path';
import { ErrorCode, EvidentError } from '../core/errors.ts';

/** SPOOL_FAILED with the path and the system error's code (ENOSPC, EROFS, ENOENT, EIO ...). */
export function spoolFailed(
  message: string,
  path: string,
  cause?: unknown,
  extra: Record<string, unknown> = {},
): EvidentError {
  const sys = cause as { code?: unknown; message?: unknown } | undefined;
  const detail =
    typeof sys?.code === 'string' ? sys.code : typeof sys?.message === 'string' ? sys.message : undefined;
  return new EvidentError(ErrorCode.SPOOL_FAILED, detail ? `${message}: ${detail}` : message, {
    path,
    ...(detail ? { cause: detail } : {}),
    ...extra,
  });
}

/** Makes a directory entry (a created, renamed or removed file) durable. */
export async function fsyncDir(dir: string): Promise<void> {
  const fh = await open(dir, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/** Writes `name` in `dir` so that a crash leaves the old content or the new, never a mix. */
export async function replaceFile(dir: string, name: string, content: string | Buffer): Promise<void> {
  const tmp = join(dir, `${name}.tmp`);
  const fh = await open(tmp, 'w', 0o600);
  try {
    await fh.writeFile(content);
    await fh.sync();
  } finally {
    await fh.close();
  }
  await rename(tmp, join(dir, name));
  await fsyncDir(dir);
}

/** Appends to `name` in `dir` and fsyncs it (and the directory, in case it was created) before resolving. */
export async function appendDurably(dir: string, name: string, content: string): Promise<void> {
  const fh = await open(join(dir, name), 'a', 0o600);
  try {
    await fh.appendFile(content);
    await fh.sync();
  } finally {
    await fh.close();
  }
  await fsyncDir(dir);
}
