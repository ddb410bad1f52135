/** evident append: events from stdin, validated, then appended in chunks with receipts. The work is in ../actions/append.ts, loaded when the command runs. */
import { type Command, lazy } from '../command.ts';

export const append: Command = {
  name: 'append',
  summary: 'append events read from stdin (a JSON object, an array of objects, or JSON Lines)',
  description:
    'Every event is validated first; if any is invalid, every fault is listed with its line or item\n' +
    'and nothing is written. Prints one receipt per event: "#<index> <id> <hash>", or with --json\n' +
    '{"id","index","hash"} per line ("duplicate":true when the same id and content were already appended).',
  globals: ['db', 'key', 'log', 'progress', 'signer-state'],
  options: {},
  examples: [
    `echo '{"actor_id":"alice","actor_type":"user","action":"read","resource_type":"patient_record","resource_id":"p-1","result":"success","ip_address":"10.0.0.7"}' | evident append`,
    'evident append --json < events.jsonl',
  ],
  run: lazy(async () => (await import('../actions/append.ts')).run),
};
