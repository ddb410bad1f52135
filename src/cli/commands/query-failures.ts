/** evident query failures: actors with at least MIN failures or denials in a recent window. The work is in ../actions/query-failures.ts, loaded when the command runs. */
import { type Command, lazy } from '../command.ts';
import { FAILURES_DEFAULT_HOURS, FAILURES_DEFAULT_MIN } from '../defaults.ts';

export const queryFailures: Command = {
  name: 'query failures',
  summary: 'actors with at least MIN failures or denials in the last HOURS hours (every one: never cut)',
  globals: ['db', 'log'],
  options: {
    hours: {
      type: 'string',
      value: 'N',
      description: 'the window, in hours back from now',
      default: String(FAILURES_DEFAULT_HOURS),
    },
    min: {
      type: 'string',
      value: 'N',
      description: 'list actors with N or more failures or denials (inclusive; at least 1)',
      default: String(FAILURES_DEFAULT_MIN),
    },
  },
  examples: ['evident query failures --hours 1 --min 10'],
  run: lazy(async () => (await import('../actions/query-failures.ts')).run),
};
