/** evident doctor: the configuration against the audit-log checklist. The work is in ../actions/doctor.ts. */
import { type Command, lazy } from '../command.ts';

export const doctor: Command = {
  name: 'doctor',
  summary: 'check the configuration against the audit-log checklist: pass, warn or fail, with the fix',
  description:
    'Checks: required-fields, tamper-evidence, append-only, centralised, retention, alerts,\n' +
    'reviews, log-access-audited, archive, worm-archive (docs/review.md). Exit 0 when no check\n' +
    'fails (warnings allowed), 2 when one fails: a configuration short of the checklist is an\n' +
    'environment error, not evidence of tampering (exit 1 stays reserved for that).',
  globals: ['db', 'log'],
  options: {
    config: {
      type: 'string',
      value: 'FILE',
      description: 'the serve config file (JSON): its alerts section is checked',
    },
    regulation: {
      type: 'string',
      value: 'NAME',
      description: 'pci-dss, hipaa, soc2 or gdpr: the retention and review cadence to check against',
    },
  },
  examples: ['evident doctor --regulation pci-dss --config evident.json', 'evident doctor --json'],
  run: lazy(async () => (await import('../actions/doctor.ts')).run),
};
