/** evident keys create | list | revoke: API keys in the database, only hashes of their secrets. */
import { ErrorCode, EvidentError } from '../../core/errors.ts';
import { createApiKey, revokeApiKey } from '../../server/api-keys.ts';
import type { ApiKeyRecord } from '../../store/types.ts';
import { actorFromFlags } from '../actor-flags.ts';
import type { Context } from '../command.ts';
import { usageError } from '../errors.ts';
import { flag, str } from '../globals.ts';
import { logNames, noSuchLog, openExistingStore } from '../open-log.ts';
import { note, print, printJson, table } from '../output.ts';
import { parseList } from '../values.ts';

function view(k: ApiKeyRecord) {
  return {
    id: k.id,
    logs: k.logs,
    scopes: k.scopes,
    ...(k.description !== undefined ? { description: k.description } : {}),
    created_at: k.createdAt,
    ...(k.revokedAt !== undefined ? { revoked_at: k.revokedAt } : {}),
  };
}

export async function create(ctx: Context): Promise<number> {
  const logArg = str(ctx, 'log');
  const scopeArg = str(ctx, 'scope');
  if (logArg === undefined)
    throw usageError('--log is required: the logs the key reaches (* for all)', '--log');
  if (scopeArg === undefined)
    throw usageError('--scope is required: ingest, read, verify or admin', '--scope');
  const logs = parseList('log', logArg);
  const scopes = parseList('scope', scopeArg, ['ingest', 'read', 'verify', 'admin']);
  const description = str(ctx, 'description');
  const by = actorFromFlags(ctx);
  const store = await openExistingStore(ctx, { readonly: false });
  try {
    // A key for a log that does not exist is almost always a typo; an admin key may create
    // the log on first use, so that stays possible, but only when asked for.
    if (!flag(ctx, 'allow-missing-log')) {
      const known = await logNames(store);
      const missing = logs.filter((l) => l !== '*' && !known.includes(l));
      if (missing.length > 0) {
        const e = noSuchLog(missing[0]!, known);
        throw new EvidentError(
          ErrorCode.NOT_FOUND,
          `${e.message}; give --allow-missing-log for a log not created yet`,
          { ...e.details, missing },
        );
      }
    }
    const { key, record } = await createApiKey(store, {
      logs,
      scopes,
      ...(description !== undefined ? { description } : {}),
      now: ctx.now,
      ...(by ? { by } : {}),
    });
    if (ctx.json) printJson(ctx, { key, ...view(record) });
    else {
      print(ctx, key);
      note(
        ctx,
        `key ${record.id} (${record.scopes.join(', ')} on ${record.logs.join(', ')}): shown this once, only its hash is kept`,
      );
    }
  } finally {
    await store.close();
  }
  return 0;
}

export async function list(ctx: Context): Promise<number> {
  const store = await openExistingStore(ctx, { readonly: true });
  let keys: ApiKeyRecord[];
  try {
    keys = await store.listApiKeys();
  } finally {
    await store.close();
  }
  if (ctx.json) {
    ctx.io.stdout.write(keys.map((k) => `${JSON.stringify(view(k))}\n`).join(''));
    return 0;
  }
  if (keys.length === 0) {
    note(ctx, 'no API keys (create one with evident keys create)');
    return 0;
  }
  print(
    ctx,
    table(
      ['ID', 'LOGS', 'SCOPES', 'CREATED', 'REVOKED', 'DESCRIPTION'],
      keys.map((k) => [
        k.id,
        k.logs.join(','),
        k.scopes.join(','),
        k.createdAt,
        k.revokedAt ?? '-',
        k.description ?? '',
      ]),
    ),
  );
  return 0;
}

export async function revoke(ctx: Context): Promise<number> {
  const id = ctx.positionals[0];
  if (id === undefined) throw usageError('give the id of the key to revoke (see evident keys list)', 'ID');
  if (!/^[0-9a-f]{12}$/.test(id)) {
    throw usageError(`"${id}" is not a key id (12 hex digits, as evident keys list shows)`, 'ID', {
      rule: 'format',
    });
  }
  const by = actorFromFlags(ctx);
  const store = await openExistingStore(ctx, { readonly: false });
  try {
    const before = await revokeApiKey(store, id, { now: ctx.now, ...(by ? { by } : {}) });
    if (!before) throw new EvidentError(ErrorCode.NOT_FOUND, `no API key ${id}`, { field: 'ID' });
    const after = (await store.getApiKey(id))!;
    if (ctx.json) printJson(ctx, { ...view(after), already_revoked: before.revokedAt !== undefined });
    else if (before.revokedAt !== undefined)
      note(ctx, `key ${id} was already revoked at ${before.revokedAt}`);
    else note(ctx, `revoked key ${id}: requests with it are refused from now on`);
  } finally {
    await store.close();
  }
  return 0;
}
