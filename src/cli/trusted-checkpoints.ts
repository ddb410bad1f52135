/**
 * --trusted-checkpoint files: read, repaired where the repair is exact (CRLF, a missing final
 * newline: ../core/verify/auditor-inputs.ts), and checked against the log and the keys the
 * auditor gave, so that a wrong file is an input error (exit 2), never "tampering".
 */

import type { NoteVerifier } from '../core/note-keys.ts';
import {
  checkTrustedCheckpoint,
  type LogIdentity,
  readCheckpointFile,
} from '../core/verify/auditor-inputs.ts';
import type { Context } from './command.ts';
import { readUserFile } from './files.ts';
import { strs } from './globals.ts';
import { note } from './output.ts';

/** The files' notes, in order. Reads them all first: a missing file fails before any work. */
export async function readTrustedCheckpoints(ctx: Context): Promise<{ path: string; note: string }[]> {
  return Promise.all(
    strs(ctx, 'trusted-checkpoint').map(async (path) => {
      const file = readCheckpointFile(await readUserFile(path, '--trusted-checkpoint'));
      for (const r of file.repaired) {
        note(
          ctx,
          `${path}: ${r === 'crlf' ? 'CRLF line endings read as LF' : 'final newline added'} (the signature is checked over the note's exact bytes)`,
        );
      }
      return { path, note: file.note };
    }),
  );
}

/** Throws TRUSTED_CHECKPOINT_INVALID for a file that is not this log's checkpoint under `keys`. */
export function checkTrustedCheckpoints(
  files: readonly { path: string; note: string }[],
  log: LogIdentity,
  keys: readonly NoteVerifier[],
): string[] {
  for (const f of files) checkTrustedCheckpoint(f.path, f.note, log, keys);
  return files.map((f) => f.note);
}
