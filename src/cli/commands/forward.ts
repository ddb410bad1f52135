/**
 * evident forward: streams the log's entries to a SIEM, a syslog receiver over TCP or TLS, or a
 * webhook, as they are appended; at-least-once, resumed from a cursor file after a restart.
 * The work is in ../forward/, loaded when the command runs.
 */
import { type Command, lazy } from '../command.ts';
import { FORWARD_DEFAULT_BATCH, FORWARD_DEFAULT_POLL_MS, FORWARD_DEFAULT_STATE } from '../defaults.ts';

export const forwardCommand: Command = {
  name: 'forward',
  summary: 'stream new entries to a syslog receiver (TCP, TLS) or a webhook, at least once',
  description:
    'Follows the log and delivers every entry, in index order, at least once: the cursor file is\n' +
    'written (fsynced) only after the receiver took a batch (TCP: written to the socket; webhook:\n' +
    'a 2xx answer), so a restart resumes there and may resend the last batch. Failed deliveries\n' +
    'are retried with growing delays. Syslog records are framed by octet counting (RFC 6587).\n' +
    'Logs one JSON line per delivery and retry; SIGTERM or SIGINT finishes the batch in flight.',
  globals: ['db', 'log'],
  options: {
    to: {
      type: 'string',
      value: 'URL',
      description:
        'syslog+tcp://HOST:PORT, syslog+tls://HOST:PORT, or an https:// webhook (a JSON array per POST)',
    },
    format: {
      type: 'string',
      value: 'FORMAT',
      description: 'syslog, cef or ocsf to a syslog receiver; json or ocsf to a webhook',
      default: 'syslog; json for a webhook',
    },
    state: { type: 'string', value: 'FILE', description: 'the cursor file', default: FORWARD_DEFAULT_STATE },
    ca: {
      type: 'string',
      value: 'FILE',
      description: 'PEM certificates to trust for syslog+tls:// and https://',
    },
    once: { type: 'boolean', description: 'deliver what the log holds now, then exit (for cron and tests)' },
    batch: {
      type: 'string',
      value: 'N',
      description: 'most records per delivery',
      default: String(FORWARD_DEFAULT_BATCH),
    },
    'poll-ms': {
      type: 'string',
      value: 'MS',
      description: 'look for new entries this often',
      default: String(FORWARD_DEFAULT_POLL_MS),
    },
    'max-attempts': {
      type: 'string',
      value: 'N',
      description: 'give up on a batch after N failed attempts (DELIVERY_FAILED)',
      default: 'never',
    },
  },
  examples: [
    'evident forward --to syslog+tls://siem.example.com:6514 --ca siem-ca.pem --format cef',
    'evident forward --to https://hooks.example.com/audit --once --state /var/lib/evident/forward.json',
  ],
  run: lazy(async () => (await import('../actions/forward.ts')).run),
};
