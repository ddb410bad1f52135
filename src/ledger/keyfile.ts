/**
 * The signing key lives outside the database: in a key file readable by its owner only
 * (0600), or wherever the caller keeps the key text (parseKeyRing). The file holds the note signer key string
 * (`PRIVATE+KEY+<name>+<key id>+<base64>`), the format golang.org/x/mod/sumdb/note reads.
 */
import { constants, promises as fs } from 'node:fs';
import { hmac } from '@noble/hashes/hmac.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { utf8 } from '../core/bytes.ts';
import { ErrorCode, EvidentError } from '../core/errors.ts';
import {
  generateSigner,
  type NoteSigner,
  parseSignerKey,
  type SignerKey,
  signerFromSeed,
} from '../core/note-keys.ts';

/** Writes a new key file; refuses to overwrite an existing one. */
export async function createKeyFile(path: string, name: string): Promise<NoteSigner> {
  const { signer, signerKey } = generateSigner(name);
  const text = `${signerKey}\n`;
  let handle: fs.FileHandle;
  try {
    handle = await fs.open(path, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, 0o600);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EEXIST') {
      throw new EvidentError(
        ErrorCode.USAGE,
        `key file ${path} already exists: refusing to overwrite a signing key`,
        {
          path,
        },
      );
    }
    throw e;
  }
  try {
    await handle.writeFile(text);
    await handle.sync();
  } finally {
    await handle.close();
  }
  return signer;
}

/**
 * The signers of every log one key file serves. The log whose origin is the key's own name is
 * signed by the key itself; any other origin gets its own Ed25519 key, derived from the file's
 * seed (HMAC-SHA256(seed, "evident/log-key/v1\n" || origin)) and named by that origin, so that
 * each log's checkpoints carry a key name equal to their origin (C2SP tlog-checkpoint) while
 * one secret serves them all.
 */
export interface KeyRing {
  /** The key file's own key name. */
  readonly name: string;
  forOrigin(origin: string): NoteSigner;
}

export function keyRing(key: SignerKey): KeyRing {
  const cache = new Map<string, NoteSigner>();
  return {
    name: key.name,
    forOrigin(origin) {
      let s = cache.get(origin);
      if (!s) {
        s =
          origin === key.name
            ? signerFromSeed(key.name, key.seed)
            : signerFromSeed(origin, hmac(sha256, key.seed, utf8(`evident/log-key/v1\n${origin}`)));
        cache.set(origin, s);
      }
      return s;
    },
  };
}

export function isKeyRing(k: NoteSigner | KeyRing): k is KeyRing {
  return typeof (k as KeyRing).forOrigin === 'function';
}

/**
 * Loads the key file at `path` as a key ring. The library reads only what it is given: the
 * environment is the CLI's to read (src/cli/signing-key.ts), so that an embedding process never
 * signs with a key it did not pass.
 */
export async function loadKeyRing(path: string): Promise<KeyRing> {
  return keyRing(await loadKey(path));
}

/** Loads the signer of the key file at `path`. */
export async function loadSigner(path: string): Promise<NoteSigner> {
  const k = await loadKey(path);
  return signerFromSeed(k.name, k.seed);
}

/** A key ring from the signer key text itself (`PRIVATE+KEY+...`), kept somewhere other than a file. */
export function parseKeyRing(text: string, source = 'the signing key'): KeyRing {
  return keyRing(parseKey(text.trim(), source));
}

async function loadKey(path: string): Promise<SignerKey> {
  let st: Awaited<ReturnType<typeof fs.stat>>;
  try {
    st = await fs.stat(path);
  } catch {
    throw new EvidentError(
      ErrorCode.KEY_INVALID,
      `no signing key: ${path} does not exist (run evident init)`,
      {
        path,
      },
    );
  }
  if ((st.mode & 0o077) !== 0) {
    throw new EvidentError(
      ErrorCode.KEY_INVALID,
      `key file ${path} is readable by others (mode ${(st.mode & 0o777).toString(8)}): chmod 600 it`,
      { path, mode: (st.mode & 0o777).toString(8) },
    );
  }
  return parseKey((await fs.readFile(path, 'utf8')).trim(), path);
}

function parseKey(text: string, source: string): SignerKey {
  try {
    return parseSignerKey(text);
  } catch (e) {
    throw new EvidentError(ErrorCode.KEY_INVALID, `${source} does not hold a valid signer key`, {
      source,
      cause: (e as Error).message,
    });
  }
}

/**
 * Loads an erasure key (../core/event/erasure.ts) from its own key file, same format and the same
 * 0600 rule as the signing key's. Never from the signing key's environment variable: the
 * erasure key is a key of its own.
 */
export async function loadErasureKey(path: string): Promise<NoteSigner> {
  try {
    await fs.stat(path);
  } catch {
    throw new EvidentError(
      ErrorCode.KEY_INVALID,
      `no erasure key: ${path} does not exist (create one with evident key --erasure-key ${path} --create)`,
      { path, field: '--erasure-key', reason: 'missing' },
    );
  }
  try {
    const k = await loadKey(path);
    return signerFromSeed(k.name, k.seed);
  } catch (e) {
    if (!(e instanceof EvidentError)) throw e;
    throw new EvidentError(ErrorCode.KEY_INVALID, `erasure key: ${e.message}`, {
      ...e.details,
      field: '--erasure-key',
    });
  }
}

/**
 * Loads a witness's cosigner key file (`evident witness init`): the same text and 0600 rule as
 * a signing key; its seed signs C2SP cosignatures (type 0x04), never checkpoints.
 */
export async function loadWitnessKey(path: string): Promise<SignerKey> {
  try {
    await fs.stat(path);
  } catch {
    throw new EvidentError(
      ErrorCode.KEY_INVALID,
      `no witness key: ${path} does not exist (create one with evident witness init --key ${path} --name NAME)`,
      { path, field: '--key', reason: 'missing' },
    );
  }
  return loadKey(path);
}
