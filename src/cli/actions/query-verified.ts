/**
 * evident query --verified: the auditor's query. An ordinary query answers from the
 * database's indexes, which no hash covers (a partial index, a row-level security policy can
 * hide rows). This one verifies the whole log, as evident verify does, and filters the
 * entries just verified in the process: it answers only when the log verifies (exit 0), and
 * prints the verification report instead of results when it does not (exit 1).
 */
import type { Entry } from '../../core/event/entry.ts';
import { describeReport } from '../../core/verify/report.ts';
import type { EntryFilter } from '../../store/types.ts';
import type { Context } from '../command.ts';
import { EXIT_OK, EXIT_TAMPERED } from '../errors.ts';
import { readUserFile } from '../files.ts';
import { strs } from '../globals.ts';
import type { TrustedKey } from '../keys.ts';
import { openReadOnly, withLedger } from '../open-log.ts';
import { note, print, printJson, table } from '../output.ts';
import { trustedKeys } from './verify.ts';

export async function run(ctx: Context, filter: EntryFilter, limit: number): Promise<number> {
  const trusted = await Promise.all(
    strs(ctx, 'trusted-checkpoint').map((f) => readUserFile(f, '--trusted-checkpoint')),
  );
  const ledger = await openReadOnly(ctx);
  let keys: TrustedKey[];
  try {
    keys = await trustedKeys(ctx, ledger.log.origin);
  } catch (e) {
    await ledger.close();
    throw e;
  }
  const result = await withLedger(ledger, (l) =>
    l.verifiedQuery(
      { ...filter, limit },
      { ...(keys.length > 0 ? { verifiers: keys.map((k) => k.verifier) } : {}), trusted },
    ),
  );
  const { report, entries } = result;
  if (!report.ok) {
    // results read from a log that fails verification prove nothing: the report instead
    if (ctx.json) printJson(ctx, report);
    else print(ctx, describeReport(report));
    return EXIT_TAMPERED;
  }
  for (const w of report.warnings) note(ctx, `warning: ${w}`);
  note(
    ctx,
    `verified ${report.entries} entries of ${report.origin} (${report.verified_size} under a signed checkpoint); ${result.matched} match${result.matched > entries.length ? `, ${entries.length} shown (--limit)` : ''}`,
  );
  // Cut by --limit: said as plain query says it (the same last line in --json), with where to go on.
  const last = entries.at(-1);
  const next =
    result.matched > entries.length && last
      ? filter.descending
        ? last.index - 1
        : last.index + 1
      : undefined;
  if (ctx.json) {
    ctx.io.stdout.write(entries.map((e) => `${JSON.stringify(e)}\n`).join(''));
    if (next !== undefined) printJson(ctx, { truncated: true, next_cursor: next });
    return EXIT_OK;
  }
  if (entries.length > 0) print(ctx, table(HEAD, entries.map(row)));
  if (next !== undefined) note(ctx, `more match: go on with --from-index ${next}`);
  return EXIT_OK;
}

const HEAD = ['INDEX', 'TIMESTAMP', 'ACTOR', 'ACTION', 'RESOURCE', 'RESULT', 'IP'];

const row = (e: Entry) => [
  String(e.index),
  e.timestamp,
  `${e.actor_type}:${e.actor_id}`,
  e.action,
  `${e.resource_type}/${e.resource_id}`,
  e.result,
  e.ip_address ?? (e.erased?.includes('ip_address') ? '(erased)' : '-'),
];
