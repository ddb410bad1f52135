/** evident witness: a C2SP tlog-witness server. The work is in ../actions/witness.ts, loaded when the command runs. */
import { DEFAULTS } from '../../server/options.ts';
import { type Command, lazy } from '../command.ts';
import { WITNESS_DEFAULT_DB, WITNESS_DEFAULT_KEY, WITNESS_DEFAULT_PORT } from '../defaults.ts';

const common = {
  db: {
    type: 'string',
    value: 'PATH_OR_URL',
    description: "the witness's own state: a SQLite file, or a postgres:// URL",
    default: WITNESS_DEFAULT_DB,
  },
  key: {
    type: 'string',
    value: 'FILE',
    description: "the witness's cosigner key file (0600)",
    default: WITNESS_DEFAULT_KEY,
  },
} as const;

const init: Command = {
  name: 'witness init',
  summary: "create the witness's cosigner key file and print its verifier key (type 0x04)",
  description:
    'The key name is the witness name logs and verifiers know it by (e.g. witness.example/w1). The\n' +
    'file is 0600 and never overwritten. Give the printed key to logs and auditors (--witness).',
  globals: [],
  options: {
    key: common.key,
    name: { type: 'string', value: 'NAME', description: 'the witness name (its key name)' },
  },
  examples: ['evident witness init --name witness.example/w1 --key witness.key > witness.vkey'],
  run: lazy(async () => (await import('../actions/witness.ts')).init),
};

export const witness: Command = {
  name: 'witness',
  summary: 'run a witness (C2SP tlog-witness): cosign checkpoints consistent with those seen before',
  description:
    'Serves POST /add-checkpoint, GET /healthz and GET /metrics. The logs it witnesses come from\n' +
    '--config, a C2SP tlog-policy file of `log <vkey> [<url>]` lines (docs/witness.md); each is\n' +
    'recorded in its state the first time. Its state (the latest checkpoint cosigned per log) is\n' +
    'kept in --db, updated in one transaction with the check. SIGTERM or SIGINT stops it.',
  globals: [],
  options: {
    config: { type: 'string', value: 'FILE', description: 'the logs to witness (tlog-policy `log` lines)' },
    ...common,
    host: { type: 'string', value: 'ADDR', description: 'address to listen on', default: DEFAULTS.host },
    port: {
      type: 'string',
      value: 'N',
      description: 'port to listen on (0: a free one)',
      default: String(WITNESS_DEFAULT_PORT),
    },
  },
  subcommands: [init],
  examples: [
    'evident witness init --name witness.example/w1 --key witness.key',
    'evident witness --config logs.policy --db witness.db --key witness.key --port 8081',
  ],
  run: lazy(async () => (await import('../actions/witness.ts')).run),
};
