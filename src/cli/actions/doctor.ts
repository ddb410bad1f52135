/** evident doctor: runs the checks of ../../review/doctor.ts and prints them; exit 2 when one fails. */
import { parseJson } from '../../core/json.ts';
import { type Check, REGULATIONS, type Regulation, runChecks } from '../../review/doctor.ts';
import type { Context } from '../command.ts';
import { DOCTOR_CHECKPOINT_MAX_AGE_MS, DOCTOR_RECENT_EVENTS } from '../defaults.ts';
import { usageError } from '../errors.ts';
import { EXIT_OK } from '../exit-codes.ts';
import { readUserFile } from '../files.ts';
import { str } from '../globals.ts';
import { openReadOnly, withLedger } from '../open-log.ts';
import { print, printJson, table } from '../output.ts';

/** Doctor's exit when a check fails: the configuration falls short (an environment error), not tampering. */
export const EXIT_CHECK_FAILED = 2;

export async function run(ctx: Context): Promise<number> {
  const reg = str(ctx, 'regulation');
  if (reg !== undefined && !(REGULATIONS as readonly string[]).includes(reg))
    throw usageError(`--regulation must be one of ${REGULATIONS.join(', ')}, not "${reg}"`, '--regulation', {
      rule: 'enum',
    });
  const configPath = str(ctx, 'config');
  let config: Record<string, unknown> | undefined;
  if (configPath !== undefined) {
    let parsed: unknown;
    try {
      parsed = parseJson(await readUserFile(configPath, '--config'));
    } catch (e) {
      throw usageError(`--config: ${configPath} is not JSON: ${(e as Error).message}`, '--config', {
        rule: 'json',
      });
    }
    if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed))
      throw usageError(`--config: ${configPath} must hold a JSON object`, '--config', { rule: 'object' });
    config = parsed as Record<string, unknown>;
  }
  const checks: Check[] = await withLedger(await openReadOnly(ctx), (l) =>
    runChecks(l, {
      ...(reg !== undefined ? { regulation: reg as Regulation } : {}),
      ...(config ? { config } : {}),
      now: ctx.now(),
      checkpointMaxAgeMs: DOCTOR_CHECKPOINT_MAX_AGE_MS,
      recent: DOCTOR_RECENT_EVENTS,
    }),
  );
  if (ctx.json) printJson(ctx, { checks });
  else
    print(
      ctx,
      table(
        ['check', 'status', 'reason', 'fix'],
        checks.map((c) => [c.id, c.status.toUpperCase(), c.reason, c.status === 'pass' ? '' : c.fix]),
      ),
    );
  return checks.some((c) => c.status === 'fail') ? EXIT_CHECK_FAILED : EXIT_OK;
}
