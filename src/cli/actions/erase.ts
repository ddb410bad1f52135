/**
 * evident erase: GDPR erasure of one data subject's erasable values. Hashes and proofs still
 * verify (leaves hold salted commitments); the erasure is itself an audit event.
 */
import { ErrorCode, EvidentError } from '../../core/errors.ts';
import type { ErasureRequest } from '../../ledger/erase.ts';
import { loadErasureKey } from '../../ledger/keyfile.ts';
import type { Ledger } from '../../ledger/ledger.ts';
import type { EntryFilter } from '../../store/types.ts';
import { actorFromFlags } from '../actor-flags.ts';
import type { Context } from '../command.ts';
import { usageError } from '../errors.ts';
import { flag, str } from '../globals.ts';
import { openForWriting, withLedger } from '../open-log.ts';
import { print, printJson } from '../output.ts';

/**
 * An erasure that erases nothing would still append an erasure event: a record that a request
 * was honoured when nothing was held. Refused unless --record-empty says that record is wanted.
 * "Something to erase" is an entry of the subject that still holds a salted erasable value.
 */
async function refuseEmpty(l: Ledger, request: ErasureRequest): Promise<void> {
  const filter: EntryFilter =
    request.actor_id !== undefined
      ? { actor_id: request.actor_id }
      : { resource_type: request.resource!.type, resource_id: request.resource!.id };
  let entries = 0;
  for (let from = 0; ; ) {
    const page = await l.query({ ...filter, fromIndex: from, limit: PAGE });
    entries += page.length;
    if (page.some((e) => Object.keys(e.salts ?? {}).length > 0)) return;
    if (page.length < PAGE) break;
    from = page[page.length - 1]!.index + 1;
  }
  const who =
    request.actor_id !== undefined
      ? `actor ${request.actor_id}`
      : `resource ${filter.resource_type}/${filter.resource_id}`;
  throw new EvidentError(
    ErrorCode.NOT_FOUND,
    entries === 0
      ? `nothing to erase: no entry of ${who}; give --record-empty to record the request anyway`
      : `nothing to erase: the ${entries} entries of ${who} hold no erasable value (already erased, or none recorded); give --record-empty to record the request anyway`,
    { field: '--record-empty', rule: 'nothing_to_erase', entries },
  );
}

const PAGE = 5000;

export async function run(ctx: Context): Promise<number> {
  const actorId = str(ctx, 'actor-id');
  const type = str(ctx, 'resource-type');
  const id = str(ctx, 'resource-id');
  const reason = str(ctx, 'reason');
  if (actorId !== undefined && (type !== undefined || id !== undefined)) {
    throw usageError('give either --actor-id or --resource-type with --resource-id, not both', '--actor-id');
  }
  if (actorId === undefined && (type === undefined || id === undefined)) {
    throw usageError(
      type !== undefined || id !== undefined
        ? '--resource-type and --resource-id go together'
        : 'name the data subject: --actor-id ID, or --resource-type T --resource-id ID',
      type === undefined ? '--resource-type' : id === undefined ? '--resource-id' : '--actor-id',
    );
  }
  if (reason === undefined || reason === '') throw usageError('--reason is required', '--reason');
  const by = actorFromFlags(ctx);
  const keyFile = str(ctx, 'erasure-key');
  if (keyFile === undefined || keyFile === '') {
    throw usageError('--erasure-key is required: an erasure is signed by the erasure key', '--erasure-key');
  }
  const erasureKey = await loadErasureKey(keyFile);
  const subject: ErasureRequest =
    actorId !== undefined
      ? { actor_id: actorId, reason, erasureKey }
      : { resource: { type: type!, id: id! }, reason, erasureKey };
  const request: ErasureRequest = by ? { ...subject, by } : subject;
  const recordEmpty = flag(ctx, 'record-empty');
  const result = await withLedger(await openForWriting(ctx), async (l) => {
    if (!recordEmpty) await refuseEmpty(l, request);
    return l.erase(request);
  });
  const r = result.receipt;
  if (ctx.json) {
    printJson(ctx, {
      entries: result.entries,
      values: result.values,
      receipt: { id: r.id, index: r.index, hash: r.hash },
    });
  } else {
    print(
      ctx,
      `erased ${result.values} values in ${result.entries} entries; erasure event #${r.index} ${r.id} ${r.hash}`,
    );
  }
  return 0;
}
