/** evident retention set / show: a log's retention policy, kept as events in the log (docs/retention.md). */
import { buildPolicy, type PresetName, readPolicy, setPolicy } from '../../archive/retention.ts';
import { actorFromFlags } from '../actor-flags.ts';
import type { Context } from '../command.ts';
import { usageError } from '../errors.ts';
import { flag, str } from '../globals.ts';
import { openForWriting, openReadOnly, withLedger } from '../open-log.ts';
import { print, printJson } from '../output.ts';

/** The policy the flags describe (for init --retention too). */
export function policyFromFlags(ctx: Context, preset: string) {
  const online = str(ctx, 'online');
  const archive = str(ctx, 'archive');
  const purpose = str(ctx, 'purpose');
  const segment = str(ctx, 'segment');
  return buildPolicy({
    preset: preset as PresetName,
    ...(online !== undefined ? { online } : {}),
    ...(archive !== undefined ? { archive } : {}),
    ...(purpose !== undefined ? { purpose } : {}),
    ...(segment !== undefined ? { segment } : {}),
  });
}

export async function set(ctx: Context): Promise<number> {
  const preset = ctx.positionals[0];
  if (preset === undefined) throw usageError('name a preset: pci-dss, hipaa, soc2, gdpr or custom', 'PRESET');
  if (ctx.positionals.length > 1) throw usageError('one preset only', 'PRESET');
  const policy = policyFromFlags(ctx, preset);
  const reason = str(ctx, 'reason');
  const force = flag(ctx, 'force');
  if (reason !== undefined && !force && reason === '')
    throw usageError('--reason must not be empty', '--reason');
  const by = actorFromFlags(ctx);
  const receipt = await withLedger(await openForWriting(ctx), (l) =>
    setPolicy(l.store, l.log, policy, {
      now: ctx.now,
      force,
      ...(reason !== undefined ? { reason } : {}),
      ...(by ? { by } : {}),
    }),
  );
  if (ctx.json)
    printJson(ctx, { policy, receipt: { id: receipt.id, index: receipt.index, hash: receipt.hash } });
  else
    print(
      ctx,
      `retention ${policy.preset}: online ${policy.online}, archive ${policy.archive}, segments by ${policy.segment.by === 'month' ? 'month' : `${policy.segment.entries} entries`}; recorded as event #${receipt.index}`,
    );
  return 0;
}

export async function show(ctx: Context): Promise<number> {
  const found = await withLedger(await openReadOnly(ctx), async (l) => readPolicy(l.store, l.log));
  if (ctx.json) {
    printJson(
      ctx,
      found ? { policy: found.policy, event_index: found.index, action: found.action } : { policy: null },
    );
    return 0;
  }
  if (!found) {
    print(
      ctx,
      'no retention policy: entries are kept online for good and nothing is archived (evident retention set)',
    );
    return 0;
  }
  const p = found.policy;
  print(
    ctx,
    [
      `preset:   ${p.preset}`,
      `online:   ${p.online}`,
      `archive:  ${p.archive}`,
      `segments: ${p.segment.by === 'month' ? 'calendar month of received_at' : `${p.segment.entries} entries`}`,
      ...(p.purpose ? [`purpose:  ${p.purpose}`] : []),
      `basis:    ${p.basis}`,
      `set by event #${found.index} (${found.action})`,
    ].join('\n'),
  );
  return 0;
}
