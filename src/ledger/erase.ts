/**
 * GDPR erasure: the values of erasable fields in one data subject's entries are deleted with
 * their salts. Leaves hold only salted commitments to those values, so every hash, proof and
 * checkpoint still verifies; the entries say which fields were erased, and the erasure is
 * itself an audit event, committed in the same transaction as the deletions. That event names
 * every value it erases and is signed by the erasure key (../core/event/erasure.ts), which the
 * database's writer does not hold.
 */

import { bytesEqual } from '../core/bytes.ts';
import { ErrorCode, EvidentError } from '../core/errors.ts';
import type { Entry } from '../core/event/entry.ts';
import { ERASURE_ACTION, type ErasureTargets, signErasure } from '../core/event/erasure.ts';
import type { AuditEvent, ErasableField } from '../core/event/schema.ts';
import { validateEvent } from '../core/event/validate.ts';
import { type NoteSigner, parseVerifierKey } from '../core/note-keys.ts';
import type { EntryFilter, Erasure, LogInfo, Store } from '../store/types.ts';
import { checkedHead } from './head.ts';
import { integrate, type Receipt } from './integrate.ts';

export interface ErasureRequest {
  /** The data subject: entries whose actor is this id ... */
  actor_id?: string;
  /** ... or entries about this resource. */
  resource?: { type: string; id: string };
  /** Why (the request, its ticket): recorded in the erasure event. */
  reason: string;
  /**
   * Who erases, and from where; recorded as the erasure event's actor. An actor other than a
   * system needs its address (the event schema's rule for every non-system actor).
   */
  by?: { id: string; type: 'admin' | 'system' | 'user' | 'service'; ip_address?: string };
  /**
   * The erasure key: signs each erasure event's statement (docs/formats.md, "Erasable fields and erasures"). It MUST
   * be kept apart from the database and MUST NOT be the checkpoint signing key: a verifier
   * trusts an erasure only when this key signed it.
   */
  erasureKey: NoteSigner;
}

export interface ErasureResult {
  /** The erasure event's receipt (the last one, when the values needed several events). */
  receipt: Receipt;
  /** One receipt per erasure event, in index order. */
  receipts: Receipt[];
  entries: number;
  values: number;
}

/**
 * Values named by one erasure event at most. Its targets live in `metadata`, which the event
 * schema bounds at 64 KiB of canonical JSON (an index takes at most 17 bytes with its comma).
 * SQLite's erasure rule (row triggers only) parses them once per erased value, so its cost
 * grows with this bound: erasing 3,200 values took about 2.4 s with the rule and 0.9 s without
 * it, at 1,000 per event, on a busy 2-core machine (PostgreSQL, one statement trigger: 1.7 s
 * and 1.0 s).
 */
export const MAX_VALUES_PER_EVENT = 1000;

export async function eraseSubject(
  store: Store,
  log: LogInfo,
  req: ErasureRequest,
  now: () => Date,
): Promise<ErasureResult> {
  const filter: EntryFilter = {};
  if (req.actor_id !== undefined) filter.actor_id = req.actor_id;
  else if (req.resource) {
    filter.resource_type = req.resource.type;
    filter.resource_id = req.resource.id;
  } else {
    throw new EvidentError(ErrorCode.USAGE, 'an erasure names a data subject: an actor id or a resource', {
      field: 'subject',
    });
  }
  if (!req.reason) throw new EvidentError(ErrorCode.USAGE, 'an erasure needs a reason', { field: 'reason' });
  checkErasureKey(req.erasureKey, log);

  const targets: { index: number; field: ErasableField }[] = [];
  for (let from = 0; ; ) {
    const page: Entry[] = await store.query(log.id, { ...filter, fromIndex: from, limit: 5000 });
    for (const e of page) {
      for (const f of Object.keys(e.salts ?? {}).sort() as ErasableField[])
        targets.push({ index: e.index, field: f });
    }
    if (page.length < 5000) break;
    from = page[page.length - 1]!.index + 1;
  }
  const subject = req.actor_id !== undefined ? { actor_id: req.actor_id } : { resource: req.resource };
  const chunks: (typeof targets)[] = [];
  for (let i = 0; i < targets.length || chunks.length === 0; i += MAX_VALUES_PER_EVENT) {
    chunks.push(targets.slice(i, i + MAX_VALUES_PER_EVENT));
  }
  const by = { id: req.by?.id ?? 'evident', type: req.by?.type ?? 'system' };
  const events: AuditEvent[] = chunks.map((chunk) => {
    const named: ErasureTargets = {};
    for (const t of chunk) {
      named[t.field] ??= [];
      named[t.field]!.push(t.index);
    }
    const authority = signErasure(req.erasureKey, {
      origin: log.origin,
      targets: named,
      subject,
      reason: req.reason,
      by,
    });
    return validateEvent(
      {
        actor_id: by.id,
        actor_type: by.type,
        ...(req.by?.ip_address !== undefined ? { ip_address: req.by.ip_address } : {}),
        action: ERASURE_ACTION,
        resource_type: 'data_subject',
        resource_id: req.actor_id ?? `${req.resource!.type}/${req.resource!.id}`,
        result: 'success',
        reason: req.reason,
        metadata: {
          subject,
          entries: new Set(chunk.map((t) => t.index)).size,
          values: chunk.length,
          fields: [...new Set(chunk.map((t) => t.field))].sort(),
          erasure: authority,
        },
      },
      { now, ledger: true },
    );
  });
  return store.write(log.id, async (tx) => {
    // Checked like every append's (./head.ts): an erasure event must not extend a rewritten head.
    const { head } = await checkedHead(tx);
    // The erasure events' own fields are never committed (erasable: none): their targets and
    // signature stay in the leaf and in the entry's row, where the database's erasure rule
    // reads them, and no later erasure can remove them.
    const r = integrate(
      head,
      events.map((e) => [e]),
      new Map(),
      { erasable: [], receivedAt: now().toISOString() },
    );
    await tx.insertEntries(r.entries, r.nodes, r.head);
    const receipts: Receipt[] = [];
    const erasures: Erasure[] = [];
    r.outcomes.forEach((outcome, k) => {
      if (!outcome.ok) throw outcome.error;
      const erasureIndex = outcome.receipts[0]!.index;
      receipts.push(outcome.receipts[0]!);
      for (const t of chunks[k]!) erasures.push({ ...t, erasureIndex });
    });
    await tx.erase(erasures);
    return {
      receipt: receipts[receipts.length - 1]!,
      receipts,
      entries: new Set(targets.map((t) => t.index)).size,
      values: targets.length,
    };
  });
}

/** The erasure key must be an erasure key, not the checkpoint key the database's writer uses. */
function checkErasureKey(key: NoteSigner | undefined, log: LogInfo): void {
  if (!key || typeof key.sign !== 'function') {
    throw new EvidentError(ErrorCode.KEY_INVALID, 'an erasure is signed by an erasure key: none given', {
      field: 'erasureKey',
      reason: 'missing',
    });
  }
  if (bytesEqual(key.publicKey, parseVerifierKey(log.vkey).publicKey)) {
    throw new EvidentError(
      ErrorCode.KEY_INVALID,
      "the erasure key is this log's checkpoint signing key: an erasure key must be a key of its own",
      { field: 'erasureKey', reason: 'same-as-checkpoint-key' },
    );
  }
}
