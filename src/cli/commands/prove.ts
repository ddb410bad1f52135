/** evident prove: RFC 9162 inclusion and consistency proofs. The work is in ../actions/prove.ts, loaded when the command runs. */
import { type Command, lazy } from '../command.ts';

export const proveInclusion: Command = {
  name: 'prove inclusion',
  summary: 'prove that the entry at leaf index I is in the tree of size N (RFC 9162 §2.1.3)',
  description:
    'With --json prints {"index","size","leaf","hashes"}: leaf is the base64 leaf bytes (hash them\n' +
    'with 0x00 prefix for the leaf hash), hashes the audit path, standard base64. With --format\n' +
    'tlog-proof it prints a C2SP tlog-proof file against the checkpoint signed at that size.',
  globals: ['db', 'log'],
  options: {
    index: { type: 'string', value: 'I', description: 'leaf index of the entry (required)' },
    size: { type: 'string', value: 'N', description: 'tree size', default: "the latest checkpoint's" },
    format: {
      type: 'string',
      value: 'FORMAT',
      description:
        'evident, or tlog-proof: a C2SP tlog-proof file (index, proof, the signed checkpoint, the leaf bytes as extra), checked by evident verify-proof',
      default: 'evident',
    },
  },
  examples: [
    'evident prove inclusion --index 41 --json',
    'evident prove inclusion --index 41 --format tlog-proof > entry-41.tlog-proof',
  ],
  run: lazy(async () => (await import('../actions/prove.ts')).runInclusion),
};

export const proveConsistency: Command = {
  name: 'prove consistency',
  summary: 'prove that the tree of size N extends the tree of size M (RFC 9162 §2.1.4)',
  description: 'With --json prints {"hashes"}: the consistency proof, standard base64.',
  globals: ['db', 'log'],
  options: {
    from: { type: 'string', value: 'M', description: 'the older tree size (required)' },
    to: { type: 'string', value: 'N', description: 'the newer tree size (required)' },
  },
  examples: ['evident prove consistency --from 1000 --to 2000 --json'],
  run: lazy(async () => (await import('../actions/prove.ts')).runConsistency),
};

export const prove: Command = {
  name: 'prove',
  summary: 'print an inclusion proof (prove inclusion) or a consistency proof (prove consistency)',
  globals: [],
  options: {},
  subcommands: [proveInclusion, proveConsistency],
  examples: [
    'evident prove inclusion --index 41 --json',
    'evident prove consistency --from 10 --to 20 --json',
  ],
};
