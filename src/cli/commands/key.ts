/** evident key: the verifier key to publish. The work is in ../actions/key.ts, loaded when the command runs. */
import { type Command, lazy } from '../command.ts';

export const key: Command = {
  name: 'key',
  summary: 'print the verifier key (from the key file, else the one recorded for the log)',
  description:
    'With --erasure-key FILE: the verifier key of that erasure key instead (--create makes the\n' +
    'key file first, 0600; it refuses to overwrite one). Give that key to auditors for\n' +
    'evident verify --erasure-key; keep the key file apart from the database and the signing key.',
  globals: ['db', 'key', 'log'],
  options: {
    'erasure-key': {
      type: 'string',
      value: 'FILE',
      description: 'print the verifier key of this erasure key file instead',
    },
    create: { type: 'boolean', description: 'with --erasure-key: create the erasure key file first' },
    'key-name': {
      type: 'string',
      value: 'NAME',
      description: 'with --create: the erasure key name (default erasure)',
    },
  },
  examples: ['evident key > audit.vkey', 'evident key --erasure-key erasure.key --create > erasure.vkey'],
  run: lazy(async () => (await import('../actions/key.ts')).run),
};
