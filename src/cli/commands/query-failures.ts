/** evident query failures: actors with repeated failures or denials in a recent window. The work is in ../actions/query-failures.ts, loaded when the command runs. */
import { type Command, lazy } from '../command.ts';

export const queryFailures: Command = {
  name: 'query failures',
  summary: 'actors with more than MIN failures or denials in the last HOURS hours',
  globals: ['db', 'log'],
  options: {
    hours: { type: 'string', value: 'N', description: 'the window, in hours back from now', default: '24' },
    min: {
      type: 'string',
      value: 'N',
      description: 'list actors with more than N failures or denials',
      default: '5',
    },
  },
  examples: ['evident query failures --hours 1 --min 10'],
  run: lazy(async () => (await import('../actions/query-failures.ts')).run),
};
