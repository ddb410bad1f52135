/**
 * evident doctor's checks: the running configuration against the audit-log checklist, item by
 * item, each pass, warn or fail with the reason and the fix (docs/review.md lists them).
 */
import { readTargets } from '../archive/config.ts';
import { type PresetName, readPolicy, shortenings } from '../archive/retention.ts';
import type { Ledger } from '../ledger/ledger.ts';
import { AUDIT_LOG_PREFIX } from './aggregate.ts';
import { type CadenceName, reviewStatus, signOffs } from './signoff.ts';

export type CheckStatus = 'pass' | 'warn' | 'fail';
export interface Check {
  id: string;
  status: CheckStatus;
  reason: string;
  fix: string;
}

export type Regulation = 'pci-dss' | 'hipaa' | 'soc2' | 'gdpr';
export const REGULATIONS: readonly Regulation[] = ['pci-dss', 'hipaa', 'soc2', 'gdpr'];

export interface DoctorInput {
  regulation?: Regulation;
  /** The serve config file's parsed JSON, when one was given. */
  config?: Record<string, unknown>;
  now: Date;
  /** Checkpoints older than this are reported stale (milliseconds). */
  checkpointMaxAgeMs: number;
  /** Recent events inspected. */
  recent: number;
}

const LOOPBACK = /^(127\.|::1$|::ffff:127\.)/;

export async function runChecks(l: Ledger, i: DoctorInput): Promise<Check[]> {
  const checks: Check[] = [];
  const add = (id: string, status: CheckStatus, reason: string, fix = '') =>
    checks.push({ id, status, reason, fix });
  const size = await l.size();
  const recent = (await l.store.query(l.log.id, { descending: true, limit: i.recent })).filter(
    (e) => !e.action.startsWith('evident.'),
  );

  // 1. Required fields in recent events.
  if (recent.length === 0)
    add(
      'required-fields',
      'warn',
      'no application events yet to inspect',
      'append events from your application (evident append, the HTTP API or a middleware)',
    );
  else {
    const noIp = recent.filter((e) => e.actor_type !== 'system' && e.ip_address === undefined).length;
    if (noIp > 0)
      add(
        'required-fields',
        'warn',
        `${noIp} of the latest ${recent.length} events by a non-system actor carry no ip_address (where from)`,
        'send ip_address with every event of a user, service, admin or anonymous actor',
      );
    else
      add(
        'required-fields',
        'pass',
        `the latest ${recent.length} events carry who, what, when, where from, on what and the result`,
      );
  }

  // 2. Tamper evidence: a signed checkpoint, recent and covering the log; a verifier key recorded.
  const cp = await l.latestCheckpoint();
  if (!l.log.vkey)
    add(
      'tamper-evidence',
      'fail',
      'no verifier key recorded for the log',
      'recreate the log with evident init',
    );
  else if (!cp)
    add(
      'tamper-evidence',
      'fail',
      'the log has no signed checkpoint',
      'run evident checkpoint (or serve, which signs on a schedule)',
    );
  else {
    const age = i.now.getTime() - Date.parse(cp.createdAt);
    if (cp.size < size && age > i.checkpointMaxAgeMs)
      add(
        'tamper-evidence',
        'warn',
        `the latest checkpoint (size ${cp.size}, ${cp.createdAt}) leaves ${size - cp.size} entries unsigned`,
        'run evident checkpoint on a schedule, or serve (it signs every few seconds)',
      );
    else
      add(
        'tamper-evidence',
        'pass',
        `checkpoint of size ${cp.size} signed ${cp.createdAt}; verifier key ${l.log.vkey}`,
      );
  }

  // 3. Append-only: triggers (and on PostgreSQL grants) as the migrations made them.
  const schema = await l.store.schemaCheck();
  if (schema.unchecked)
    add(
      'append-only',
      'warn',
      `the schema could not be checked: ${schema.unchecked}`,
      'open the store as its owner',
    );
  else if (schema.drifts.length > 0)
    add(
      'append-only',
      'fail',
      `schema drift: ${schema.drifts.map((d) => `${d.object} ${d.name} ${d.change}`).join('; ')}`,
      'restore the triggers and grants (run evident verify for the details, re-run the migrations as the owner) and find out who changed them',
    );
  else
    add(
      'append-only',
      'pass',
      'the append-only triggers (and grants on PostgreSQL) are as the migrations made them',
    );

  // 4. Centralised: events from more than this host, or the HTTP service in use.
  const remote = recent.some((e) => e.ip_address !== undefined && !LOOPBACK.test(e.ip_address));
  const served = i.config !== undefined || recent.some((e) => e.action.startsWith(AUDIT_LOG_PREFIX));
  if (remote || served)
    add(
      'centralised',
      'pass',
      served ? 'the HTTP service is configured or in use' : 'events arrive from other hosts',
    );
  else
    add(
      'centralised',
      'warn',
      'every recent event comes from this host and the HTTP service is not in use',
      'run evident serve and send events from your services to it',
    );

  // 5. Retention policy, matching the chosen regulation.
  const policy = await readPolicy(l.store, l.log);
  if (!policy)
    add(
      'retention',
      'fail',
      'no retention policy is set',
      `evident retention set ${i.regulation ?? 'pci-dss|hipaa|soc2|gdpr'}`,
    );
  else if (i.regulation === undefined)
    add(
      'retention',
      'pass',
      `retention ${policy.policy.preset} (online ${policy.policy.online}, archive ${policy.policy.archive})`,
    );
  else if (i.regulation === 'gdpr') {
    if (policy.policy.purpose)
      add(
        'retention',
        'pass',
        `retention for the purpose "${policy.policy.purpose}", archive ${policy.policy.archive}`,
      );
    else
      add(
        'retention',
        'fail',
        'GDPR Art. 5(1)(e) asks for a period tied to a purpose; the policy names none',
        'evident retention set gdpr --archive 2y --purpose "..."',
      );
  } else {
    const short = shortenings({ ...policy.policy, preset: i.regulation as PresetName }, undefined);
    if (short.length > 0)
      add(
        'retention',
        'fail',
        `the policy is shorter than ${i.regulation} asks: ${short.join('; ')}`,
        `evident retention set ${i.regulation}`,
      );
    else
      add(
        'retention',
        'pass',
        `retention ${policy.policy.online} online, ${policy.policy.archive} in all meets ${i.regulation}`,
      );
  }

  // 6. Alerts configured: the serve config's `alerts` key, with at least one sink (by key presence).
  const alerts = i.config?.alerts;
  const sinks = Array.isArray(alerts)
    ? alerts.length
    : alerts && typeof alerts === 'object'
      ? Object.keys(alerts).length
      : 0;
  if (sinks > 0)
    add('alerts', 'pass', `the config file's alerts section names ${sinks} entr${sinks === 1 ? 'y' : 'ies'}`);
  else
    add(
      'alerts',
      'fail',
      i.config
        ? 'the config file has no alerts section (or an empty one)'
        : 'no config file given (--config): alerts cannot be checked',
      'add an alerts section with at least one sink to the serve config file, and pass it with --config',
    );

  // 7. Reviews up to date.
  const cadence: CadenceName = i.regulation === 'pci-dss' || i.regulation === 'hipaa' ? i.regulation : 'soc2';
  const status = reviewStatus(l.log.createdAt, await signOffs(l), cadence, i.now);
  if (status.up_to_date) add('reviews', 'pass', `every ${cadence} review period so far is signed off`);
  else
    add(
      'reviews',
      'fail',
      `${status.overdue.length} ${cadence} review period(s) overdue, the latest ${status.overdue[0]}`,
      `evident report --period ${status.overdue[0]} --out report.html, then evident review sign --period ${status.overdue[0]} --reviewer NAME --note TEXT --report report.html`,
    );

  // 8. Access to the log audited.
  const accessed =
    (await l.store.query(l.log.id, { descending: true, limit: 1, action: 'audit_log.query' })).length > 0 ||
    recent.some((e) => e.action.startsWith(AUDIT_LOG_PREFIX));
  if (accessed) add('log-access-audited', 'pass', 'reads of the log are recorded (audit_log.* events)');
  else
    add(
      'log-access-audited',
      i.config ? 'fail' : 'warn',
      'no audit_log.* events: reads of the log are not recorded, or the log is not read through the HTTP service',
      'read the log through evident serve, which records every read as an audit_log.* event',
    );

  // 9. Backup or archive apart from the primary store; 10. a WORM target.
  const targets = await readTargets(l.store, l.log);
  if (targets.length > 0) add('archive', 'pass', `archive target(s): ${targets.join(', ')}`);
  else
    add(
      'archive',
      'fail',
      'no archive target: the primary store is the only copy',
      'evident archive target add file:///... or s3://bucket/prefix',
    );
  if (targets.some((t) => t.startsWith('s3://')))
    add('worm-archive', 'pass', 'an s3:// target (S3 Object Lock) holds the archive');
  else
    add(
      'worm-archive',
      'warn',
      'no WORM target: no archive target is an s3:// bucket under Object Lock',
      'evident archive target add s3://bucket/prefix (a bucket with Object Lock in compliance mode)',
    );
  // 11. PostgreSQL: an acknowledged append is on a standby too (docs/high-availability.md).
  const rep = await l.store.replication?.();
  if (rep) {
    const streaming = rep.standbys.length;
    const sync = rep.standbys.filter((s) => s.syncState === 'sync' || s.syncState === 'quorum').length;
    const seen = rep.standbys.some((s) => s.syncState !== null)
      ? `${streaming} standby(s) streaming, ${sync} synchronous`
      : `${streaming} standby(s) streaming (details need pg_read_all_stats)`;
    const fix = 'docs/high-availability.md: synchronous_standby_names and synchronous_commit = on';
    if (rep.inRecovery)
      add(
        'replication',
        'warn',
        "the server is a standby: its settings are not the primary's",
        'run evident doctor against the primary',
      );
    else if (rep.synchronousStandbyNames.trim() === '')
      add(
        'replication',
        'warn',
        `no synchronous standby: an acknowledged append is on this server only (${seen})`,
        fix,
      );
    else if (!['on', 'remote_apply'].includes(rep.synchronousCommit))
      add(
        'replication',
        'warn',
        `synchronous_commit is ${rep.synchronousCommit}: commits do not wait until a standby has flushed them`,
        fix,
      );
    else if (streaming === 0)
      add(
        'replication',
        'warn',
        `synchronous_standby_names is '${rep.synchronousStandbyNames}' but no standby streams: appends wait`,
        'start the standby, or list two synchronous candidates (ANY 1 (s1, s2))',
      );
    else
      add(
        'replication',
        'pass',
        `synchronous_standby_names '${rep.synchronousStandbyNames}', synchronous_commit ${rep.synchronousCommit}; ${seen}`,
      );
  }
  return checks;
}
