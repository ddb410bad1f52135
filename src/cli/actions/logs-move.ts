/**
 * evident logs move: moves a log to another cluster of the cluster map (docs/clusters.md).
 * Mark the source read-only (from then on its database refuses every write to the log, from
 * any server: LOG_MOVED), copy everything to the target, verify the copy on its own and against
 * the source, then switch: print the new placement, or write it into the config file
 * atomically (--write-config). Servers take it on SIGHUP. The old copy stays, read-only.
 * Run again after an interruption: it resumes.
 */
import { promises as fs } from 'node:fs';
import { ErrorCode, EvidentError } from '../../core/errors.ts';
import { isValidLogName } from '../../core/log-name.ts';
import { redactUrls } from '../../core/redact.ts';
import { copyLog } from '../../ledger/copy.ts';
import { type ClusterMap, clusterOf, HOME_CLUSTER, placementObject } from '../../store/clusters/map.ts';
import type { FullStore } from '../../store/open.ts';
import { clearIncoming, isPgHandle, markIncoming, markMoved, movedTo } from '../../store/postgres/moves.ts';
import type { Context } from '../command.ts';
import { usageError } from '../errors.ts';
import { DB_ENV, str } from '../globals.ts';
import { openStoreAt } from '../open-log.ts';
import { note, print, printJson } from '../output.ts';
import { progress } from '../progress.ts';
import { clusterMapFrom, readConfigFile } from './serve-config.ts';
import { CONFIG_ENV } from './serve-settings.ts';

export async function run(ctx: Context): Promise<number> {
  const configPath = str(ctx, 'config') ?? (ctx.io.env[CONFIG_ENV] || undefined);
  if (configPath === undefined)
    throw usageError(
      '--config: the config file with the cluster map is needed (or set EVIDENT_CONFIG)',
      '--config',
    );
  const file = await readConfigFile(configPath);
  const db =
    str(ctx, 'db') ?? (ctx.io.env[DB_ENV] || undefined) ?? (typeof file['db'] === 'string' ? file['db'] : '');
  const map = clusterMapFrom(file, db, configPath);
  if (!map)
    throw usageError(`--config: ${configPath} has no cluster map (clusters, placement)`, '--config', {
      rule: 'required',
    });
  const log = str(ctx, 'log');
  if (log === undefined || !isValidLogName(log))
    throw usageError('--log: the log to move is needed', '--log');
  const to = str(ctx, 'to');
  if (to === undefined || !map.clusters.has(to)) {
    throw usageError(`--to: the cluster to move to, one of ${[...map.clusters.keys()].join(', ')}`, '--to', {
      rule: 'unknown_cluster',
    });
  }
  const from = clusterOf(map, log);
  if (from === to)
    throw usageError(`--to: the map places log "${log}" on cluster "${to}" already`, '--to', {
      rule: 'same_cluster',
    });
  const source = await openCluster(map, from);
  let target: FullStore | undefined;
  try {
    target = await openCluster(map, to);
    if (!isPgHandle(source)) throw usageError(`cluster "${from}" is not a PostgreSQL store`, '--config');
    const dest = target;
    if (!isPgHandle(dest)) throw usageError(`cluster "${to}" is not a PostgreSQL store`, '--config');
    const info = await source.getLog(log);
    if (!info) {
      throw new EvidentError(ErrorCode.NOT_FOUND, `cluster "${from}" holds no log "${log}"`, {
        field: '--log',
        cluster: from,
      });
    }
    const before = await movedTo(source, info.id);
    if (before !== undefined && before !== to) {
      throw usageError(`log "${log}" on cluster "${from}" was moved to cluster "${before}" already`, '--to', {
        rule: 'moved_elsewhere',
        moved_to: before,
      });
    }
    // 1. read-only on the source: appends in flight commit first, later ones are refused.
    await markMoved(source, info.id, to, ctx.now().toISOString());
    note(ctx, `log "${log}" is read-only on cluster "${from}" from now on (moving to "${to}")`);
    // 2. copy, 3. verify (inside copyLog).
    const bar = progress(ctx, `copying ${log}`, { minTotal: 10_000 });
    // The copy is not served on the target (a server given the new map early) until verified.
    const copied = await copyLog(source, info, dest, {
      onProgress: (done, total) => bar.update(done, total),
      onTarget: (copy) => markIncoming(dest, copy.id, from, ctx.now().toISOString()),
    });
    bar.end();
    await clearIncoming(dest, (await dest.getLog(log))!.id);
    // 4. switch: the new placement.
    const next: ClusterMap = { clusters: map.clusters, placement: new Map(map.placement) };
    (next.placement as Map<string, string>).delete(log);
    if (to !== HOME_CLUSTER) (next.placement as Map<string, string>).set(log, to);
    const placement = placementObject(next);
    if (ctx.values['write-config'] === true) await rewriteConfig(configPath, { ...file, placement });
    const result = {
      ...copied,
      from,
      to,
      verified: true,
      placement,
      config: ctx.values['write-config'] === true ? 'written' : 'unchanged',
      next: 'send SIGHUP to every evident serve (or restart them) so they take the new placement',
    };
    if (ctx.json) printJson(ctx, result);
    else {
      print(
        ctx,
        [
          `moved log "${log}" from cluster "${from}" to "${to}": ${copied.entries} entries (${copied.resumed} copied before), ${copied.checkpoints} checkpoints, ${copied.cosignatures} cosignatures, ${copied.erasures} erasures`,
          `verified: the copy re-derives every leaf, node and root, its ${copied.checkpoints} checkpoint notes are byte-identical to the source's`,
          ctx.values['write-config'] === true
            ? `${configPath}: placement rewritten`
            : `change the placement in ${configPath} to:\n  "placement": ${JSON.stringify(placement)}`,
          `then send SIGHUP to every evident serve (or restart them); the copy on "${from}" stays, read-only`,
        ].join('\n'),
      );
    }
    return 0;
  } finally {
    await Promise.allSettled([source.close(), target?.close()]);
  }
}

async function openCluster(map: ClusterMap, name: string): Promise<FullStore> {
  const url = map.clusters.get(name)!;
  try {
    return await openStoreAt(url, { readonly: false, create: false });
  } catch (e) {
    if (e instanceof EvidentError) {
      e.details['cluster'] = name;
      e.message = `cluster "${name}" (${redactUrls(url)}): ${e.message}`;
    }
    throw e;
  }
}

/** The config file rewritten whole (temporary file, fsync, rename): a server reading it sees the old or the new. */
async function rewriteConfig(path: string, value: Record<string, unknown>): Promise<void> {
  const tmp = `${path}.${process.pid}.tmp`;
  const mode = (await fs.stat(path)).mode & 0o777;
  const h = await fs.open(tmp, 'w', mode);
  try {
    await h.writeFile(`${JSON.stringify(value, null, 2)}\n`);
    await h.sync();
  } finally {
    await h.close();
  }
  await fs.rename(tmp, path);
}
