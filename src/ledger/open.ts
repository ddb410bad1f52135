/** Opening a ledger on a database file or a postgres:// URL, with its signing key. */

import { ErrorCode, EvidentError } from '../core/errors.ts';
import { DEFAULT_ERASABLE, ERASABLE_CANDIDATES, type ErasableField } from '../core/event/schema.ts';
import { assertKeyName, formatVerifierKey, type NoteSigner } from '../core/note-keys.ts';
import { openPostgresStore } from '../store/postgres/store.ts';
import { openSqliteStore } from '../store/sqlite/store.ts';
import type { ApiKeyStore, LogInfo, Store } from '../store/types.ts';
import { isKeyRing, type KeyRing, loadKeyRing } from './keyfile.ts';
import { Ledger, type LedgerOptions } from './ledger.ts';

export interface OpenLedgerOptions extends Omit<LedgerOptions, 'store' | 'signer'> {
  /** A SQLite file path (or `sqlite:PATH`), or a `postgres://` / `postgresql://` URL. */
  db: string;
  /** A signer, a key ring, or the path of a key file. Omit to open without the power to append or sign. */
  key?: NoteSigner | KeyRing | string;
  /** Open the database read-only: the file must exist and nothing is written to it. */
  readonly?: boolean;
}

export async function openStore(
  db: string,
  options: { readonly?: boolean } = {},
): Promise<Store & ApiKeyStore> {
  // The driver (npm pg) is loaded by openPostgresStore itself, only for a postgres:// URL.
  if (/^postgres(ql)?:\/\//.test(db)) return openPostgresStore(db, options);
  return openSqliteStore(db.startsWith('sqlite:') ? db.slice('sqlite:'.length) : db, options);
}

export async function openLedger(o: OpenLedgerOptions): Promise<Ledger> {
  const signer = typeof o.key === 'string' ? await loadKeyRing(o.key) : o.key;
  const store = await openStore(o.db, { readonly: o.readonly ?? false });
  try {
    return await Ledger.open({ ...o, store, ...(signer ? { signer } : {}) });
  } catch (e) {
    await store.close();
    throw e;
  }
}

export interface CreateLogOptions {
  name: string;
  /** Checkpoint origin, `<host>/<log>`; the signer's key name must equal it (a key ring derives it). */
  origin: string;
  signer: NoteSigner | KeyRing;
  erasable?: readonly ErasableField[];
}

/** What a log name may be: it appears in origins and URLs (the HTTP API validates with it too). */
export const LOG_NAME_PATTERN = '^[a-z0-9][a-z0-9._-]{0,63}$';
const LOG_NAME = new RegExp(LOG_NAME_PATTERN);

export function isValidLogName(name: string): boolean {
  return LOG_NAME.test(name);
}

export async function createLog(store: Store, o: CreateLogOptions): Promise<LogInfo> {
  if (!isValidLogName(o.name)) {
    throw new EvidentError(
      ErrorCode.USAGE,
      'a log name is 1 to 64 of a-z, 0-9, ".", "_", "-", starting with a letter or digit',
      {
        field: 'log',
      },
    );
  }
  assertKeyName(o.origin);
  const signer = isKeyRing(o.signer) ? o.signer.forOrigin(o.origin) : o.signer;
  if (signer.name !== o.origin) {
    throw new EvidentError(
      ErrorCode.KEY_INVALID,
      `the signing key's name "${signer.name}" must be the origin "${o.origin}"`,
    );
  }
  const erasable = [...(o.erasable ?? DEFAULT_ERASABLE)];
  for (const f of erasable) {
    if (!(ERASABLE_CANDIDATES as readonly string[]).includes(f)) {
      throw new EvidentError(
        ErrorCode.USAGE,
        `${f} cannot be erasable (one of ${ERASABLE_CANDIDATES.join(', ')})`,
        {
          field: 'erasable',
        },
      );
    }
  }
  if (await store.getLog(o.name)) {
    throw new EvidentError(ErrorCode.USAGE, `log "${o.name}" already exists`, { field: 'log' });
  }
  // Two trees under one origin would look like a fork to every verifier and witness.
  const twin = (await store.listLogs()).find((l) => l.origin === o.origin);
  if (twin) {
    throw new EvidentError(ErrorCode.USAGE, `origin "${o.origin}" already names log "${twin.name}"`, {
      field: 'origin',
    });
  }
  return store.createLog({
    name: o.name,
    origin: o.origin,
    vkey: formatVerifierKey(o.origin, signer.publicKey),
    erasable,
  });
}
