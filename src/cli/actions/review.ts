/** evident review sign / list (../../review/signoff.ts). */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { loadWitnessKey } from '../../ledger/keyfile.ts';
import { parsePeriod } from '../../review/period.ts';
import { CADENCE_NAMES, type CadenceName, reviewStatus, signOffs, signReview } from '../../review/signoff.ts';
import type { Context } from '../command.ts';
import { REVIEW_DEFAULT_CADENCE } from '../defaults.ts';
import { usageError } from '../errors.ts';
import { str } from '../globals.ts';
import { openForWriting, openReadOnly, withLedger } from '../open-log.ts';
import { print, printJson } from '../output.ts';

function required(ctx: Context, name: string): string {
  const v = str(ctx, name);
  if (v === undefined || v.trim() === '')
    throw usageError(`--${name} is required and must not be empty`, `--${name}`, { rule: 'required' });
  return v;
}

export async function sign(ctx: Context): Promise<number> {
  const periodText = required(ctx, 'period');
  parsePeriod(periodText);
  const reviewer = required(ctx, 'reviewer');
  const text = required(ctx, 'note');
  const reportPath = str(ctx, 'report');
  let reportSha256: string | undefined;
  if (reportPath !== undefined) {
    let bytes: Buffer;
    try {
      bytes = await readFile(reportPath);
    } catch (e) {
      throw usageError(`--report: cannot read ${reportPath}: ${(e as Error).message}`, '--report', {
        rule: 'readable',
      });
    }
    reportSha256 = createHash('sha256').update(bytes).digest('hex');
  }
  const keyPath = str(ctx, 'reviewer-key');
  const key = keyPath !== undefined ? await loadWitnessKey(keyPath) : undefined;
  const off = await withLedger(await openForWriting(ctx), (l) =>
    signReview(
      l,
      {
        period: periodText,
        reviewer,
        note: text,
        ...(reportSha256 !== undefined ? { reportSha256 } : {}),
        ...(key ? { key: { name: key.name, seed: key.seed } } : {}),
      },
      ctx.now,
    ),
  );
  if (ctx.json) printJson(ctx, off);
  else {
    print(
      ctx,
      `review of ${off.period} signed off by ${off.reviewer}: event #${off.index}, checkpoint size ${off.checkpoint.size}${off.report_sha256 ? `, report sha256 ${off.report_sha256}` : ''}`,
    );
    if (off.cosignature)
      print(
        ctx,
        `reviewer key ${off.cosignature.vkey}\ncheckpoint cosigned by the reviewer:\n${off.checkpoint.note}${off.cosignature.line}`,
      );
  }
  return 0;
}

export function cadenceOf(text: string | undefined, field = '--cadence'): CadenceName {
  const c = text ?? REVIEW_DEFAULT_CADENCE;
  if (!(CADENCE_NAMES as string[]).includes(c))
    throw usageError(`${field} must be one of ${CADENCE_NAMES.join(', ')}, not "${c}"`, field, {
      rule: 'enum',
    });
  return c as CadenceName;
}

export async function list(ctx: Context): Promise<number> {
  const cadence = cadenceOf(str(ctx, 'cadence'));
  const status = await withLedger(await openReadOnly(ctx), async (l) =>
    reviewStatus(l.log.createdAt, await signOffs(l), cadence, ctx.now()),
  );
  if (ctx.json) {
    printJson(ctx, status);
    return 0;
  }
  const lines = [`cadence ${cadence}: ${status.basis}`];
  for (const p of status.periods.slice(0, 60))
    lines.push(`${p.period}  ${p.reviewed ? `reviewed (event #${p.sign_offs.join(', #')})` : 'OVERDUE'}`);
  if (status.periods.length === 0)
    lines.push('no period has ended since the log was created: nothing is due yet');
  lines.push(
    status.up_to_date
      ? 'status: up to date'
      : `status: ${status.overdue.length} overdue (latest ${status.overdue[0]})`,
  );
  print(ctx, lines.join('\n'));
  return 0;
}
