/** evident verify-proof: check a C2SP tlog-proof file offline. The work is in ../actions/verify-proof.ts, loaded when the command runs. */
import { type Command, lazy } from '../command.ts';
import { WITNESS_OPTIONS } from '../witness-args.ts';

export const verifyProof: Command = {
  name: 'verify-proof',
  summary: 'check a C2SP tlog-proof file offline, with the published verifier key (no database needed)',
  description:
    'Checks the checkpoint signature with --vkey and the inclusion proof of the entry against its\n' +
    "root. The entry is --leaf (its leaf bytes), --entry (the entry as JSON), or else the file's own\n" +
    'extra line (written by evident prove inclusion --format tlog-proof). Exit 0 if the proof holds,\n' +
    '1 if a signature or the proof fails (TLOG_PROOF_REJECTED) or the checkpoint lacks the witness\n' +
    'quorum asked for (WITNESS_QUORUM_UNMET), 2 for a malformed file or bad flags.',
  globals: [],
  positionals: [{ name: 'FILE', description: 'the proof file (.tlog-proof)' }],
  options: {
    vkey: {
      type: 'string',
      value: 'VKEY',
      multiple: true,
      description: 'the published verifier key <name>+<key id>+<base64>, or a file holding it (required)',
    },
    leaf: {
      type: 'string',
      value: 'FILE',
      description: 'a file holding the leaf bytes the proof must cover',
    },
    entry: {
      type: 'string',
      value: 'FILE',
      description: 'a file holding the entry as JSON (as evident query --json prints each entry)',
    },
    ...WITNESS_OPTIONS,
  },
  examples: ['evident verify-proof entry-41.tlog-proof --vkey audit.vkey'],
  run: lazy(async () => (await import('../actions/verify-proof.ts')).run),
};
