/**
 * Retention policies (docs/retention.md). A log's policy is the latest `evident.retention.set`
 * event in the log itself, or the policy an `evident.prune` event restates (so the policy
 * survives the pruning of the event that set it): tamper-evident like every entry, and no
 * table or migration. Presets follow the standards' own text; where a figure is an
 * interpretation, docs/retention.md says so.
 */

import { ErrorCode, EvidentError } from '../core/errors.ts';
import { PRUNE_ACTION } from '../core/event/prune.ts';
import type { Receipt } from '../ledger/integrate.ts';
import type { LogInfo, Store } from '../store/types.ts';
import { type Duration, durationDays, formatDuration, parseDuration } from './duration.ts';
import { appendLedgerEvent, latestEvent } from './ledger-events.ts';

export const RETENTION_ACTION = 'evident.retention.set';

export type PresetName = 'pci-dss' | 'hipaa' | 'soc2' | 'gdpr' | 'custom';
export const PRESET_NAMES: readonly PresetName[] = ['pci-dss', 'hipaa', 'soc2', 'gdpr', 'custom'];

/** How a log is cut into segments: by calendar month (UTC) of received_at, or every N entries. */
export type SegmentRule = { by: 'month' } | { by: 'count'; entries: number };

export interface RetentionPolicy {
  preset: PresetName;
  /** How long entries stay in the primary store ("immediately available"). */
  online: string;
  /** How long archived segments are kept in all, from their last entry (the archive's retainUntil). */
  archive: string;
  /** Why the data is kept (required for gdpr: Art. 5(1)(e) storage limitation). */
  purpose?: string;
  segment: SegmentRule;
  /** Where the figures come from. */
  basis: string;
}

interface Preset {
  online: string;
  archive: string;
  basis: string;
}

/** The presets; `gdpr` and `custom` have no figures of their own: the user gives them. */
export const PRESETS: Readonly<Record<'pci-dss' | 'hipaa' | 'soc2', Preset>> = {
  'pci-dss': {
    online: '3m',
    archive: '12m',
    basis:
      'PCI DSS v4.0.1 req. 10.5.1: audit log history kept at least 12 months, the most recent 3 months immediately available',
  },
  hipaa: {
    online: '1y',
    archive: '6y',
    basis:
      '45 CFR 164.316(b)(2)(i): documentation kept 6 years (the usual reading for audit records of ePHI access; 164.312(b) sets no period); 1 year online is a choice, not a rule',
  },
  soc2: {
    online: '1y',
    archive: '1y',
    basis:
      'SOC 2 (AICPA TSC CC7.2): no fixed period; 1 year, covering the audit period, is a common auditor expectation',
  },
};

export interface PolicyInput {
  preset: PresetName;
  online?: string;
  archive?: string;
  purpose?: string;
  /** `month`, or a whole number of entries per segment. */
  segment?: string;
}

const usage = (message: string, field: string, rule: string, extra: Record<string, unknown> = {}) =>
  new EvidentError(ErrorCode.USAGE, message, { field, rule, ...extra });

export function parseSegmentRule(text: string | undefined): SegmentRule {
  if (text === undefined || text === 'month') return { by: 'month' };
  if (/^[1-9][0-9]{0,8}$/.test(text)) return { by: 'count', entries: Number(text) };
  throw usage(
    '--segment must be "month" or a whole number of entries (1 to 999999999)',
    '--segment',
    'segment',
  );
}

/** A policy from a preset and the flags; refuses what the preset's own rule needs and lacks. */
export function buildPolicy(i: PolicyInput): RetentionPolicy {
  if (!PRESET_NAMES.includes(i.preset)) {
    throw usage(
      `unknown retention preset "${i.preset}": one of ${PRESET_NAMES.join(', ')}`,
      'preset',
      'preset',
    );
  }
  const segment = parseSegmentRule(i.segment);
  if (i.preset === 'gdpr') {
    if (i.archive === undefined)
      throw usage(
        'gdpr has no fixed period: give it with --archive (e.g. 2y)',
        '--archive',
        'gdpr_needs_duration',
      );
    if (i.purpose === undefined || i.purpose.trim() === '')
      throw usage(
        'gdpr keeps data only for a stated purpose: give --purpose',
        '--purpose',
        'gdpr_needs_purpose',
      );
  }
  if (i.preset === 'custom' && (i.online === undefined || i.archive === undefined)) {
    throw usage(
      'custom needs both --online and --archive',
      i.online === undefined ? '--online' : '--archive',
      'custom_needs_durations',
    );
  }
  const base = i.preset === 'gdpr' || i.preset === 'custom' ? undefined : PRESETS[i.preset];
  const archive = i.archive ?? base!.archive;
  // GDPR: nothing is kept longer than the stated period, online included.
  const online = i.online ?? base?.online ?? archive;
  const a = parseDuration(archive, '--archive');
  const o = parseDuration(online, '--online');
  if (durationDays(o) > durationDays(a)) {
    throw usage(
      '--online cannot be longer than --archive (the whole retention period)',
      '--online',
      'online_beyond_archive',
    );
  }
  return {
    preset: i.preset,
    online: formatDuration(o),
    archive: formatDuration(a),
    ...(i.purpose !== undefined ? { purpose: i.purpose } : {}),
    segment,
    basis:
      base?.basis ??
      (i.preset === 'gdpr'
        ? 'GDPR Art. 5(1)(e) storage limitation: kept no longer than the stated purpose needs'
        : 'custom: set by the operator'),
  };
}

/**
 * What makes a change need --force and a reason: a period shorter than its preset's minimum,
 * or shorter than the policy in force (less evidence kept than promised before).
 */
export function shortenings(next: RetentionPolicy, current: RetentionPolicy | undefined): string[] {
  const out: string[] = [];
  const shorter = (x: string, y: string) =>
    durationDays(parseDuration(x, 'duration')) < durationDays(parseDuration(y, 'duration'));
  const base = next.preset in PRESETS ? PRESETS[next.preset as keyof typeof PRESETS] : undefined;
  if (base && shorter(next.online, base.online))
    out.push(`online ${next.online} is shorter than ${next.preset}'s ${base.online}`);
  if (base && shorter(next.archive, base.archive))
    out.push(`archive ${next.archive} is shorter than ${next.preset}'s ${base.archive}`);
  if (current && shorter(next.archive, current.archive))
    out.push(`archive ${next.archive} is shorter than the policy in force (${current.archive})`);
  if (current && shorter(next.online, current.online))
    out.push(`online ${next.online} is shorter than the policy in force (${current.online})`);
  return out;
}

export interface PolicyInForce {
  policy: RetentionPolicy;
  /** The event that set (or last restated) it. */
  index: number;
  action: string;
}

/** The log's policy: the latest retention event, or the policy a later prune event restates. */
export async function readPolicy(store: Store, log: LogInfo): Promise<PolicyInForce | undefined> {
  const set = await latestEvent(store, log, RETENTION_ACTION);
  const prune = await latestEvent(store, log, PRUNE_ACTION);
  const pick = prune && (!set || prune.index > set.index) ? prune : set;
  const policy = (pick?.metadata as { retention?: unknown } | undefined)?.retention;
  if (!pick || typeof policy !== 'object' || policy === null) return undefined;
  return { policy: policy as RetentionPolicy, index: pick.index, action: pick.action };
}

export interface SetPolicyOptions {
  force?: boolean;
  reason?: string;
  by?: { id: string; type: 'admin' | 'system' | 'user' | 'service'; ip_address?: string };
  now: () => Date;
}

/** Records a policy as an `evident.retention.set` event; a shortening needs force and a reason. */
export async function setPolicy(
  store: Store,
  log: LogInfo,
  policy: RetentionPolicy,
  o: SetPolicyOptions,
): Promise<Receipt> {
  const current = (await readPolicy(store, log))?.policy;
  const short = shortenings(policy, current);
  if (short.length > 0 && !o.force) {
    throw usage(
      `refused: ${short.join('; ')}. Give --force with --reason to record the shorter policy`,
      '--force',
      'retention_shortened',
      { shortened: short },
    );
  }
  if (short.length > 0 && (o.reason === undefined || o.reason.trim() === '')) {
    throw usage('a shorter policy needs --reason (recorded in the event)', '--reason', 'reason_required', {
      shortened: short,
    });
  }
  const { receipt } = await appendLedgerEvent(
    store,
    log,
    {
      action: RETENTION_ACTION,
      resource_type: 'log',
      resource_id: log.name,
      ...(o.reason !== undefined ? { reason: o.reason } : {}),
      metadata: {
        retention: policy,
        ...(current ? { previous: current } : {}),
        ...(short.length > 0 ? { forced: short } : {}),
      },
      ...(o.by ? { by: o.by } : {}),
    },
    o.now,
  );
  return receipt;
}

export function durationOf(text: string): Duration {
  return parseDuration(text, 'duration');
}
