/** evident export: a bundle of entries verifiable offline. The work is in ../actions/export.ts, loaded when the command runs. */
import { type Command, lazy } from '../command.ts';

export const exportCommand: Command = {
  name: 'export',
  summary: 'write a bundle of entries, a signed checkpoint and the hashes to verify it offline',
  description:
    'The bundle is JSON Lines: a header (origin, checkpoint, range, subtree hashes), then one entry\n' +
    'per line. --since/--until select by received_at; the bundle then carries the entries just\n' +
    'outside the range with inclusion proofs, so verify-bundle shows none of the window is left out.\n' +
    'Signs a fresh checkpoint first when the signing key is available.\n' +
    '--format ocsf|cef|syslog|csv writes records for a SIEM instead (docs/exports.md): each names\n' +
    'the origin, index and leaf hash, to check later with evident prove inclusion --index INDEX.\n' +
    'With --tiles DIR it writes the log as C2SP tlog-tiles instead (the files evident serve answers\n' +
    'under /v1/logs/LOG/tlog/): full tiles already in DIR are kept, the checkpoint is written last.',
  globals: ['db', 'key', 'log', 'signer-state'],
  options: {
    out: { type: 'string', value: 'FILE', description: 'write the bundle to a new file', default: 'stdout' },
    format: {
      type: 'string',
      value: 'FORMAT',
      description: 'bundle, ocsf (OCSF 1.3.0 JSON Lines), cef, syslog (RFC 5424) or csv (RFC 4180)',
      default: 'bundle',
    },
    bom: { type: 'boolean', description: 'with --format csv: start with a UTF-8 byte order mark' },
    tiles: {
      type: 'string',
      value: 'DIR',
      description:
        'instead of a bundle, write the whole log as C2SP tlog-tiles files (checkpoint, tile/...) into DIR, for static hosting; incremental',
    },
    since: { type: 'string', value: 'RFC3339', description: 'entries received at or after this time' },
    until: { type: 'string', value: 'RFC3339', description: 'entries received before this time' },
    'consistency-from': {
      type: 'string',
      value: 'SIZE',
      multiple: true,
      description:
        'the tree size of a checkpoint the auditor keeps: the bundle carries a consistency proof from it',
    },
  },
  examples: [
    'evident export --since 2026-01-01 --until 2026-02-01 --out audit-2026-01.bundle',
    'evident export --tiles /var/www/audit-log',
    'evident export --format ocsf --since 2026-01-01 --out audit-2026-01.ocsf.jsonl',
  ],
  run: lazy(async () => (await import('../actions/export.ts')).run),
};
