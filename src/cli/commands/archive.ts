/** evident archive: archive targets, the archive pass, and verification of an archive. The work is in ../actions/archive.ts. */
import { ACTOR_OPTIONS } from '../actor-flags.ts';
import { type Command, lazy } from '../command.ts';

const targetAdd: Command = {
  name: 'archive target add',
  summary: 'add an archive target to a log (recorded as an evident.archive.target.added event)',
  description:
    'URL: file:///absolute/path (a directory, written once), or s3://bucket/prefix?endpoint=URL&region=R ' +
    '(S3 with Object Lock, COMPLIANCE mode; credentials from the AWS environment variables).',
  globals: ['db', 'key', 'log'],
  options: { ...ACTOR_OPTIONS },
  positionals: [{ name: 'URL', description: 'the target, e.g. file:///mnt/worm/audit' }],
  examples: ['evident archive target add --log default file:///mnt/worm/audit'],
  run: lazy(async () => (await import('../actions/archive.ts')).targetAdd),
};

const targetList: Command = {
  name: 'archive target list',
  summary: 'list the archive targets of a log',
  globals: ['db', 'log'],
  options: {},
  examples: ['evident archive target list --json'],
  run: lazy(async () => (await import('../actions/archive.ts')).targetList),
};

const target: Command = {
  name: 'archive target',
  summary: 'archive targets of a log: archive target add, archive target list',
  globals: [],
  options: {},
  subcommands: [targetAdd, targetList],
  examples: ['evident archive target add file:///mnt/worm/audit'],
};

const runPass: Command = {
  name: 'archive run',
  summary:
    'one archive pass: seal closed segments, put them and every checkpoint to every target, prune past online retention',
  description:
    'Nothing is pruned unless every target holds the segment and it reads back equal to its manifest.\n' +
    'A target that fails stops the pass (exit 2, ARCHIVE_UNAVAILABLE); the next pass resumes. An\n' +
    'archived checkpoint the database lacks (a rolled-back database) is TAMPER_DETECTED (exit 1).',
  globals: ['db', 'key', 'log', 'progress', 'signer-state'],
  options: {
    'seal-open': { type: 'boolean', description: 'also seal the open segment, up to the current size' },
    'no-prune': { type: 'boolean', description: 'seal and archive, but prune nothing' },
    staging: {
      type: 'string',
      value: 'DIR',
      description: 'where bundles are staged before the put',
      default: 'the system temp directory',
    },
  },
  examples: ['evident archive run --log default', 'evident archive run --seal-open --json'],
  run: lazy(async () => (await import('../actions/archive.ts')).runPass),
};

const verifyArchive: Command = {
  name: 'archive verify',
  summary: 'verify an archive target alone (no database): segments, manifests, proofs, checkpoints',
  description:
    'Exit 0 if the archive is intact, 1 if an object is missing, altered, extra, out of order or\n' +
    'inconsistent (each named), 2 for a usage error.',
  globals: ['progress'],
  options: {
    vkey: {
      type: 'string',
      value: 'VKEY',
      multiple: true,
      description: 'the published verifier key, or a file holding it (required)',
    },
    'trusted-checkpoint': {
      type: 'string',
      value: 'FILE',
      multiple: true,
      description: 'a signed checkpoint kept outside, which the archive must be consistent with',
    },
    from: { type: 'string', value: 'RFC3339', description: 'only segments received at or after this' },
    to: { type: 'string', value: 'RFC3339', description: 'only segments received before this' },
  },
  positionals: [{ name: 'URL', description: 'the archive target, e.g. file:///mnt/worm/audit' }],
  examples: ['evident archive verify file:///mnt/worm/audit --vkey audit.vkey'],
  run: lazy(async () => (await import('../actions/archive.ts')).verify),
};

export const archive: Command = {
  name: 'archive',
  summary: 'archive targets and passes: archive target add, archive target list, archive run, archive verify',
  globals: [],
  options: {},
  subcommands: [target, runPass, verifyArchive],
  examples: ['evident archive run', 'evident archive verify file:///mnt/worm/audit --vkey audit.vkey'],
};

export const restore: Command = {
  name: 'restore',
  summary: 'rebuild a database from an archive, verifying it first and as it goes',
  description:
    'Refuses an archive that does not verify (exit 1) and a database that already has the log.\n' +
    "The restored log verifies and its root equals the archived checkpoint's.",
  globals: ['db', 'log', 'progress'],
  options: {
    from: { type: 'string', value: 'URL', description: 'the archive target (required)' },
    vkey: {
      type: 'string',
      value: 'VKEY',
      multiple: true,
      description: 'the published verifier key, or a file holding it (required)',
    },
    staging: {
      type: 'string',
      value: 'DIR',
      description: 'where bundles are staged',
      default: 'the system temp directory',
    },
  },
  examples: ['evident restore --from file:///mnt/worm/audit --db restored.db --vkey audit.vkey'],
  run: lazy(async () => (await import('../actions/restore.ts')).run),
};
