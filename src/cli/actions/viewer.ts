/** evident viewer --out FILE: the built viewer page (dist/viewer/index.html), written out whole. */
import { ErrorCode, EvidentError } from '../../core/errors.ts';
import { loadViewerPage } from '../../server/viewer-page.ts';
import type { Context } from '../command.ts';
import { usageError } from '../errors.ts';
import { writeNewFile } from '../files.ts';
import { str } from '../globals.ts';
import { note, printJson } from '../output.ts';

export async function run(ctx: Context): Promise<number> {
  const out = str(ctx, 'out');
  if (out === undefined) throw usageError('--out FILE is required (- for stdout)', '--out');
  const page = loadViewerPage();
  if (!page) {
    throw new EvidentError(ErrorCode.NOT_FOUND, 'the viewer was not built: run npm run build', {
      field: 'viewer',
    });
  }
  if (out === '-') {
    ctx.io.stdout.write(page.html);
    return 0;
  }
  await writeNewFile(out, page.html, '--out');
  if (ctx.json) printJson(ctx, { out, bytes: Buffer.byteLength(page.html) });
  else note(ctx, `wrote ${out} (${Buffer.byteLength(page.html)} bytes): open it in a browser`);
  return 0;
}
