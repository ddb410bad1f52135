/**
 * Opening the database and the ledger for a command. Nothing but `init` creates a database:
 * a missing file, or a file or PostgreSQL schema without an evident store, is an error naming
 * it (STORE_NOT_INITIALIZED), and another application's database is refused (STORE_FOREIGN). Commands that only read open the store
 * read-only and the ledger without a signer, so they can neither write nor sign.
 */
import { existsSync } from 'node:fs';
import { ErrorCode, EvidentError, isEvidentError } from '../core/errors.ts';
import type { NoteSigner } from '../core/note-keys.ts';
import type { KeyRing } from '../ledger/keyfile.ts';
import { Ledger, type LedgerOptions } from '../ledger/ledger.ts';
import { type FullStore, type OpenStoreOptions, openStore } from '../store/open.ts';
import type { ApiKeyStore, Store } from '../store/types.ts';
import type { Context } from './command.ts';
import { dbPath, keyPath, logName, signerStateDir } from './globals.ts';
import { loadSigningKey } from './signing-key.ts';

/** The file behind a `--db` value, or undefined for a URL. */
export function dbFile(db: string): string | undefined {
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(db)) return undefined;
  return db.startsWith('sqlite:') ? db.slice('sqlite:'.length) : db;
}

export async function openExistingStore(
  ctx: Context,
  o: { readonly: boolean },
): Promise<Store & ApiKeyStore> {
  const db = dbPath(ctx);
  const file = dbFile(db);
  if (file !== undefined && !existsSync(file)) {
    throw new EvidentError(
      ErrorCode.NOT_FOUND,
      `no database at ${file} (run evident init, or pass --db or set EVIDENT_DB)`,
      { field: 'db', path: file },
    );
  }
  return openStoreAt(db, { ...o, create: false });
}

/** openStore, with a driver failure (not a database, no permission) turned into a coded error. */
export async function openStoreAt(
  db: string,
  o: OpenStoreOptions & { readonly: boolean },
): Promise<FullStore> {
  try {
    return await openStore(db, o);
  } catch (e) {
    if (isEvidentError(e)) throw e;
    throw new EvidentError(
      ErrorCode.STORE_FAILED,
      `cannot open the database ${db}: ${(e as Error).message}`,
      {
        field: 'db',
        path: db,
      },
    );
  }
}

export async function signerFor(ctx: Context): Promise<KeyRing> {
  return loadSigningKey(ctx, keyPath(ctx).path);
}

/** The ledger on a read-only store, without a signer. */
export async function openReadOnly(ctx: Context): Promise<Ledger> {
  return openOn(ctx, await openExistingStore(ctx, { readonly: true }), {});
}

/** The ledger with its signing key, for commands that append or sign. */
export async function openForWriting(
  ctx: Context,
  signer?: NoteSigner | KeyRing,
  options: Omit<LedgerOptions, 'store' | 'signer' | 'log'> = {},
): Promise<Ledger> {
  const s = signer ?? (await signerFor(ctx));
  const state = signerStateDir(ctx);
  return openOn(ctx, await openExistingStore(ctx, { readonly: false }), {
    ...(state !== undefined ? { signerState: state } : {}),
    ...options,
    signer: s,
  });
}

async function openOn(ctx: Context, store: Store, o: Omit<LedgerOptions, 'store' | 'log'>): Promise<Ledger> {
  try {
    return await Ledger.open({ ...o, store, log: logName(ctx) });
  } catch (e) {
    const missing = isEvidentError(e, ErrorCode.NOT_FOUND) && e.details['log'] !== undefined;
    const known = missing ? await logNames(store).catch(() => undefined) : undefined;
    await store.close();
    if (known !== undefined) throw noSuchLog(logName(ctx), known);
    if (isEvidentError(e)) throw e;
    throw new EvidentError(
      ErrorCode.STORE_FAILED,
      `${dbPath(ctx)} is not a readable evident database: ${(e as Error).message}`,
      { field: 'db', path: dbPath(ctx) },
    );
  }
}

/** Runs `fn` on the ledger and always closes it (for a writer, close signs a last checkpoint). */
export async function withLedger<T>(ledger: Ledger, fn: (l: Ledger) => Promise<T>): Promise<T> {
  let result: T;
  try {
    result = await fn(ledger);
  } catch (e) {
    await ledger.close().catch(() => {});
    throw e;
  }
  await ledger.close();
  return result;
}

/** The names of the logs in the store, in the order it lists them. */
export async function logNames(store: Store): Promise<string[]> {
  return (await store.listLogs()).map((l) => l.name);
}

/** "no log named X", with the logs that do exist (the usual cause is a typo). */
export function noSuchLog(name: string, known: readonly string[], field = '--log'): EvidentError {
  const which =
    known.length === 0
      ? 'this database has no log yet (create one with evident init)'
      : `the logs here: ${known.join(', ')}`;
  return new EvidentError(ErrorCode.NOT_FOUND, `no log named "${name}"; ${which} (see evident logs)`, {
    field,
    log: name,
    logs: [...known],
  });
}
