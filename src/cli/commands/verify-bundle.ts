/** evident verify-bundle: verify an export bundle offline, without a database. The work is in ../actions/verify-bundle.ts, loaded when the command runs. */
import { type Command, lazy } from '../command.ts';
import { WITNESS_OPTIONS } from '../witness-args.ts';

export const verifyBundle: Command = {
  name: 'verify-bundle',
  summary: 'verify an export bundle offline, with the published verifier key (no database needed)',
  description:
    'Without --vkey the key written in the bundle itself is used, with a warning: whoever could\n' +
    'edit the bundle could also have replaced that key. Exit 0 if intact, 1 if tampering was found,\n' +
    '2 for an input error, or when a --trusted-checkpoint lies beyond the bundle or the bundle carries\n' +
    'no consistency proof from it (TRUSTED_CHECKPOINT_UNCHECKED: export again, with --consistency-from).\n' +
    "With --witness (or --witness-policy) the bundle's checkpoint must carry the quorum of those\n" +
    "witnesses' cosignatures: else WITNESS_QUORUM_UNMET, exit 1.",
  globals: ['progress'],
  positionals: [{ name: 'FILE', description: 'the bundle, as written by evident export' }],
  options: {
    ...WITNESS_OPTIONS,
    'erasure-key': {
      type: 'string',
      value: 'VKEY',
      multiple: true,
      description:
        'the erasure verifier key (or a file holding it): erasures it did not sign are reported as tampering; without it, erasures are reported unauthenticated',
    },
    vkey: {
      type: 'string',
      value: 'VKEY',
      multiple: true,
      description: 'the published verifier key <name>+<key id>+<base64>, or a file holding it',
    },
    'trusted-checkpoint': {
      type: 'string',
      value: 'FILE',
      multiple: true,
      description: 'a signed checkpoint kept elsewhere, which the bundle must be consistent with',
    },
    workers: {
      type: 'string',
      value: 'N',
      description:
        'threads that check entries (default: one per core, for logs of 50,000 entries or more); 1 verifies on the main thread alone; the report is the same',
    },
  },
  examples: ['evident verify-bundle audit-2026-01.bundle --vkey audit.vkey'],
  run: lazy(async () => (await import('../actions/verify-bundle.ts')).run),
};
