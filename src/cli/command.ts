/**
 * What a command declares: its flags (each with a description and the default shown in its
 * help), the global flags it uses, its positionals, an example, and how it runs. The parser
 * (./args.ts) and the help (./help.ts) are generated from this one declaration.
 */
import type { Io } from './io.ts';

export interface OptionSpec {
  type: 'string' | 'boolean';
  short?: string;
  multiple?: boolean;
  /** Placeholder for the value in help: PATH, N, RFC3339. */
  value?: string;
  description: string;
  /** The default as shown in help; the command applies it. */
  default?: string;
}

export type OptionSpecs = Readonly<Record<string, OptionSpec>>;

/** Flags several commands share; each command lists the ones it reads. */
export type GlobalOption = 'db' | 'key' | 'log' | 'progress' | 'signer-state';

export interface PositionalSpec {
  name: string;
  description: string;
}

export interface Command {
  /** As typed after `evident`: `verify`, or `query failures` for a subcommand. */
  name: string;
  /** One line, for `evident --help`. */
  summary: string;
  /** More words for `evident <cmd> --help`. */
  description?: string;
  globals: readonly GlobalOption[];
  options: OptionSpecs;
  positionals?: readonly PositionalSpec[];
  /** Either or both may be omitted when the command only groups subcommands. */
  subcommands?: readonly Command[];
  examples: readonly string[];
  run?: (ctx: Context) => Promise<number>;
}

export type OptionValue = string | boolean | string[] | undefined;

/** One invocation: the parsed flags and the process around it. */
export interface Context {
  command: Command;
  values: Readonly<Record<string, OptionValue>>;
  positionals: readonly string[];
  json: boolean;
  io: Io;
  now: () => Date;
}

/** A run function loaded on first use, so that `--help` does not load the library. */
export function lazy(
  load: () => Promise<(ctx: Context) => Promise<number>>,
): (ctx: Context) => Promise<number> {
  return async (ctx) => (await load())(ctx);
}
