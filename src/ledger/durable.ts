/**
 * Durable steps for the files the ledger writes itself (the signer state, exported tiles): a
 * file written and fsynced, and the fsync of a directory that makes a new or renamed entry in
 * it survive a crash.
 */
import { promises as fs } from 'node:fs';

/**
 * Creates `path` (flags `w`, or `wx` to refuse an existing file) holding `bytes`, fsynced
 * before it returns. Its directory entry is durable only once the caller fsyncs the directory.
 */
export async function writeSynced(
  path: string,
  bytes: Uint8Array | string,
  flags: 'w' | 'wx',
  mode: number,
): Promise<void> {
  const h = await fs.open(path, flags, mode);
  try {
    await h.writeFile(bytes);
    await h.sync();
  } finally {
    await h.close();
  }
}

/** Makes the entries of a directory (files created, renamed or removed in it) durable. */
export async function fsyncDir(path: string): Promise<void> {
  const h = await fs.open(path, 'r');
  try {
    await h.sync();
  } finally {
    await h.close();
  }
}
