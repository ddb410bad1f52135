/** evident logs: the logs in the database. The work is in ../actions/logs.ts, loaded when the command runs. */
import { type Command, lazy } from '../command.ts';

const move: Command = {
  name: 'logs move',
  summary: 'move a log to another cluster of the cluster map: read-only, copy, verify, switch',
  description:
    'Marks the log read-only on its cluster (its database then refuses every write to it, from any\n' +
    'server: LOG_MOVED, which clients retry), copies entries, tree, checkpoints, cosignatures and\n' +
    'erasures to the cluster --to, verifies the copy (every root and checkpoint re-derived, the notes\n' +
    'byte-identical), then prints the new placement or writes it (--write-config). Servers take it on\n' +
    'SIGHUP. The old copy stays, read-only. Run it again after an interruption: it resumes.\n' +
    'See docs/clusters.md.',
  globals: ['db', 'log', 'progress'],
  options: {
    config: {
      type: 'string',
      value: 'FILE',
      description: "evident serve's config file, with the cluster map; $EVIDENT_CONFIG if not given",
    },
    to: {
      type: 'string',
      value: 'CLUSTER',
      description: 'the cluster to move the log to (home: the db setting)',
    },
    'write-config': {
      type: 'boolean',
      description: 'write the new placement into the config file (atomically) instead of printing it',
    },
  },
  examples: ['evident logs move --config serve.json --log payments --to b --write-config'],
  run: lazy(async () => (await import('../actions/logs-move.ts')).run),
};

export const logs: Command = {
  name: 'logs',
  summary: 'list the logs in the database: name, size, origin, latest checkpoint',
  globals: ['db'],
  options: {},
  examples: ['evident logs', 'evident logs --db postgres://audit@db/audit --json'],
  subcommands: [move],
  run: lazy(async () => (await import('../actions/logs.ts')).run),
};
