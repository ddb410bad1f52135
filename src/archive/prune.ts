/**
 * The one path by which entries leave the primary store (docs/retention.md): a sealed segment
 * past online retention, held by EVERY archive target and verified there just now (its
 * manifest read back byte-exact, its bundle read back whole and hashed to the manifest's
 * SHA-256 and size). Then, in one transaction: an `evident.prune` event naming the segment and
 * its archive objects (and restating the policy and the targets), and the store's prune, which
 * keeps every leaf hash and tree node. The database's rule (migration 6) refuses any deletion
 * that no prune event names.
 */

import { ErrorCode, EvidentError } from '../core/errors.ts';
import { PRUNE_ACTION } from '../core/event/prune.ts';
import { keyEventsOf } from '../ledger/key-check.ts';
import type { Ledger } from '../ledger/ledger.ts';
import { manifestName } from './layout.ts';
import { appendLedgerEvent } from './ledger-events.ts';
import { manifestBytes, type SegmentManifest } from './manifest.ts';
import type { RetentionPolicy } from './retention.ts';
import { hashStream, readAll } from './stage.ts';
import type { ArchiveTarget } from './target.ts';

/** Throws unless the target holds the segment as sealed (ARCHIVE_UNAVAILABLE: nothing is pruned). */
export async function checkHeld(t: ArchiveTarget, m: SegmentManifest): Promise<void> {
  const mName = manifestName(m.log, m.first, m.last);
  const refuse = (what: string, name: string) =>
    new EvidentError(
      ErrorCode.ARCHIVE_UNAVAILABLE,
      `archive ${t.url}: ${name} ${what}: segment ${m.first}..${m.last} is not pruned`,
      {
        target: t.url,
        name,
        rule: 'not_held',
      },
    );
  const mBody = await t.read(mName);
  if (!mBody) throw refuse('is missing', mName);
  const got = await readAll(mBody);
  const want = manifestBytes(m);
  if (Buffer.compare(Buffer.from(got), Buffer.from(want)) !== 0)
    throw refuse('reads back with other bytes', mName);
  const bBody = await t.read(m.bundle.name);
  if (!bBody) throw refuse('is missing', m.bundle.name);
  const h = await hashStream(bBody);
  if (h.sha256 !== m.bundle.sha256 || h.size !== m.bundle.size)
    throw refuse('does not hash to its manifest', m.bundle.name);
}

export async function pruneSegment(
  ledger: Ledger,
  m: SegmentManifest,
  targets: readonly ArchiveTarget[],
  policy: RetentionPolicy,
  now: () => Date,
): Promise<{ entries: number; pruneIndex: number }> {
  if (targets.length === 0) {
    throw new EvidentError(ErrorCode.USAGE, 'nothing is pruned without an archive target', {
      rule: 'no_target',
    });
  }
  for (const t of targets) await checkHeld(t, m);
  const objects = targets.flatMap((t) => [
    `${t.url}/${m.bundle.name}`,
    `${t.url}/${manifestName(m.log, m.first, m.last)}`,
  ]);
  // API key events and earlier prune events leave with the segment: this event carries the key
  // events, so that verify still finds every key's creation (../ledger/key-check.ts).
  const keyEvents = keyEventsOf(
    [
      ...(await ledger.store.query(ledger.log.id, {
        resource_type: 'api_key',
        fromIndex: m.first,
        limit: 100_000,
      })),
      ...(await ledger.store.query(ledger.log.id, {
        action: PRUNE_ACTION,
        fromIndex: m.first,
        limit: 100_000,
      })),
    ]
      .filter((e) => e.index <= m.last)
      .sort((a, b) => a.index - b.index),
  );
  const { receipt, result } = await appendLedgerEvent(
    ledger.store,
    ledger.log,
    {
      action: PRUNE_ACTION,
      resource_type: 'segment',
      resource_id: `${m.first}-${m.last}`,
      reason: `past online retention (${policy.online}); held by ${targets.length} archive target(s)`,
      metadata: {
        segment: { first: m.first, last: m.last },
        bundle_sha256: m.bundle.sha256,
        objects,
        targets: targets.map((t) => t.url),
        retention: policy,
        ...(keyEvents.length > 0 ? { api_key_events: keyEvents } : {}),
      },
    },
    now,
    (tx, r) => tx.prune({ first: m.first, last: m.last, pruneIndex: r.index }),
  );
  return { entries: result ?? 0, pruneIndex: receipt.index };
}
