/** evident erase: GDPR erasure of one data subject's erasable values. The work is in ../actions/erase.ts, loaded when the command runs. */
import { ACTOR_OPTIONS } from '../actor-flags.ts';
import { type Command, lazy } from '../command.ts';

export const erase: Command = {
  name: 'erase',
  summary: "erase a data subject's erasable values (GDPR); the erasure is recorded as an audit event",
  description:
    'Name the subject by --actor-id, or by --resource-type and --resource-id. A subject with no\n' +
    'erasable value left (no entries, or all erased already) is refused (exit 2) unless --record-empty.',
  globals: ['db', 'key', 'log', 'signer-state'],
  options: {
    'actor-id': { type: 'string', value: 'ID', description: 'the entries whose actor is this id' },
    'resource-type': {
      type: 'string',
      value: 'TYPE',
      description: 'with --resource-id: the entries about this resource',
    },
    'resource-id': { type: 'string', value: 'ID', description: 'with --resource-type' },
    ...ACTOR_OPTIONS,
    reason: {
      type: 'string',
      value: 'TEXT',
      description: 'why: the request, its ticket (required; recorded)',
    },
    'erasure-key': {
      type: 'string',
      value: 'FILE',
      description:
        'the erasure key file (0600; required): signs the erasure. Keep it apart from the database and the signing key',
    },
    'record-empty': {
      type: 'boolean',
      description: 'record the erasure event even when the subject has no value left to erase',
    },
  },
  examples: [
    'evident erase --actor-id alice --reason "GDPR art. 17 request #123" --by dpo@example.com --erasure-key erasure.key',
  ],
  run: lazy(async () => (await import('../actions/erase.ts')).run),
};
