/** evident init: the signing key file (0600) and the database with its log. */
import { existsSync, promises as fs } from 'node:fs';
import { hostname } from 'node:os';
import { setPolicy } from '../../archive/retention.ts';
import { ERASABLE_CANDIDATES, type ErasableField } from '../../core/event/schema.ts';
import { formatVerifierKey, isValidKeyName, type NoteSigner } from '../../core/note-keys.ts';
import { redactUrls } from '../../core/redact.ts';
import { createKeyFile } from '../../ledger/keyfile.ts';
import { createLog } from '../../ledger/open.ts';
import type { Context } from '../command.ts';
import { usageError } from '../errors.ts';
import { dbPath, flag, keyPath, logName, str } from '../globals.ts';
import { dbFile, openStoreAt } from '../open-log.ts';
import { print, printJson } from '../output.ts';
import { loadSigningKey, signingKeyFromEnv, signingKeySource } from '../signing-key.ts';
import { parseList } from '../values.ts';
import { policyFromFlags } from './retention.ts';

export function defaultOrigin(log: string): string {
  const host = hostname().toLowerCase();
  const origin = `${host}/${log}`;
  return host !== '' && /^[a-z0-9.-]+$/.test(host) && isValidKeyName(origin) ? origin : `localhost/${log}`;
}

export async function run(ctx: Context): Promise<number> {
  const log = logName(ctx);
  const erasableArg = str(ctx, 'erasable');
  const erasable =
    erasableArg === undefined
      ? undefined
      : (parseList('erasable', erasableArg, ERASABLE_CANDIDATES) as ErasableField[]);
  const { path: key } = keyPath(ctx);
  const keyFromEnv = signingKeyFromEnv(ctx) !== undefined;
  const db = dbPath(ctx);
  const file = dbFile(db);
  // The database as printed: a PostgreSQL URL without its password.
  const shown = redactUrls(db);

  // Everything that can be refused is checked before a file is created.
  const origin = str(ctx, 'origin') ?? defaultOrigin(log);
  if (!isValidKeyName(origin)) {
    throw usageError('--origin must be non-empty, without spaces, "+" or control characters', '--origin');
  }
  // An existing key serves this log too: itself if it is named by the origin, else the key it
  // derives for the origin (../../ledger/keyfile.ts, KeyRing).
  let signer: NoteSigner | undefined;
  if (keyFromEnv || existsSync(key)) signer = (await loadSigningKey(ctx, key)).forOrigin(origin);

  const preset = str(ctx, 'retention');
  const policy = preset !== undefined ? policyFromFlags(ctx, preset) : undefined;
  if (!policy) {
    for (const f of ['online', 'archive', 'purpose', 'segment'])
      if (str(ctx, f) !== undefined) throw usageError(`--${f} goes with --retention`, `--${f}`);
  }

  const dbExisted = file === undefined || existsSync(file);
  const store = await openStoreAt(db, { readonly: false, allowForeign: flag(ctx, 'allow-foreign') });
  let createdKey = false;
  try {
    if (await store.getLog(log)) {
      throw usageError(`log "${log}" already exists in ${shown}`, '--log', { log });
    }
    if (!signer) {
      signer = await createKeyFile(key, origin);
      createdKey = true;
    }
    const info = await createLog(store, {
      name: log,
      origin,
      signer,
      ...(erasable ? { erasable } : {}),
    });
    if (policy) await setPolicy(store, info, policy, { now: ctx.now });
    await store.close();
    const vkey = formatVerifierKey(signer.name, signer.publicKey);
    const keySource = signingKeySource(ctx, key);
    if (ctx.json) {
      printJson(ctx, {
        log: info.name,
        origin: info.origin,
        vkey,
        db: shown,
        key: keySource,
        key_created: createdKey,
        erasable: info.erasable,
        ...(policy ? { retention: policy } : {}),
      });
    } else {
      print(
        ctx,
        [
          vkey,
          '',
          `Created log "${info.name}" (origin ${info.origin}) in ${shown}.`,
          `Signing key: ${keySource}${createdKey ? ' (new, mode 0600: keep it secret, back it up)' : ' (existing)'}.`,
          `Erasable fields: ${info.erasable.join(', ') || '(none)'}.`,
          ...(policy
            ? [`Retention: ${policy.preset}, online ${policy.online}, archive ${policy.archive}.`]
            : []),
          'Publish the verifier key above (first line): auditors verify checkpoints with it.',
        ].join('\n'),
      );
    }
    return 0;
  } catch (e) {
    await store.close().catch(() => {});
    if (createdKey) await fs.rm(key, { force: true });
    if (!dbExisted && file !== undefined) {
      for (const f of [file, `${file}-wal`, `${file}-shm`]) await fs.rm(f, { force: true });
    }
    throw e;
  }
}
