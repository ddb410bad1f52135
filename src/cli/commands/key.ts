/** evident key: the verifier key to publish. The work is in ../actions/key.ts, loaded when the command runs. */
import { type Command, lazy } from '../command.ts';

export const key: Command = {
  name: 'key',
  summary: 'print the verifier key (from the key file, else the one recorded for the log)',
  globals: ['db', 'key', 'log'],
  options: {},
  examples: ['evident key > audit.vkey'],
  run: lazy(async () => (await import('../actions/key.ts')).run),
};
