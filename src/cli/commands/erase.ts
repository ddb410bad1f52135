/** evident erase: GDPR erasure of one data subject's erasable values. The work is in ../actions/erase.ts, loaded when the command runs. */
import { type Command, lazy } from '../command.ts';

export const erase: Command = {
  name: 'erase',
  summary: "erase a data subject's erasable values (GDPR); the erasure is recorded as an audit event",
  description: 'Name the subject by --actor-id, or by --resource-type and --resource-id.',
  globals: ['db', 'key', 'log'],
  options: {
    'actor-id': { type: 'string', value: 'ID', description: 'the entries whose actor is this id' },
    'resource-type': {
      type: 'string',
      value: 'TYPE',
      description: 'with --resource-id: the entries about this resource',
    },
    'resource-id': { type: 'string', value: 'ID', description: 'with --resource-type' },
    reason: {
      type: 'string',
      value: 'TEXT',
      description: 'why: the request, its ticket (required; recorded)',
    },
  },
  examples: ['evident erase --actor-id alice --reason "GDPR art. 17 request #123"'],
  run: lazy(async () => (await import('../actions/erase.ts')).run),
};
