/** evident restore: a new database rebuilt from an archive (docs/retention.md, "Restore"). */
import { restoreFromArchive } from '../../archive/restore.ts';
import { openArchiveTarget } from '../../archive/targets.ts';
import type { Context } from '../command.ts';
import { EXIT_OK, usageError } from '../errors.ts';
import { dbPath, str, strs } from '../globals.ts';
import { parseVkeyArg } from '../keys.ts';
import { openStoreAt } from '../open-log.ts';
import { note, print, printJson } from '../output.ts';
import { progress } from '../progress.ts';

export async function run(ctx: Context): Promise<number> {
  const from = str(ctx, 'from');
  if (from === undefined || from === '')
    throw usageError('--from URL is required: the archive to restore', '--from');
  const vkeys = strs(ctx, 'vkey');
  if (vkeys.length !== 1)
    throw usageError('--vkey is required, once: the key the archive is checked against', '--vkey');
  const key = await parseVkeyArg(vkeys[0]!);
  const log = str(ctx, 'log');
  const staging = str(ctx, 'staging');
  const target = await openArchiveTarget(from, { readOnly: true });
  const store = await openStoreAt(dbPath(ctx), { readonly: false });
  const bar = progress(ctx, 'restored');
  try {
    const r = await restoreFromArchive(target, store, {
      verifiers: [key.verifier],
      vkey: key.vkey,
      ...(log !== undefined ? { log } : {}),
      ...(staging !== undefined ? { stagingDir: staging } : {}),
      onProgress: (n) => bar.update(n, 0),
    });
    bar.end();
    if (!r.covered)
      note(
        ctx,
        `no archived checkpoint has tree size ${r.entries}: entries ${r.size} to ${r.entries - 1} are proven by the archive's bundles, not by a checkpoint the restored database holds (seal with evident archive run --seal-open before a restore)`,
      );
    if (ctx.json)
      printJson(ctx, {
        log: r.log,
        origin: r.origin,
        entries: r.entries,
        checkpoints: r.checkpoints,
        size: r.size,
        root: r.root,
        covered: r.covered,
      });
    else
      print(
        ctx,
        `restored log ${r.log} (${r.origin}): ${r.entries} entries, ${r.checkpoints} checkpoint(s); latest checkpoint tree size ${r.size} root ${r.root ?? '(none)'}; the restored log verifies`,
      );
    return EXIT_OK;
  } finally {
    await store.close();
    await target.close();
  }
}
