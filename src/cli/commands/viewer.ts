/** evident viewer: write the auditor's viewer as one self-contained HTML file. The work is in ../actions/viewer.ts. */
import { type Command, lazy } from '../command.ts';

export const viewer: Command = {
  name: 'viewer',
  summary: 'write the auditor viewer as one self-contained HTML file, to keep and open locally',
  description:
    'The same page evident serve shows at /, with everything inline: it verifies checkpoints, proofs,\n' +
    'whole logs and export bundles in the browser, trusting only the verifier key you pin in it.\n' +
    'Opened from a file, it needs the server URL typed in, and the server must allow it\n' +
    '(evident serve --cors-origin null); export bundles open with no server at all.\n' +
    'A page served by a server can be altered by that server: keep this file, check it once, use it.',
  globals: [],
  options: {
    out: {
      type: 'string',
      value: 'FILE',
      description: 'the file to write (refuses to replace one); - writes to stdout',
    },
  },
  examples: ['evident viewer --out viewer.html'],
  run: lazy(async () => (await import('../actions/viewer.ts')).run),
};
