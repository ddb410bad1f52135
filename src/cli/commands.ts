/** Every command, in the order `evident --help` lists them. */
import type { Command } from './command.ts';
import { append } from './commands/append.ts';
import { archive, restore } from './commands/archive.ts';
import { checkpoint } from './commands/checkpoint.ts';
import { doctor } from './commands/doctor.ts';
import { erase } from './commands/erase.ts';
import { exportCommand } from './commands/export.ts';
import { forwardCommand } from './commands/forward.ts';
import { init } from './commands/init.ts';
import { key } from './commands/key.ts';
import { keys } from './commands/keys.ts';
import { logs } from './commands/logs.ts';
import { prove } from './commands/prove.ts';
import { query } from './commands/query.ts';
import { relay } from './commands/relay.ts';
import { report } from './commands/report.ts';
import { retention } from './commands/retention.ts';
import { review } from './commands/review.ts';
import { serve } from './commands/serve.ts';
import { verify } from './commands/verify.ts';
import { verifyBundle } from './commands/verify-bundle.ts';
import { verifyProof } from './commands/verify-proof.ts';
import { viewer } from './commands/viewer.ts';
import { witness } from './commands/witness.ts';

export const COMMANDS: readonly Command[] = [
  init,
  logs,
  append,
  query,
  verify,
  checkpoint,
  key,
  prove,
  exportCommand,
  forwardCommand,
  verifyBundle,
  verifyProof,
  erase,
  retention,
  archive,
  restore,
  report,
  review,
  doctor,
  serve,
  viewer,
  relay,
  keys,
  witness,
];
