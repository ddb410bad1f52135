/** evident report: builds the periodic review report (../../review/report.ts) and writes it as HTML, JSON or CSV. */
import { parseWorkingHours } from '../../review/aggregate.ts';
import { type Period, parsePeriod, rangePeriod } from '../../review/period.ts';
import { reportCsv, reportHtml } from '../../review/render.ts';
import { buildReport } from '../../review/report.ts';
import type { Context } from '../command.ts';
import {
  REPORT_DEFAULT_FORMAT,
  REPORT_DEFAULT_TIME_ZONE,
  REPORT_DEFAULT_WORK_DAYS,
  REPORT_DEFAULT_WORK_HOURS,
} from '../defaults.ts';
import { usageError } from '../errors.ts';
import { writeNewFile } from '../files.ts';
import { str } from '../globals.ts';
import { openReadOnly, withLedger } from '../open-log.ts';
import { note, print } from '../output.ts';
import { trustedKeys } from './verify.ts';

export const REPORT_FORMATS = ['html', 'json', 'csv'] as const;

export function periodFromFlags(ctx: Context): Period {
  const period = str(ctx, 'period');
  const from = str(ctx, 'from');
  const to = str(ctx, 'to');
  if (period !== undefined && (from !== undefined || to !== undefined))
    throw usageError('give --period or --from/--to, not both', '--period', { rule: 'exclusive' });
  if (period !== undefined) return parsePeriod(period);
  if (from === undefined && to === undefined)
    throw usageError(
      'name the period reviewed: --period YYYY-MM (or YYYY-MM-DD), or --from/--to',
      '--period',
      {
        rule: 'required',
      },
    );
  return rangePeriod(from, to);
}

export async function run(ctx: Context): Promise<number> {
  const period = periodFromFlags(ctx);
  const format = str(ctx, 'format') ?? (ctx.json ? 'json' : REPORT_DEFAULT_FORMAT);
  if (!(REPORT_FORMATS as readonly string[]).includes(format))
    throw usageError(`--format must be html, json or csv, not "${format}"`, '--format', { rule: 'enum' });
  let hours: ReturnType<typeof parseWorkingHours>;
  try {
    hours = parseWorkingHours(
      str(ctx, 'work-hours') ?? REPORT_DEFAULT_WORK_HOURS,
      str(ctx, 'work-days') ?? REPORT_DEFAULT_WORK_DAYS,
      str(ctx, 'time-zone') ?? REPORT_DEFAULT_TIME_ZONE,
    );
  } catch (e) {
    const m = (e as Error).message;
    throw usageError(m, m.split(' ')[0]!, { rule: 'format' });
  }
  const ledger = await openReadOnly(ctx);
  const report = await withLedger(ledger, async (l) => {
    const keys = await trustedKeys(ctx, l.log.origin);
    return buildReport(
      l,
      period,
      hours,
      keys.length > 0 ? { verifiers: keys.map((k) => k.verifier) } : {},
      ctx.now,
    );
  });
  const text =
    format === 'json'
      ? `${JSON.stringify(report, null, 2)}\n`
      : format === 'csv'
        ? reportCsv(report)
        : reportHtml(report);
  const out = str(ctx, 'out');
  if (out === undefined) (ctx.io.stdout as { write(s: string): void }).write(text);
  else {
    await writeNewFile(out, text, '--out');
    print(
      ctx,
      `report of ${report.log} for ${period.label} written to ${out}: ${report.figures.entries} entries, verification ${report.verification.ok ? 'ok' : 'FAILED'}`,
    );
  }
  if (!report.verification.ok)
    note(ctx, 'the log failed verification: the report shows the faults (evident verify for details)');
  return 0;
}
