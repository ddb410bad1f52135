/** evident query: entries matching filters. The work is in ../actions/query.ts, loaded when the command runs. */

import { ACTOR_TYPES, RESULTS } from '../../core/event/vocabulary.ts';
import { type Command, lazy } from '../command.ts';
import { QUERY_DEFAULT_LIMIT } from '../defaults.ts';
import { queryFailures } from './query-failures.ts';

export const query: Command = {
  name: 'query',
  summary:
    'list entries by actor, action, resource, result, address or time; query failures: repeated failures',
  description:
    'Filters combine with AND. Times are RFC 3339 (2026-01-31T23:59:59Z, or a date: 2026-01-31).\n' +
    'An answer cut by --limit is never silent: text mode says so on stderr; --json ends with the line\n' +
    '{"truncated":true,"next_cursor":N}, and --from-index N goes on from there. --all gives every match.',
  globals: ['db', 'key', 'log'],
  options: {
    'actor-id': { type: 'string', value: 'ID', description: 'only this actor' },
    'actor-type': {
      type: 'string',
      value: 'TYPE',
      description: `only this actor type (${ACTOR_TYPES.join(', ')})`,
    },
    action: { type: 'string', value: 'ACTION', description: 'only this action' },
    'resource-type': { type: 'string', value: 'TYPE', description: 'only this resource type' },
    'resource-id': { type: 'string', value: 'ID', description: 'only this resource id' },
    result: { type: 'string', value: 'R[,R]', description: `only these results (${RESULTS.join(', ')})` },
    ip: { type: 'string', value: 'ADDR', description: 'only this IP address (IPv4 or IPv6)' },
    'session-id': { type: 'string', value: 'ID', description: 'only this session' },
    since: { type: 'string', value: 'RFC3339', description: 'events at or after this time' },
    until: { type: 'string', value: 'RFC3339', description: 'events before this time' },
    'last-days': {
      type: 'string',
      value: 'N',
      description: 'events of the last N days (instead of --since)',
    },
    'last-hours': {
      type: 'string',
      value: 'N',
      description: 'events of the last N hours (instead of --since)',
    },
    'from-index': {
      type: 'string',
      value: 'N',
      description: 'start at this leaf index (with --desc: at or below it)',
    },
    limit: {
      type: 'string',
      value: 'N',
      description: 'at most N entries; when more match, says so and how to go on',
      default: String(QUERY_DEFAULT_LIMIT),
    },
    all: { type: 'boolean', description: 'every match, streamed page by page (instead of --limit)' },
    'newest-first': { type: 'boolean', description: 'newest first (highest index first)' },
    desc: { type: 'boolean', description: 'the same as --newest-first' },
    verified: {
      type: 'boolean',
      description:
        "verify the whole log and filter the verified entries here, not through the database's indexes: no row can be hidden (exit 1 if the log fails verification)",
    },
    'trusted-checkpoint': {
      type: 'string',
      value: 'FILE',
      multiple: true,
      description:
        'with --verified: a signed checkpoint kept outside the database, which the log must contain',
    },
    vkey: {
      type: 'string',
      value: 'VKEY',
      multiple: true,
      description: 'with --verified: the published verifier key, or a file holding it',
    },
  },
  subcommands: [queryFailures],
  examples: [
    'evident query --actor-id alice --last-days 7',
    'evident query --resource-type patient_record --resource-id p-1 --all --json',
    'evident query --resource-id p-1 --verified --vkey "$(cat audit.vkey)"',
  ],
  run: lazy(async () => (await import('../actions/query.ts')).run),
};
