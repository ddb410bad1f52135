/** evident init: the signing key file (0600) and the database with its log. The work is in ../actions/init.ts, loaded when the command runs. */

import { ERASABLE_CANDIDATES } from '../../core/event/vocabulary.ts';
import { type Command, lazy } from '../command.ts';
import { POLICY_OPTIONS } from '../retention-flags.ts';

export const init: Command = {
  name: 'init',
  summary: 'create the signing key file (0600) and the database with a log',
  description:
    'Reuses an existing key file if its key name is the origin. The origin names the log in every\n' +
    'checkpoint and is the key name; keep it stable. Refuses if the log already exists, and refuses a\n' +
    "database that holds another application's tables (STORE_FOREIGN) unless --allow-foreign.",
  globals: ['db', 'key', 'log'],
  options: {
    origin: {
      type: 'string',
      value: 'ORIGIN',
      description: 'checkpoint origin and key name, <host>/<log>',
      default: '<hostname>/<log>',
    },
    erasable: {
      type: 'string',
      value: 'F1,F2',
      description: `fields stored as salted commitments, erasable later (of ${ERASABLE_CANDIDATES.join(', ')})`,
      default: 'old_values,new_values',
    },
    retention: {
      type: 'string',
      value: 'PRESET',
      description:
        'a retention policy, recorded as the first event: pci-dss, hipaa, soc2, gdpr, custom (docs/retention.md)',
    },
    ...POLICY_OPTIONS,
    'allow-foreign': {
      type: 'boolean',
      description:
        "add evident's tables to a database (SQLite file, PostgreSQL schema) that holds another application's tables",
    },
  },
  examples: [
    'evident init --db audit.db --key audit.key --origin audit.example.com/prod',
    'evident init --retention pci-dss',
  ],
  run: lazy(async () => (await import('../actions/init.ts')).run),
};
