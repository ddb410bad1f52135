/** Every command, in the order `evident --help` lists them. */
import type { Command } from './command.ts';
import { append } from './commands/append.ts';
import { checkpoint } from './commands/checkpoint.ts';
import { erase } from './commands/erase.ts';
import { exportCommand } from './commands/export.ts';
import { init } from './commands/init.ts';
import { key } from './commands/key.ts';
import { keys } from './commands/keys.ts';
import { logs } from './commands/logs.ts';
import { prove } from './commands/prove.ts';
import { query } from './commands/query.ts';
import { relay } from './commands/relay.ts';
import { serve } from './commands/serve.ts';
import { verify } from './commands/verify.ts';
import { verifyBundle } from './commands/verify-bundle.ts';
import { viewer } from './commands/viewer.ts';

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
  verifyBundle,
  erase,
  serve,
  viewer,
  relay,
  keys,
];
