/**
 * Parsing a command's arguments with node:util parseArgs, strictly: an unknown flag, a
 * missing value, a flag given twice, or a stray argument is a usage error naming the flag.
 */
import { type ParseArgsConfig, parseArgs } from 'node:util';
import type { Command, OptionSpecs, OptionValue } from './command.ts';
import { usageError } from './errors.ts';
import { COMMON_OPTIONS, GLOBAL_OPTIONS } from './globals.ts';

export function optionsOf(cmd: Command): OptionSpecs {
  const out: Record<string, OptionSpecs[string]> = { ...cmd.options };
  for (const g of cmd.globals) out[g] = GLOBAL_OPTIONS[g];
  return { ...out, ...COMMON_OPTIONS };
}

/** True when -h or --help appears before a `--` terminator. */
export function wantsHelp(args: readonly string[]): boolean {
  for (const a of args) {
    if (a === '--') return false;
    if (a === '--help' || a === '-h') return true;
  }
  return false;
}

export function parseCommandArgs(
  cmd: Command,
  args: readonly string[],
): { values: Record<string, OptionValue>; positionals: string[] } {
  const specs = optionsOf(cmd);
  const options: NonNullable<ParseArgsConfig['options']> = {};
  for (const [name, s] of Object.entries(specs)) {
    options[name] = {
      type: s.type,
      ...(s.short ? { short: s.short } : {}),
      ...(s.multiple ? { multiple: true } : {}),
    };
  }
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({
      args: [...args],
      options,
      strict: true,
      allowPositionals: (cmd.positionals?.length ?? 0) > 0,
      tokens: true,
    });
  } catch (e) {
    const message = e instanceof Error ? e.message : String(e);
    const flagName = /'(-{1,2}[^'\s=]+)/.exec(message)?.[1];
    const stray = /Unexpected argument '([^']*)'/.exec(message)?.[1];
    throw usageError(
      `${message.replace(/\s*\n\s*/g, ' ')} (see evident ${cmd.name} --help)`,
      flagName ?? (stray !== undefined ? 'argument' : undefined),
      stray !== undefined ? { argument: stray } : {},
    );
  }
  const seen = new Set<string>();
  for (const t of parsed.tokens ?? []) {
    if (t.kind !== 'option') continue;
    if (seen.has(t.name) && !specs[t.name]?.multiple && specs[t.name]?.type === 'string') {
      throw usageError(`--${t.name} is given more than once`, `--${t.name}`);
    }
    seen.add(t.name);
  }
  const max = cmd.positionals?.length ?? 0;
  if (parsed.positionals.length > max) {
    throw usageError(
      `unexpected argument "${parsed.positionals[max]}" (see evident ${cmd.name} --help)`,
      'argument',
    );
  }
  return { values: parsed.values as Record<string, OptionValue>, positionals: parsed.positionals };
}
