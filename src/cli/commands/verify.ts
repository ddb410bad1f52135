/** evident verify: the whole log, read-only. The work is in ../actions/verify.ts, loaded when the command runs. */
import { type Command, lazy } from '../command.ts';
import { WITNESS_OPTIONS } from '../witness-args.ts';

export const verify: Command = {
  name: 'verify',
  summary: 'verify the whole log: every entry, the hash chain, the tree and every signed checkpoint',
  description:
    'Signatures are checked with --vkey if given, else with the signing key (key file or\n' +
    '$EVIDENT_SIGNING_KEY), else with the key recorded in the database (a weaker check: the report\n' +
    'warns). A checkpoint saved earlier (--trusted-checkpoint) catches a truncated or rolled-back log.\n' +
    'Erasures are checked against --erasure-key; without it they are reported unauthenticated.\n' +
    'Exit 0 if the log is intact, 1 if tampering was found (a checkpoint failing the key you hold\n' +
    'included), 2 for an input error: a --vkey or checkpoint file of another log, a file that is not\n' +
    'a signed checkpoint (CRLF and a missing final newline are read back exactly).\n' +
    'With --witness (or --witness-policy) the latest checkpoint must also carry, among the\n' +
    'cosignatures stored beside it, the quorum of those witnesses: else WITNESS_QUORUM_UNMET, exit 1.',
  globals: ['db', 'key', 'log', 'progress'],
  options: {
    ...WITNESS_OPTIONS,
    'erasure-key': {
      type: 'string',
      value: 'VKEY',
      multiple: true,
      description:
        'the erasure verifier key (or a file holding it): erasures it did not sign are reported as tampering; without it, erasures are reported unauthenticated',
    },
    'trusted-checkpoint': {
      type: 'string',
      value: 'FILE',
      multiple: true,
      description: 'a signed checkpoint kept outside the database, which the log must contain',
    },
    vkey: {
      type: 'string',
      value: 'VKEY',
      multiple: true,
      description: 'the published verifier key <name>+<key id>+<base64>, or a file holding it',
    },
    workers: {
      type: 'string',
      value: 'N',
      description:
        'threads that check entries (default: one per core, for logs of 50,000 entries or more); 1 verifies on the main thread alone; the report is the same',
    },
  },
  examples: ['evident verify --vkey "$(cat audit.vkey)" --trusted-checkpoint checkpoint-2026-01.txt'],
  run: lazy(async () => (await import('../actions/verify.ts')).run),
};
