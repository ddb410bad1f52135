/** Reading and writing files the user named; a file system failure becomes an error naming the flag. */
import { promises as fs } from 'node:fs';
import { ErrorCode, EvidentError } from '../core/errors.ts';

function fileError(e: unknown, path: string, field: string, doing: string): EvidentError {
  const code = (e as NodeJS.ErrnoException).code;
  const why =
    code === 'ENOENT' ? 'does not exist' : code === 'EEXIST' ? 'already exists' : (e as Error).message;
  return new EvidentError(
    code === 'ENOENT' ? ErrorCode.NOT_FOUND : ErrorCode.USAGE,
    `${field}: cannot ${doing} ${path}: ${why}`,
    {
      field,
      path,
      ...(code ? { errno: code } : {}),
    },
  );
}

export async function readUserFile(path: string, field: string): Promise<string> {
  let bytes: Uint8Array;
  try {
    bytes = await fs.readFile(path);
  } catch (e) {
    throw fileError(e, path, field, 'read');
  }
  try {
    return new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bytes);
  } catch {
    throw new EvidentError(ErrorCode.USAGE, `${field}: ${path} is not UTF-8 text`, {
      field,
      path,
      rule: 'utf8',
    });
  }
}

/** Writes a new file; refuses to replace one (evidence is not overwritten by accident). */
export async function writeNewFile(path: string, text: string, field: string): Promise<void> {
  let handle: fs.FileHandle;
  try {
    handle = await fs.open(path, 'wx', 0o644);
  } catch (e) {
    throw fileError(e, path, field, 'create');
  }
  try {
    await handle.writeFile(text);
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** The first line of a text file that `blank` does not skip, read without loading the rest. */
export async function readFirstLine(
  path: string,
  field: string,
  blank: (line: string) => boolean = (l) => l.trim() === '',
): Promise<string | undefined> {
  let handle: fs.FileHandle;
  try {
    handle = await fs.open(path, 'r');
  } catch (e) {
    throw fileError(e, path, field, 'read');
  }
  try {
    const lines = handle.readLines({ encoding: 'utf8' });
    for await (const line of lines) if (!blank(line)) return line;
    return undefined;
  } catch (e) {
    throw fileError(e, path, field, 'read');
  } finally {
    await handle.close();
  }
}

/** A new file written piece by piece; `abort` removes what was written. */
export async function createNewFile(path: string, field: string) {
  let handle: fs.FileHandle;
  try {
    handle = await fs.open(path, 'wx', 0o644);
  } catch (e) {
    throw fileError(e, path, field, 'create');
  }
  return {
    write: async (text: string) => {
      await handle.write(text);
    },
    finish: async () => {
      await handle.sync();
      await handle.close();
    },
    abort: async () => {
      await handle.close().catch(() => {});
      await fs.rm(path, { force: true });
    },
  };
}
