/**
 * A log's archive targets, kept as events in the log itself (`evident.archive.target.added`),
 * so that adding one is on record like every other change; each `evident.prune` event restates
 * the list, so it survives the pruning of the events that built it. Target URLs hold no secret
 * (./target.ts): credentials come from the environment of the process that opens them.
 */

import { ErrorCode, EvidentError } from '../core/errors.ts';
import { PRUNE_ACTION } from '../core/event/prune.ts';
import type { Receipt } from '../ledger/integrate.ts';
import type { LogInfo, Store } from '../store/types.ts';
import { appendLedgerEvent, latestEvent } from './ledger-events.ts';
import { openArchiveTarget } from './targets.ts';

export const TARGET_ADDED_ACTION = 'evident.archive.target.added';

export async function readTargets(store: Store, log: LogInfo): Promise<string[]> {
  const prune = await latestEvent(store, log, PRUNE_ACTION);
  const base = (prune?.metadata as { targets?: unknown } | undefined)?.targets;
  const urls = new Set<string>(
    Array.isArray(base) ? base.filter((u): u is string => typeof u === 'string') : [],
  );
  for (let from = prune ? prune.index + 1 : 0; ; ) {
    const page = await store.query(log.id, { action: TARGET_ADDED_ACTION, fromIndex: from, limit: 500 });
    for (const e of page) {
      const url = (e.metadata as { url?: unknown } | undefined)?.url;
      if (typeof url === 'string') urls.add(url);
    }
    if (page.length < 500) break;
    from = page[page.length - 1]!.index + 1;
  }
  return [...urls];
}

export async function addTarget(
  store: Store,
  log: LogInfo,
  url: string,
  o: {
    now: () => Date;
    by?: { id: string; type: 'admin' | 'system' | 'user' | 'service'; ip_address?: string };
  },
): Promise<Receipt> {
  if ((await readTargets(store, log)).includes(url)) {
    throw new EvidentError(ErrorCode.USAGE, `log "${log.name}" already archives to ${url}`, {
      field: 'url',
      rule: 'target_exists',
      url,
    });
  }
  const target = await openArchiveTarget(url); // refuses an unknown kind or a bad path now
  await target.close();
  const { receipt } = await appendLedgerEvent(
    store,
    log,
    {
      action: TARGET_ADDED_ACTION,
      resource_type: 'archive_target',
      resource_id: url,
      metadata: { url },
      ...(o.by ? { by: o.by } : {}),
    },
    o.now,
  );
  return receipt;
}
