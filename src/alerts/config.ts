/**
 * The `alerts` object of evident serve's config file (docs/alerts.md): the rules, each with
 * its defaults and `enabled`, and the sinks. Every bad value is a USAGE error naming the field
 * (`alerts.rules.failed_logins.threshold`) and the rule it breaks.
 */
import { ErrorCode, EvidentError } from '../core/errors.ts';

export const RULE_NAMES = [
  'failed_logins',
  'denied_spike',
  'off_hours',
  'bulk_reads',
  'sensitive_first_read',
  'integrity_failure',
  'witness_failure',
  'archive_failure',
  'silence',
] as const;
export type RuleName = (typeof RULE_NAMES)[number];

export interface FailedLoginsRule {
  enabled: boolean;
  threshold: number;
  windowSeconds: number;
  actions: string[];
}
export interface DeniedSpikeRule {
  enabled: boolean;
  windowSeconds: number;
  baselineWindows: number;
  factor: number;
  minCount: number;
}
export interface OffHoursRule {
  enabled: boolean;
  timeZone: string;
  days: number[];
  start: string;
  end: string;
  windowSeconds: number;
}
export interface BulkReadsRule {
  enabled: boolean;
  threshold: number;
  windowSeconds: number;
  actions: string[];
}
export interface SensitiveRule {
  enabled: boolean;
  resourceTypes: string[];
}
export interface StateRule {
  enabled: boolean;
  /** One alert per subject per this many seconds while the failure lasts. */
  windowSeconds: number;
}
export interface SilenceRule {
  enabled: boolean;
  gapSeconds: number;
  minEvents: number;
  baselineSeconds: number;
}

export interface AlertRules {
  failed_logins: FailedLoginsRule;
  denied_spike: DeniedSpikeRule;
  off_hours: OffHoursRule;
  bulk_reads: BulkReadsRule;
  sensitive_first_read: SensitiveRule;
  integrity_failure: StateRule;
  witness_failure: StateRule;
  archive_failure: StateRule;
  silence: SilenceRule;
}

export interface WebhookSink {
  name: string;
  url: string;
  /** The HMAC secret (from `secret`, or the environment variable named by `secretEnv`). */
  secret: string;
  timeoutMs: number;
}
export interface SyslogSink {
  host: string;
  port: number;
  tls: boolean;
  appName: string;
}

export interface AlertsConfig {
  enabled: boolean;
  /** How often the committed events of every log are read, in ms. */
  pollMs: number;
  rules: AlertRules;
  webhooks: WebhookSink[];
  syslog?: SyslogSink;
  /** Each alert as a line of the process log (pino JSON). */
  log: boolean;
}

/** The defaults of every rule (docs/alerts.md): on unless they need configuring first. */
export const ALERT_DEFAULTS: AlertRules & { pollMs: number; webhookTimeoutMs: number } = {
  pollMs: 1000,
  webhookTimeoutMs: 5000,
  failed_logins: {
    enabled: true,
    threshold: 5,
    windowSeconds: 300,
    actions: [
      'login',
      'logon',
      'sign_in',
      'signin',
      'authenticate',
      'auth.login',
      'user.login',
      'session.create',
    ],
  },
  denied_spike: { enabled: true, windowSeconds: 300, baselineWindows: 12, factor: 3, minCount: 10 },
  off_hours: {
    enabled: false,
    timeZone: 'UTC',
    days: [1, 2, 3, 4, 5],
    start: '07:00',
    end: '19:00',
    windowSeconds: 3600,
  },
  bulk_reads: {
    enabled: true,
    threshold: 500,
    windowSeconds: 300,
    actions: ['read', 'view', 'export', 'download', 'list', 'query', 'search', 'audit_log.*'],
  },
  sensitive_first_read: { enabled: false, resourceTypes: [] },
  integrity_failure: { enabled: true, windowSeconds: 3600 },
  witness_failure: { enabled: true, windowSeconds: 3600 },
  archive_failure: { enabled: true, windowSeconds: 3600 },
  silence: { enabled: false, gapSeconds: 3600, minEvents: 10, baselineSeconds: 86400 },
};

function bad(field: string, rule: string, message: string): EvidentError {
  return new EvidentError(ErrorCode.USAGE, `${field}: ${message}`, { field, rule });
}

type Obj = Record<string, unknown>;

function obj(v: unknown, field: string): Obj {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw bad(field, 'type', 'must be an object');
  return v as Obj;
}

function known(o: Obj, field: string, keys: readonly string[], what = 'setting'): void {
  for (const k of Object.keys(o)) {
    if (!keys.includes(k))
      throw bad(`${field}.${k}`, 'unknown', `unknown ${what} "${k}" (known: ${keys.join(', ')})`);
  }
}

function bool(o: Obj, k: string, field: string, dflt: boolean): boolean {
  const v = o[k];
  if (v === undefined) return dflt;
  if (typeof v !== 'boolean') throw bad(`${field}.${k}`, 'type', 'must be true or false');
  return v;
}

function num(o: Obj, k: string, field: string, dflt: number, min: number, max: number, whole = true): number {
  const v = o[k];
  if (v === undefined) return dflt;
  if (
    typeof v !== 'number' ||
    !Number.isFinite(v) ||
    (whole && !Number.isSafeInteger(v)) ||
    v < min ||
    v > max
  ) {
    throw bad(`${field}.${k}`, 'range', `must be a ${whole ? 'whole ' : ''}number from ${min} to ${max}`);
  }
  return v;
}

function str(
  o: Obj,
  k: string,
  field: string,
  dflt: string | undefined,
  pattern?: RegExp,
): string | undefined {
  const v = o[k];
  if (v === undefined) return dflt;
  if (typeof v !== 'string' || v === '') throw bad(`${field}.${k}`, 'type', 'must be a non-empty string');
  if (pattern && !pattern.test(v)) throw bad(`${field}.${k}`, 'format', `must match ${pattern}`);
  return v;
}

function strings(o: Obj, k: string, field: string, dflt: string[]): string[] {
  const v = o[k];
  if (v === undefined) return dflt;
  if (!Array.isArray(v) || !v.every((x) => typeof x === 'string' && x !== '' && x.length <= 200)) {
    throw bad(`${field}.${k}`, 'type', 'must be a list of non-empty strings');
  }
  return v as string[];
}

const HHMM = /^([01][0-9]|2[0-3]):[0-5][0-9]$/;

function timeZone(o: Obj, field: string, dflt: string): string {
  const tz = str(o, 'timeZone', field, dflt)!;
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: tz });
  } catch {
    throw bad(`${field}.timeZone`, 'format', `"${tz}" is not an IANA time zone`);
  }
  return tz;
}

function rule(name: RuleName, v: unknown): AlertRules[RuleName] {
  const f = `alerts.rules.${name}`;
  const o = v === false ? { enabled: false } : v === true ? {} : obj(v, f);
  const enabled = (d: boolean) => bool(o, 'enabled', f, v === true ? true : d);
  const W = 366 * 86400;
  switch (name) {
    case 'failed_logins':
    case 'bulk_reads': {
      const d = ALERT_DEFAULTS[name];
      known(o, f, ['enabled', 'threshold', 'windowSeconds', 'actions']);
      return {
        enabled: enabled(d.enabled),
        threshold: num(o, 'threshold', f, d.threshold, 1, 1e9),
        windowSeconds: num(o, 'windowSeconds', f, d.windowSeconds, 1, W),
        actions: strings(o, 'actions', f, d.actions),
      };
    }
    case 'denied_spike': {
      const d = ALERT_DEFAULTS.denied_spike;
      known(o, f, ['enabled', 'windowSeconds', 'baselineWindows', 'factor', 'minCount']);
      return {
        enabled: enabled(d.enabled),
        windowSeconds: num(o, 'windowSeconds', f, d.windowSeconds, 1, W),
        baselineWindows: num(o, 'baselineWindows', f, d.baselineWindows, 1, 1000),
        factor: num(o, 'factor', f, d.factor, 1, 1e6, false),
        minCount: num(o, 'minCount', f, d.minCount, 1, 1e9),
      };
    }
    case 'off_hours': {
      const d = ALERT_DEFAULTS.off_hours;
      known(o, f, ['enabled', 'timeZone', 'days', 'start', 'end', 'windowSeconds']);
      const days = o['days'] ?? d.days;
      if (
        !Array.isArray(days) ||
        !days.every((x) => Number.isInteger(x) && (x as number) >= 0 && (x as number) <= 6)
      ) {
        throw bad(`${f}.days`, 'type', 'must be a list of week days, 0 (Sunday) to 6 (Saturday)');
      }
      return {
        enabled: enabled(o === v ? true : d.enabled),
        timeZone: timeZone(o, f, d.timeZone),
        days: days as number[],
        start: str(o, 'start', f, d.start, HHMM)!,
        end: str(o, 'end', f, d.end, HHMM)!,
        windowSeconds: num(o, 'windowSeconds', f, d.windowSeconds, 1, W),
      };
    }
    case 'sensitive_first_read': {
      known(o, f, ['enabled', 'resourceTypes']);
      const resourceTypes = strings(o, 'resourceTypes', f, []);
      return { enabled: enabled(resourceTypes.length > 0), resourceTypes };
    }
    case 'silence': {
      const d = ALERT_DEFAULTS.silence;
      known(o, f, ['enabled', 'gapSeconds', 'minEvents', 'baselineSeconds']);
      return {
        enabled: enabled(o === v ? true : d.enabled),
        gapSeconds: num(o, 'gapSeconds', f, d.gapSeconds, 1, W),
        minEvents: num(o, 'minEvents', f, d.minEvents, 1, 1e9),
        baselineSeconds: num(o, 'baselineSeconds', f, d.baselineSeconds, 1, W),
      };
    }
    default: {
      const d = ALERT_DEFAULTS[name];
      known(o, f, ['enabled', 'windowSeconds']);
      return {
        enabled: enabled(d.enabled),
        windowSeconds: num(o, 'windowSeconds', f, d.windowSeconds, 1, W),
      };
    }
  }
}

/** Parses and checks the `alerts` object; `env` resolves `secretEnv`. */
export function parseAlertsConfig(v: unknown, env: Record<string, string | undefined> = {}): AlertsConfig {
  const o = v === undefined ? {} : obj(v, 'alerts');
  known(o, 'alerts', ['enabled', 'pollMs', 'rules', 'sinks']);
  const rulesIn = o['rules'] === undefined ? {} : obj(o['rules'], 'alerts.rules');
  known(rulesIn, 'alerts.rules', RULE_NAMES, 'rule');
  const rules = {} as Record<RuleName, unknown>;
  for (const name of RULE_NAMES) {
    rules[name] =
      rulesIn[name] === undefined ? structuredClone(ALERT_DEFAULTS[name]) : rule(name, rulesIn[name]);
  }
  const sinks = o['sinks'] === undefined ? {} : obj(o['sinks'], 'alerts.sinks');
  known(sinks, 'alerts.sinks', ['webhooks', 'syslog', 'log'], 'sink');
  const hooks = sinks['webhooks'] ?? [];
  if (!Array.isArray(hooks)) throw bad('alerts.sinks.webhooks', 'type', 'must be a list of webhooks');
  const names = new Set<string>();
  const webhooks = hooks.map((h, i): WebhookSink => {
    const f = `alerts.sinks.webhooks[${i}]`;
    const w = obj(h, f);
    known(w, f, ['name', 'url', 'secret', 'secretEnv', 'timeoutMs']);
    const url = str(w, 'url', f, undefined);
    let parsed: URL | undefined;
    try {
      parsed = url === undefined ? undefined : new URL(url);
    } catch {}
    if (!parsed || (parsed.protocol !== 'http:' && parsed.protocol !== 'https:')) {
      throw bad(`${f}.url`, 'url', 'must be an http:// or https:// URL');
    }
    const name = str(w, 'name', f, `webhook-${i + 1}`, /^[A-Za-z0-9._-]{1,64}$/)!;
    if (names.has(name)) throw bad(`${f}.name`, 'unique', `"${name}" names two webhooks`);
    names.add(name);
    const secretEnv = str(w, 'secretEnv', f, undefined);
    const secret = str(w, 'secret', f, undefined) ?? (secretEnv === undefined ? undefined : env[secretEnv]);
    if (secret === undefined || secret === '') {
      throw bad(
        `${f}.secret`,
        'required',
        secretEnv === undefined ? 'a webhook needs a secret or secretEnv' : `$${secretEnv} is not set`,
      );
    }
    return {
      name,
      url: url!,
      secret,
      timeoutMs: num(w, 'timeoutMs', f, ALERT_DEFAULTS.webhookTimeoutMs, 1, 600_000),
    };
  });
  let syslog: SyslogSink | undefined;
  if (sinks['syslog'] !== undefined) {
    const f = 'alerts.sinks.syslog';
    const s = obj(sinks['syslog'], f);
    known(s, f, ['host', 'port', 'tls', 'appName']);
    syslog = {
      host: str(s, 'host', f, undefined) ?? '',
      port: num(s, 'port', f, 0, 1, 65535),
      tls: bool(s, 'tls', f, false),
      appName: str(s, 'appName', f, 'evident', /^[!-~]{1,48}$/)!,
    };
    if (syslog.host === '') throw bad(`${f}.host`, 'required', 'the syslog collector needs a host');
    if (syslog.port === 0) throw bad(`${f}.port`, 'required', 'the syslog collector needs a port');
  }
  return {
    enabled: bool(o, 'enabled', 'alerts', true),
    pollMs: num(o, 'pollMs', 'alerts', ALERT_DEFAULTS.pollMs, 10, 3_600_000),
    rules: rules as unknown as AlertRules,
    webhooks,
    ...(syslog ? { syslog } : {}),
    log: bool(sinks, 'log', 'alerts.sinks', true),
  };
}
