/**
 * The periodic review report: the verification of the log (as `evident verify` runs it), the
 * checkpoint it ends on with the witness cosignatures stored beside it, and the figures of the
 * period (./aggregate.ts), gathered while the verifier reads the entries: one pass, bounded memory.
 */
import { readTargets } from '../archive/config.ts';
import { readPolicy } from '../archive/retention.ts';
import { parseNote } from '../core/note.ts';
import type { VerifyReport } from '../core/verify/report.ts';
import { cosignedNote } from '../ledger/cosigned.ts';
import type { Ledger } from '../ledger/ledger.ts';
import type { VerifyOptions } from '../ledger/verify.ts';
import { Aggregator, type Figures, type WorkingHours } from './aggregate.ts';
import type { Period } from './period.ts';

export const REPORT_FORMAT = 'evident-review-report/v1';

export interface ReportCheckpoint {
  size: number;
  created_at: string;
  /** The signed note with the stored cosignatures appended. */
  note: string;
  /** Names of every signature line on the note (the log's first). */
  signed_by: string[];
}

export interface Report {
  format: typeof REPORT_FORMAT;
  log: string;
  origin: string;
  period: Period;
  generated_at: string;
  working_hours: { hours: string; days: number[]; time_zone: string };
  verification: {
    ok: boolean;
    entries: number;
    verified_size: number;
    root: string;
    first_bad_index: number | null;
    faults: { kind: string; index: number | null; message: string }[];
    warnings: string[];
  };
  checkpoint: ReportCheckpoint | null;
  figures: Figures;
  retention: {
    policy: Record<string, unknown> | null;
    targets: string[];
    pruned: { first: number; last: number; prune_index: number }[];
  };
}

const hhmm = (m: number) =>
  `${String(Math.floor(m / 60)).padStart(2, '0')}:${String(m % 60).padStart(2, '0')}`;

export async function buildReport(
  l: Ledger,
  period: Period,
  hours: WorkingHours,
  verify: Omit<VerifyOptions, 'onEntries'>,
  now: () => Date,
): Promise<Report> {
  const agg = new Aggregator(period.from, period.to, hours);
  const v: VerifyReport = await l.verify({ ...verify, onEntries: (page) => agg.addPage(page) });
  const latest = await l.latestCheckpoint();
  let checkpoint: ReportCheckpoint | null = null;
  if (latest) {
    const note = await cosignedNote(l.store, l.log.id, latest);
    checkpoint = {
      size: latest.size,
      created_at: latest.createdAt,
      note,
      signed_by: parseNote(note).signatures.map((s) => s.name),
    };
  }
  const policy = await readPolicy(l.store, l.log);
  const targets = await readTargets(l.store, l.log);
  const pruned = (await l.store.prunedRanges(l.log.id)).map((r) => ({
    first: r.first,
    last: r.last,
    prune_index: r.pruneIndex,
  }));
  return {
    format: REPORT_FORMAT,
    log: l.log.name,
    origin: l.log.origin,
    period,
    generated_at: now().toISOString(),
    working_hours: {
      hours: `${hhmm(hours.start)}-${hhmm(hours.end)}`,
      days: [...hours.days].sort(),
      time_zone: hours.timeZone,
    },
    verification: {
      ok: v.ok,
      entries: v.entries,
      verified_size: v.verified_size,
      root: v.root,
      first_bad_index: v.first_bad_index,
      faults: v.faults.slice(0, 50).map((f) => ({ kind: f.kind, index: f.index, message: f.message })),
      warnings: v.warnings,
    },
    checkpoint,
    figures: agg.figures(),
    retention: {
      policy: policy
        ? { ...(policy.policy as unknown as Record<string, unknown>), event_index: policy.index }
        : null,
      targets,
      pruned,
    },
  };
}
