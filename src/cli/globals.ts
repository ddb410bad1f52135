/** The flags shared by commands, and how their values are resolved (flag, then environment, then default). */
import type { Context, GlobalOption, OptionSpec } from './command.ts';
import { DEFAULT_DB, DEFAULT_KEY } from './defaults.ts';

export const DB_ENV = 'EVIDENT_DB';
export const KEY_PATH_ENV = 'EVIDENT_KEY';
/** The signing key itself; read only at the CLI's edge (./signing-key.ts). */
export const SIGNING_KEY_ENV = 'EVIDENT_SIGNING_KEY';
/** The signer state directory (docs/threat-model.md, "Published checkpoints"). */
export const SIGNER_STATE_ENV = 'EVIDENT_SIGNER_STATE';

export const GLOBAL_OPTIONS: Readonly<Record<GlobalOption, OptionSpec>> = {
  db: {
    type: 'string',
    value: 'PATH',
    description: 'SQLite database file',
    default: `$${DB_ENV}, else ${DEFAULT_DB}`,
  },
  key: {
    type: 'string',
    value: 'PATH',
    description: 'signing key file (the key may instead be in $EVIDENT_SIGNING_KEY)',
    default: `$${KEY_PATH_ENV}, else ${DEFAULT_KEY}`,
  },
  log: { type: 'string', value: 'NAME', description: 'log name', default: 'default' },
  progress: { type: 'boolean', description: 'show progress on stderr even when it is not a terminal' },
  'signer-state': {
    type: 'string',
    value: 'DIR',
    description:
      'record each checkpoint let out in DIR (outside the database) and never sign a tree that contradicts it',
    default: `$${SIGNER_STATE_ENV}, else off`,
  },
};

/** Flags every command takes. */
export const COMMON_OPTIONS: Readonly<Record<'json' | 'help', OptionSpec>> = {
  json: { type: 'boolean', description: 'machine-readable output; errors as a JSON object on stderr' },
  help: { type: 'boolean', short: 'h', description: 'show this help' },
};

export function str(ctx: Context, name: string): string | undefined {
  const v = ctx.values[name];
  return typeof v === 'string' ? v : undefined;
}

export function strs(ctx: Context, name: string): string[] {
  const v = ctx.values[name];
  return Array.isArray(v) ? v : typeof v === 'string' ? [v] : [];
}

export function flag(ctx: Context, name: string): boolean {
  return ctx.values[name] === true;
}

function fromEnv(ctx: Context, name: string): string | undefined {
  const v = ctx.io.env[name];
  return v === undefined || v === '' ? undefined : v;
}

export function dbPath(ctx: Context): string {
  return str(ctx, 'db') ?? fromEnv(ctx, DB_ENV) ?? DEFAULT_DB;
}

/** The key file path, and whether the user named it (a named file must exist). */
export function keyPath(ctx: Context): { path: string; explicit: boolean } {
  const given = str(ctx, 'key') ?? fromEnv(ctx, KEY_PATH_ENV);
  return { path: given ?? DEFAULT_KEY, explicit: given !== undefined };
}

/** The signer state directory, if one is set (flag, then environment). */
export function signerStateDir(ctx: Context): string | undefined {
  return str(ctx, 'signer-state') ?? fromEnv(ctx, SIGNER_STATE_ENV);
}

export function logName(ctx: Context): string {
  return str(ctx, 'log') ?? 'default';
}
