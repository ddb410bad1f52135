/** evident review sign / list: the recorded sign-off of a periodic review. The work is in ../actions/review.ts. */
import { type Command, lazy } from '../command.ts';
import { REVIEW_DEFAULT_CADENCE } from '../defaults.ts';

const sign: Command = {
  name: 'review sign',
  summary:
    "record the sign-off of a period's review (an evident.review.signed event), optionally cosigned by the reviewer",
  description:
    "Names the period, the report file's SHA-256 (--report) and the latest signed checkpoint.\n" +
    'With --key (a cosigner key file, as evident witness init writes) the reviewer also cosigns\n' +
    'that checkpoint (C2SP tlog-cosignature): the line is printed and recorded, and anyone checks\n' +
    'it outside the log like a witness cosignature. See docs/review.md.',
  globals: ['db', 'key', 'log'],
  options: {
    period: {
      type: 'string',
      value: 'YYYY-MM',
      description: 'the month (YYYY-MM) or day (YYYY-MM-DD) reviewed',
    },
    reviewer: { type: 'string', value: 'NAME', description: 'who reviewed (recorded as the actor)' },
    note: { type: 'string', value: 'TEXT', description: 'what the review found (recorded)' },
    report: { type: 'string', value: 'FILE', description: 'the report reviewed: its SHA-256 is recorded' },
    'reviewer-key': {
      type: 'string',
      value: 'FILE',
      description:
        "the reviewer's cosigner key file (evident witness init --key FILE): cosign the checkpoint",
    },
  },
  examples: [
    'evident review sign --period 2026-11 --reviewer alice --note "no findings" --report review-2026-11.html',
  ],
  run: lazy(async () => (await import('../actions/review.ts')).sign),
};

const list: Command = {
  name: 'review list',
  summary: 'which periods are reviewed and which are overdue under a cadence',
  description:
    'Cadences: pci-dss daily (PCI DSS v4.0.1 10.4.1), hipaa monthly (an interpretation of 45 CFR\n' +
    '164.308(a)(1)(ii)(D)), soc2 monthly (a common expectation). The current period is not due yet.\n' +
    'Exit 0 in both cases, the status printed (and "up_to_date" in --json): an overdue review is\n' +
    'not tampering and not an input error. evident doctor fails its reviews check on it.',
  globals: ['db', 'log'],
  options: {
    cadence: {
      type: 'string',
      value: 'CADENCE',
      description: 'pci-dss, hipaa or soc2',
      default: REVIEW_DEFAULT_CADENCE,
    },
  },
  examples: ['evident review list --cadence pci-dss'],
  run: lazy(async () => (await import('../actions/review.ts')).list),
};

export const review: Command = {
  name: 'review',
  summary: 'periodic review sign-offs: review sign, review list',
  globals: [],
  options: {},
  subcommands: [sign, list],
  examples: ['evident review list'],
};
