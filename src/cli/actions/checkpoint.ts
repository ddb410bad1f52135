/** evident checkpoint: sign a checkpoint of the current tree, or print a stored one. */
import { toBase64 } from '../../core/bytes.ts';
import { ErrorCode, EvidentError } from '../../core/errors.ts';
import type { StoredCheckpoint } from '../../store/types.ts';
import type { Context } from '../command.ts';
import { str } from '../globals.ts';
import { openForWriting, openReadOnly, withLedger } from '../open-log.ts';
import { printJson } from '../output.ts';
import { optionalCount } from '../values.ts';

export async function run(ctx: Context): Promise<number> {
  const size = optionalCount('size', str(ctx, 'size'));
  let cp: StoredCheckpoint;
  if (size === undefined) {
    cp = await withLedger(await openForWriting(ctx), (l) => l.checkpoint());
  } else {
    const found = await withLedger(await openReadOnly(ctx), (l) => l.checkpointAt(size));
    if (!found) {
      throw new EvidentError(ErrorCode.NOT_FOUND, `no checkpoint of tree size ${size} is stored`, {
        field: '--size',
        size,
      });
    }
    cp = found;
  }
  if (ctx.json) printJson(ctx, { size: cp.size, root: toBase64(cp.root), note: cp.note });
  else ctx.io.stdout.write(cp.note);
  return 0;
}
