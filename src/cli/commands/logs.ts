/** evident logs: the logs in the database. The work is in ../actions/logs.ts, loaded when the command runs. */
import { type Command, lazy } from '../command.ts';

export const logs: Command = {
  name: 'logs',
  summary: 'list the logs in the database: name, size, origin, latest checkpoint',
  globals: ['db'],
  options: {},
  examples: ['evident logs', 'evident logs --db postgres://audit@db/audit --json'],
  run: lazy(async () => (await import('../actions/logs.ts')).run),
};
