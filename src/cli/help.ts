/** Help text, generated from the command declarations. */
import { optionsOf } from './args.ts';
import type { Command } from './command.ts';

const EXIT_CODES =
  'Exit codes: 0 success, 1 evidence of tampering, 2 usage, input or environment error, 3 internal error.';

export function commandHelp(cmd: Command): string {
  const opts = optionsOf(cmd);
  const pos = (cmd.positionals ?? []).map((p) => ` ${p.name}`).join('');
  const subs = cmd.subcommands && cmd.subcommands.length > 0;
  const lines = [
    `Usage: evident ${cmd.name}${subs ? (cmd.run ? ' [<subcommand>]' : ' <subcommand>') : ''}${pos} [options]`,
    '',
    cmd.summary,
  ];
  if (cmd.description) lines.push('', cmd.description);
  if (cmd.positionals && cmd.positionals.length > 0) {
    lines.push('', 'Arguments:');
    lines.push(...columns(cmd.positionals.map((p) => [p.name, p.description])));
  }
  if (subs) {
    lines.push('', 'Subcommands:');
    lines.push(...columns(cmd.subcommands!.map((s) => [s.name, s.summary])));
  }
  lines.push('', 'Options:');
  lines.push(
    ...columns(
      Object.entries(opts).map(([name, s]) => [
        `${s.short ? `-${s.short}, ` : ''}--${name}${s.value ? ` ${s.value}` : ''}`,
        `${s.description}${s.multiple ? ' (repeatable)' : ''}${s.default ? ` (default: ${s.default})` : ''}`,
      ]),
    ),
  );
  if (cmd.examples.length > 0) {
    lines.push('', cmd.examples.length > 1 ? 'Examples:' : 'Example:');
    for (const ex of cmd.examples) lines.push(`  ${ex}`);
  }
  lines.push('', EXIT_CODES);
  return `${lines.join('\n')}\n`;
}

export function topHelp(commands: readonly Command[], version: string): string {
  const lines = [
    `evident ${version}: a tamper-evident audit log (RFC 6962 Merkle tree, C2SP signed checkpoints)`,
    '',
    'Usage: evident <command> [options]',
    '',
    'Commands:',
    ...columns(commands.map((c) => [c.name, c.summary])),
    '',
    'Common options: --db PATH, --key PATH, --log NAME, --json, -h/--help; and evident --version.',
    'Environment: EVIDENT_DB (database), EVIDENT_KEY (key file), EVIDENT_SIGNING_KEY (the key itself).',
    EXIT_CODES,
    "Run 'evident <command> --help' for a command's options and an example.",
  ];
  return `${lines.join('\n')}\n`;
}

function columns(rows: readonly (readonly [string, string])[]): string[] {
  const width = Math.min(Math.max(...rows.map((r) => r[0].length)), 28);
  return rows.map(([a, b]) =>
    a.length > width ? `  ${a}\n  ${''.padEnd(width)}  ${b}` : `  ${a.padEnd(width)}  ${b}`,
  );
}
