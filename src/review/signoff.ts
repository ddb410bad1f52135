/**
 * The recorded sign-off of a periodic review: an `evident.review.signed` event written with the
 * ledger's authority (like `evident.erasure`), naming the period, the report's SHA-256 and the
 * checkpoint reviewed; optionally a C2SP cosignature (tlog-cosignature) by the reviewer on that
 * checkpoint, which anyone checks outside the log with the witness code (core/witness-policy.ts).
 * And the list of periods reviewed or overdue under a cadence.
 */
import { appendLedgerEvent } from '../archive/ledger-events.ts';
import { toBase64 } from '../core/bytes.ts';
import { cosign, cosignerFromSeed, formatCosignerKey } from '../core/cosignature.ts';
import { ErrorCode, EvidentError } from '../core/errors.ts';
import { formatSignatureLine, parseNote } from '../core/note.ts';
import type { Ledger } from '../ledger/ledger.ts';
import { periodOf } from './period.ts';

export const REVIEW_ACTION = 'evident.review.signed';

export type CadenceName = 'pci-dss' | 'hipaa' | 'soc2';
export interface Cadence {
  unit: 'day' | 'month';
  basis: string;
}
/** Review cadences and where they come from (docs/review.md). */
export const CADENCES: Readonly<Record<CadenceName, Cadence>> = {
  'pci-dss': {
    unit: 'day',
    basis: 'PCI DSS v4.0.1 10.4.1: audit logs reviewed at least once daily (automated mechanisms: 10.4.1.1)',
  },
  hipaa: {
    unit: 'month',
    basis:
      '45 CFR 164.308(a)(1)(ii)(D): regular review of information system activity; monthly is an interpretation, the rule sets no interval',
  },
  soc2: { unit: 'month', basis: 'SOC 2 (CC7.2): monthly is a common expectation, not a rule' },
};
export const CADENCE_NAMES = Object.keys(CADENCES) as CadenceName[];

export interface SignOff {
  index: number;
  period: string;
  reviewer: string;
  note: string;
  report_sha256: string | null;
  checkpoint: { size: number; root: string; note: string };
  cosignature?: { vkey: string; line: string };
  signed_at: string;
}

export interface SignInput {
  period: string;
  reviewer: string;
  note: string;
  reportSha256?: string;
  /** The reviewer's cosigner key (witness key file format). */
  key?: { name: string; seed: Uint8Array };
}

export async function signReview(l: Ledger, i: SignInput, now: () => Date): Promise<SignOff> {
  const cp = await l.latestCheckpoint();
  if (!cp)
    throw new EvidentError(
      ErrorCode.USAGE,
      'the log has no signed checkpoint to sign off: run evident checkpoint first',
      {
        field: '--log',
        rule: 'no-checkpoint',
      },
    );
  const body = parseNote(cp.note).text;
  let cosignature: SignOff['cosignature'];
  if (i.key) {
    const time = Math.floor(now().getTime() / 1000);
    const sig = cosign(body, i.key.name, i.key.seed, time);
    const signer = cosignerFromSeed(i.key.name, i.key.seed);
    cosignature = {
      vkey: formatCosignerKey(i.key.name, signer.publicKey),
      line: formatSignatureLine(sig).trimEnd(),
    };
  }
  const checkpoint = { size: cp.size, root: toBase64(cp.root), note: cp.note };
  const metadata: Record<string, unknown> = {
    period: i.period,
    reviewer: i.reviewer,
    note: i.note,
    report_sha256: i.reportSha256 ?? null,
    checkpoint,
    ...(cosignature ? { cosignature } : {}),
  };
  const { receipt } = await appendLedgerEvent(
    l.store,
    l.log,
    {
      action: REVIEW_ACTION,
      resource_type: 'review',
      resource_id: i.period,
      // Written by the ledger (actor evident, system) on the reviewer's behalf: the reviewer is
      // named in the metadata, and proves it with the cosignature when a key is given.
      metadata,
    },
    now,
  );
  return {
    index: receipt.index,
    period: i.period,
    reviewer: i.reviewer,
    note: i.note,
    report_sha256: i.reportSha256 ?? null,
    checkpoint,
    ...(cosignature ? { cosignature } : {}),
    signed_at: now().toISOString(),
  };
}

/** Every sign-off in the log, oldest first (paged through the action index). */
export async function signOffs(l: Ledger): Promise<SignOff[]> {
  const out: SignOff[] = [];
  for (let from = 0; ; ) {
    const page = await l.store.query(l.log.id, { action: REVIEW_ACTION, fromIndex: from, limit: 500 });
    for (const e of page) {
      const m = (e.metadata ?? {}) as Record<string, unknown>;
      out.push({
        index: e.index,
        period: String(m.period ?? e.resource_id),
        reviewer: String(m.reviewer ?? e.actor_id),
        note: String(m.note ?? ''),
        report_sha256: typeof m.report_sha256 === 'string' ? m.report_sha256 : null,
        checkpoint: m.checkpoint as SignOff['checkpoint'],
        ...(m.cosignature ? { cosignature: m.cosignature as NonNullable<SignOff['cosignature']> } : {}),
        signed_at: e.received_at,
      });
    }
    if (page.length < 500) break;
    from = page[page.length - 1]!.index + 1;
  }
  return out;
}

export interface ReviewStatus {
  cadence: CadenceName;
  basis: string;
  /** Complete periods since the log was created, newest first (at most `limit`). */
  periods: { period: string; reviewed: boolean; sign_offs: number[] }[];
  overdue: string[];
  up_to_date: boolean;
}

/** Periods that ended since the log was created: each reviewed (a sign-off names it) or overdue. */
export function reviewStatus(
  createdAt: string,
  offs: readonly SignOff[],
  cadence: CadenceName,
  now: Date,
  limit = 400,
): ReviewStatus {
  const c = CADENCES[cadence];
  const byPeriod = new Map<string, number[]>();
  for (const s of offs) byPeriod.set(s.period, [...(byPeriod.get(s.period) ?? []), s.index]);
  const periods: ReviewStatus['periods'] = [];
  const start = new Date(createdAt);
  const first = periodOf(start, c.unit);
  const current = periodOf(now, c.unit);
  // Walk back from the period before the current one: the current period is not due yet.
  const d = new Date(now);
  for (let n = 0; n < limit; n++) {
    if (c.unit === 'day') d.setUTCDate(d.getUTCDate() - 1);
    else d.setUTCDate(0); // the last day of the previous month
    const p = periodOf(d, c.unit);
    if (p < first || p === current) break;
    const so = byPeriod.get(p) ?? [];
    periods.push({ period: p, reviewed: so.length > 0, sign_offs: so });
  }
  const overdue = periods.filter((p) => !p.reviewed).map((p) => p.period);
  return { cadence, basis: c.basis, periods, overdue, up_to_date: overdue.length === 0 };
}
