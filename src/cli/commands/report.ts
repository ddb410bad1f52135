/** evident report: the periodic review report. The work is in ../actions/report.ts, loaded when the command runs. */
import { type Command, lazy } from '../command.ts';
import {
  REPORT_DEFAULT_FORMAT,
  REPORT_DEFAULT_TIME_ZONE,
  REPORT_DEFAULT_WORK_DAYS,
  REPORT_DEFAULT_WORK_HOURS,
} from '../defaults.ts';

export const report: Command = {
  name: 'report',
  summary:
    'the periodic review report of a period: verification, checkpoint, counts, failures, after-hours access, charts',
  description:
    'Verifies the whole log as evident verify does (--vkey, else the signing key, else the\n' +
    'recorded key) and gathers the figures of the period in the same pass, in bounded memory.\n' +
    'The period is a month (2026-11) or a day (2026-11-03), or --from/--to (RFC 3339 or dates;\n' +
    'a --to date includes that day), on the event timestamp. HTML is one self-contained page\n' +
    '(charts as inline SVG, prints cleanly); JSON and CSV carry the same figures. Exit 0 when\n' +
    'written, also when the log failed verification (the report says so; evident verify exits 1).\n' +
    'See docs/review.md.',
  globals: ['db', 'key', 'log'],
  options: {
    period: {
      type: 'string',
      value: 'YYYY-MM',
      description: 'the month (YYYY-MM) or day (YYYY-MM-DD) reviewed',
    },
    from: {
      type: 'string',
      value: 'RFC3339',
      description: 'start of the range (inclusive), instead of --period',
    },
    to: {
      type: 'string',
      value: 'RFC3339',
      description: 'end of the range (exclusive; a date includes that day)',
    },
    format: {
      type: 'string',
      value: 'FORMAT',
      description: 'html, json or csv',
      default: REPORT_DEFAULT_FORMAT,
    },
    out: {
      type: 'string',
      value: 'FILE',
      description: 'write the report to this new file (default: standard output)',
    },
    'work-hours': {
      type: 'string',
      value: 'HH:MM-HH:MM',
      description: 'working hours, local time: access outside them is listed as after hours',
      default: REPORT_DEFAULT_WORK_HOURS,
    },
    'work-days': {
      type: 'string',
      value: 'DAYS',
      description: 'working days, e.g. mon-fri or mon,wed,fri',
      default: REPORT_DEFAULT_WORK_DAYS,
    },
    'time-zone': {
      type: 'string',
      value: 'ZONE',
      description: 'IANA time zone of the working hours, e.g. Europe/Berlin',
      default: REPORT_DEFAULT_TIME_ZONE,
    },
    vkey: {
      type: 'string',
      value: 'VKEY',
      multiple: true,
      description: 'the published verifier key <name>+<key id>+<base64>, or a file holding it',
    },
  },
  examples: [
    'evident report --period 2026-11 --out review-2026-11.html',
    'evident report --period 2026-11 --format json',
  ],
  run: lazy(async () => (await import('../actions/report.ts')).run),
};
