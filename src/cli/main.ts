/**
 * The `evident` command: finds the command (and subcommand), parses its flags strictly, runs
 * it, and turns any failure into an exit code and one line on stderr (./errors.ts).
 */
import { readFileSync } from 'node:fs';
import { parseCommandArgs, wantsHelp } from './args.ts';
import type { Command } from './command.ts';
import { COMMANDS } from './commands.ts';
import { EXIT_OK, EXIT_USAGE, reportError, usageError } from './errors.ts';
import { commandHelp, topHelp } from './help.ts';
import { type Io, processIo } from './io.ts';

export function version(): string {
  try {
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
      version?: string;
    };
    return pkg.version ?? 'unknown';
  } catch {
    return 'unknown';
  }
}

export async function main(argv: string[], io: Io = processIo()): Promise<number> {
  const json = argv.includes('--json');
  let name = 'evident';
  guardStdout(io);
  try {
    const first = argv[0];
    if (first === undefined) {
      io.stderr.write(topHelp(COMMANDS, version()));
      return EXIT_USAGE;
    }
    if (first === '--help' || first === '-h') {
      io.stdout.write(topHelp(COMMANDS, version()));
      return EXIT_OK;
    }
    if (first === '--version' || first === '-v') {
      io.stdout.write(`${version()}\n`);
      return EXIT_OK;
    }
    if (first === 'help') return help(io, argv.slice(1));
    if (first.startsWith('-')) {
      throw usageError(
        `put the command first: evident <command> [options] (got ${first}; see evident --help)`,
        first,
      );
    }
    const { cmd, rest } = resolve(argv);
    name = `evident ${cmd.name}`;
    if (wantsHelp(rest)) {
      io.stdout.write(commandHelp(cmd));
      return EXIT_OK;
    }
    if (!cmd.run) {
      io.stderr.write(commandHelp(cmd));
      throw usageError(
        `a subcommand is needed: ${cmd.subcommands?.map((s) => s.name).join(', ')}`,
        'subcommand',
      );
    }
    const { values, positionals } = parseCommandArgs(cmd, rest);
    return await cmd.run({ command: cmd, values, positionals, json, io, now: () => new Date() });
  } catch (e) {
    return reportError(io, json, e, name);
  }
}

/** The command named by argv[0] (and the words after it, for subcommands), and the arguments after it. */
function resolve(argv: readonly string[]): { cmd: Command; rest: string[] } {
  let cmd = COMMANDS.find((c) => c.name === argv[0]);
  if (!cmd) {
    throw usageError(`unknown command "${argv[0]}" (see evident --help)`, 'command', { command: argv[0] });
  }
  let i = 1;
  for (;;) {
    const word = argv[i];
    const parent: Command = cmd;
    const sub =
      word === undefined ? undefined : parent.subcommands?.find((s) => s.name === `${parent.name} ${word}`);
    if (!sub) break;
    cmd = sub;
    i++;
  }
  const next = argv[i];
  if (!cmd.run && next !== undefined && !next.startsWith('-')) {
    throw usageError(
      `unknown subcommand "${cmd.name} ${next}" (see evident ${cmd.name} --help)`,
      'subcommand',
    );
  }
  return { cmd, rest: argv.slice(i) };
}

/** evident help [command [subcommand]]. */
function help(io: Io, args: readonly string[]): number {
  if (args.length === 0) {
    io.stdout.write(topHelp(COMMANDS, version()));
    return EXIT_OK;
  }
  io.stdout.write(commandHelp(resolve(args).cmd));
  return EXIT_OK;
}

/** A closed pipe (evident query | head) ends output quietly instead of crashing the process. */
function guardStdout(io: Io): void {
  const s = io.stdout as { on?: (ev: string, fn: (e: NodeJS.ErrnoException) => void) => unknown };
  if (s !== process.stdout || typeof s.on !== 'function') return;
  if (process.stdout.listenerCount('error') > 0) return;
  s.on('error', (e) => {
    if (e.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw e;
  });
}
