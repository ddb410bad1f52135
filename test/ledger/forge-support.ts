/**
 * What a database writer (the PostgreSQL service role, anyone who can write the SQLite file)
 * can do to erase values without the erasure key: append an `evident.erasure` event through
 * the store's own write path (it computes hashes, the chain and the tree as the ledger does),
 * with any targets and any signature, and record erasures that delete the values.
 */
import { ERASURE_ACTION, type ErasureAuthority, type ErasureTargets } from '../../src/core/event/erasure.ts';
import type { ErasableField } from '../../src/core/event/schema.ts';
import { validateEvent } from '../../src/core/event/validate.ts';
import { integrate } from '../../src/ledger/integrate.ts';
import type { Ledger } from '../../src/ledger/ledger.ts';

export interface Forgery {
  /** The values to delete. */
  erase: { index: number; field: ErasableField }[];
  /** metadata.erasure of the forged event; default: the targets, an unknown key, a zero signature. */
  authority?: ErasureAuthority | undefined;
  subject?: unknown;
}

/** Appends a forged erasure event and deletes the values; returns the event's index. */
export async function forgeErasure(l: Ledger, f: Forgery): Promise<number> {
  const targets: ErasureTargets = {};
  for (const t of f.erase) {
    targets[t.field] ??= [];
    targets[t.field]!.push(t.index);
  }
  const authority = f.authority ?? {
    targets,
    key: 'mallory+00000000',
    signature: Buffer.alloc(64).toString('base64'),
  };
  const event = validateEvent(
    {
      actor_id: 'evident',
      actor_type: 'system',
      action: ERASURE_ACTION,
      resource_type: 'data_subject',
      resource_id: 'user-3',
      result: 'success',
      reason: 'GDPR art. 17',
      metadata: { subject: f.subject ?? { actor_id: 'user-3' }, erasure: authority },
    },
    { ledger: true },
  );
  return l.store.write(l.log.id, async (tx) => {
    const r = integrate(await tx.head(), [[event]], new Map(), {
      erasable: [],
      receivedAt: new Date().toISOString(),
    });
    await tx.insertEntries(r.entries, r.nodes, r.head);
    const erasureIndex = r.entries[0]!.index;
    await tx.erase(f.erase.map((t) => ({ ...t, erasureIndex })));
    return erasureIndex;
  });
}
