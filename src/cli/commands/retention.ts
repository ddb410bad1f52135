/** evident retention: a log's retention policy. The work is in ../actions/retention.ts, loaded when a subcommand runs. */
import { ACTOR_OPTIONS } from '../actor-flags.ts';
import { type Command, lazy } from '../command.ts';
import { POLICY_OPTIONS } from '../retention-flags.ts';

const set: Command = {
  name: 'retention set',
  summary: "set the log's retention policy (recorded as an evident.retention.set event)",
  description:
    'Presets: pci-dss (3m online, 12m in all: PCI DSS v4.0.1 10.5.1), hipaa (6y: 45 CFR\n' +
    '164.316(b)(2)(i)), soc2 (1y, a common expectation), gdpr (--archive and --purpose required:\n' +
    'Art. 5(1)(e)), custom (--online and --archive). A policy shorter than its preset, or than the\n' +
    'policy in force, is refused unless --force with --reason (both recorded). See docs/retention.md.',
  globals: ['db', 'key', 'log'],
  options: {
    ...POLICY_OPTIONS,
    force: { type: 'boolean', description: 'record a policy shorter than its preset or the one in force' },
    reason: { type: 'string', value: 'TEXT', description: 'why (required with --force; recorded)' },
    ...ACTOR_OPTIONS,
  },
  positionals: [{ name: 'PRESET', description: 'pci-dss, hipaa, soc2, gdpr or custom' }],
  examples: [
    'evident retention set --log payments pci-dss',
    'evident retention set gdpr --archive 2y --purpose "fraud investigation"',
  ],
  run: lazy(async () => (await import('../actions/retention.ts')).set),
};

const show: Command = {
  name: 'retention show',
  summary: "show the log's retention policy and the event that set it",
  globals: ['db', 'log'],
  options: {},
  examples: ['evident retention show --log payments --json'],
  run: lazy(async () => (await import('../actions/retention.ts')).show),
};

export const retention: Command = {
  name: 'retention',
  summary: 'retention policy of a log: retention set, retention show',
  globals: [],
  options: {},
  subcommands: [set, show],
  examples: ['evident retention set hipaa', 'evident retention show'],
};
