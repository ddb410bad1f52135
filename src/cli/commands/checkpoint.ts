/** evident checkpoint: sign a checkpoint of the current tree, or print a stored one. The work is in ../actions/checkpoint.ts, loaded when the command runs. */
import { type Command, lazy } from '../command.ts';

export const checkpoint: Command = {
  name: 'checkpoint',
  summary: 'sign a checkpoint if the tree grew and print the signed note; --size N prints a stored one',
  description:
    'Prints the signed note exactly as stored (C2SP tlog-checkpoint in a signed note): save it\n' +
    'outside the database and pass it to evident verify --trusted-checkpoint later.',
  globals: ['db', 'key', 'log', 'signer-state'],
  options: {
    size: {
      type: 'string',
      value: 'N',
      description: 'print the stored checkpoint of tree size N (signs nothing)',
    },
  },
  examples: ['evident checkpoint > checkpoint-$(date +%F).txt', 'evident checkpoint --size 1000 --json'],
  run: lazy(async () => (await import('../actions/checkpoint.ts')).run),
};
