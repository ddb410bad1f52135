/** evident keys: API keys of the HTTP service. The work is in ../actions/keys.ts, loaded when a subcommand runs. */
import { ACTOR_OPTIONS } from '../actor-flags.ts';
import { type Command, lazy } from '../command.ts';

const create: Command = {
  name: 'keys create',
  summary: 'create an API key and print it once (only its hash is stored)',
  description:
    'Scopes: ingest (append only: cannot read), read (query, export, entries), verify (checkpoints,\n' +
    'proofs, verifier key), admin (everything; may create a log on first use). Logs: names, or * for all;\n' +
    'a name no log has is refused unless --allow-missing-log is given (evident logs lists them).\n' +
    'The creation is recorded as an evident.api_key.created event in every log the key reaches.',
  globals: ['db'],
  options: {
    log: { type: 'string', value: 'L[,L2]', description: 'the logs the key reaches (* for every log)' },
    scope: {
      type: 'string',
      value: 'S[,S]',
      description: 'what the key may do: ingest, read, verify, admin',
    },
    description: { type: 'string', value: 'TEXT', description: 'who or what the key is for' },
    ...ACTOR_OPTIONS,
    'allow-missing-log': {
      type: 'boolean',
      description: 'accept --log names that no log has yet (an admin key may create them on first use)',
    },
  },
  examples: ['evident keys create --log payments --scope ingest --description "payments service"'],
  run: lazy(async () => (await import('../actions/keys.ts')).create),
};

const list: Command = {
  name: 'keys list',
  summary: 'list API keys (ids, logs, scopes, revocation; never secrets)',
  globals: ['db'],
  options: {},
  examples: ['evident keys list --json'],
  run: lazy(async () => (await import('../actions/keys.ts')).list),
};

const revoke: Command = {
  name: 'keys revoke',
  summary: 'revoke an API key, for good',
  globals: ['db'],
  options: { ...ACTOR_OPTIONS },
  positionals: [{ name: 'ID', description: 'the key id (the 12 hex digits after evk_)' }],
  examples: ['evident keys revoke 3f9a0c1b2d4e'],
  run: lazy(async () => (await import('../actions/keys.ts')).revoke),
};

export const keys: Command = {
  name: 'keys',
  summary: 'API keys of the HTTP service: keys create, keys list, keys revoke',
  globals: [],
  options: {},
  subcommands: [create, list, revoke],
  examples: ['evident keys create --log default --scope read,verify', 'evident keys revoke 3f9a0c1b2d4e'],
};
