/**
 * The page's trust: it believes only the keys the auditor pinned. A checkpoint counts once the
 * pinned log key's signature verifies (core openCheckpoint, Ed25519); cosignatures by pinned
 * witness keys are verified too, other signature lines are shown and ignored. A pinned witness
 * quorum K (default: all pinned witnesses) must be met by valid cosignatures, through the same
 * core check as `evident verify --witness` (checkWitnessQuorum), or the checkpoint is not
 * trusted (WITNESS_QUORUM_UNMET). The checkpoint the
 * page verified last is remembered per log, and every later one must be proven to extend it
 * (RFC 9162 §2.1.4 consistency proof), so a rolled-back or forked log is caught here.
 */
import { fromBase64, toBase64, toHex } from '../src/core/bytes.ts';
import { type OpenedCheckpoint, openCheckpoint } from '../src/core/checkpoint.ts';
import { cosignatureTimestamp, cosignatureVerifier } from '../src/core/cosignature.ts';
import { isEvidentError } from '../src/core/errors.ts';
import { verifyConsistency } from '../src/core/merkle/verify.ts';
import { parseNote } from '../src/core/note.ts';
import { type NoteVerifier, verifierFromKey } from '../src/core/note-keys.ts';
import { checkWitnessQuorum, quorumPolicy, type WitnessPolicy } from '../src/core/witness-policy.ts';

/** The last checkpoint the page verified for a log (kept in localStorage by ./storage.ts). */
export interface Remembered {
  size: number;
  /** Base64 root hash. */
  root: string;
  note: string;
  /** When this page verified it (ISO). */
  at: string;
}

export type FailureKind =
  | 'rollback'
  | 'fork'
  | 'unproven'
  | 'bad-signature'
  | 'unverified'
  | 'malformed'
  | 'entry-modified'
  | 'proof-failed'
  | 'tampering'
  | 'export-failed'
  | 'server-alarm'
  | 'witness-quorum';

/** Evidence against the log (or the server): shown red, never as a mere error. */
export class TrustFailure extends Error {
  constructor(
    readonly kind: FailureKind,
    message: string,
    readonly index: number | null = null,
  ) {
    super(message);
  }
}

export interface Pins {
  logKeys: readonly string[];
  witnessKeys: readonly string[];
  /** Cosignatures by pinned witnesses a checkpoint needs; undefined = all pinned witnesses. */
  quorum?: number | undefined;
}

export interface Verifiers {
  log: NoteVerifier[];
  witnesses: NoteVerifier[];
  /** The pinned quorum as a core witness policy (k of the pinned witnesses); null = none. */
  quorum: WitnessPolicy | null;
  /** K, the number of pinned-witness cosignatures required (0 = no requirement). */
  required: number;
}

/**
 * Parses the pinned keys and quorum; a key that does not parse or a quorum out of 0..witnesses
 * is the auditor's mistake (thrown as is).
 */
export function verifiersOf(p: Pins): Verifiers {
  const witnessKeys = p.witnessKeys.map((k) => k.trim());
  const required = p.quorum ?? witnessKeys.length;
  return {
    log: p.logKeys.map((k) => verifierFromKey(k.trim())),
    witnesses: witnessKeys.map((k) => cosignatureVerifier(k)),
    quorum: witnessKeys.length === 0 && required === 0 ? null : quorumPolicy(witnessKeys, required),
    required,
  };
}

export interface SignatureLine {
  name: string;
  keyId: string;
  status: 'log key: verified' | 'witness: verified' | 'unknown key: ignored';
  /** A witness cosignature's time (POSIX seconds). */
  time?: number;
}

export interface CheckedCheckpoint {
  opened: OpenedCheckpoint;
  note: string;
  size: number;
  root: string;
  origin: string;
  lines: SignatureLine[];
}

const same = (a: { name: string; keyId: Uint8Array }, b: { name: string; keyId: Uint8Array }) =>
  a.name === b.name && toHex(a.keyId) === toHex(b.keyId);

/** Opens a checkpoint with the pinned keys; throws TrustFailure unless the log key signed it. */
export function checkCheckpoint(note: string, v: Verifiers, expectedOrigin?: string): CheckedCheckpoint {
  let opened: OpenedCheckpoint;
  try {
    opened = openCheckpoint(note, [...v.log, ...v.witnesses], expectedOrigin);
  } catch (e) {
    if (!isEvidentError(e)) throw e;
    if (e.code === 'NOTE_SIGNATURE_INVALID') {
      throw new TrustFailure(
        'bad-signature',
        `a signature on the checkpoint by a pinned key FAILS: ${e.message}`,
      );
    }
    if (e.code === 'NOTE_UNVERIFIED') {
      throw new TrustFailure('unverified', 'the checkpoint is not signed by any pinned key');
    }
    throw new TrustFailure('malformed', `the checkpoint is malformed: ${e.message}`);
  }
  const byLog = opened.verified.filter((s) => v.log.some((k) => same(k, s)));
  if (byLog.length === 0) {
    throw new TrustFailure('unverified', 'the checkpoint is not signed by the pinned log key');
  }
  const lines: SignatureLine[] = parseNote(note).signatures.map((s) => {
    const keyId = toHex(s.keyId);
    if (v.log.some((k) => same(k, s))) return { name: s.name, keyId, status: 'log key: verified' };
    if (v.witnesses.some((k) => same(k, s))) {
      const t = cosignatureTimestamp(s.signature);
      return { name: s.name, keyId, status: 'witness: verified', ...(t === null ? {} : { time: t }) };
    }
    return { name: s.name, keyId, status: 'unknown key: ignored' };
  });
  if (v.quorum) {
    try {
      checkWitnessQuorum(note, v.quorum);
    } catch (e) {
      if (!isEvidentError(e)) throw e;
      if (e.code === 'WITNESS_QUORUM_UNMET') {
        const got = (e.details['cosigned'] as unknown[] | undefined)?.length ?? 0;
        throw new TrustFailure(
          'witness-quorum',
          `WITNESS_QUORUM_UNMET: the checkpoint carries ${got} of ${v.required} required witness cosignatures (pinned witnesses); it is not trusted and nothing is verified against it`,
        );
      }
      throw new TrustFailure(
        'bad-signature',
        `a signature on the checkpoint by a pinned key FAILS: ${e.message}`,
      );
    }
  }
  const cp = opened.checkpoint;
  return { opened, note, size: cp.size, root: toBase64(cp.rootHash), origin: cp.origin, lines };
}

export type Reconciled = 'first' | 'same' | 'grew' | 'older';

/**
 * Checks a verified checkpoint against the one remembered for its log. `latest` says the server
 * gave it as its newest: one smaller than the remembered is then a rollback. `proof(from, to)`
 * asks the server for a consistency proof.
 */
export async function reconcile(
  cp: CheckedCheckpoint,
  remembered: Remembered | undefined,
  latest: boolean,
  proof: (from: number, to: number) => Promise<Uint8Array[]>,
): Promise<Reconciled> {
  if (!remembered) return 'first';
  const seen = `the checkpoint of size ${remembered.size} this page verified on ${remembered.at}`;
  if (cp.size === remembered.size) {
    if (cp.root !== remembered.root) {
      throw new TrustFailure(
        'fork',
        `FORK: the server's tree of size ${cp.size} has another root than ${seen}: the log was rewritten, or the server shows different logs to different readers`,
        null,
      );
    }
    return 'same';
  }
  if (cp.size < remembered.size && latest) {
    throw new TrustFailure(
      'rollback',
      `ROLLBACK: the server's latest checkpoint has size ${cp.size}, smaller than ${seen}: entries from ${cp.size} on were removed, or an older copy of the log was restored`,
      cp.size,
    );
  }
  const [from, to, r1, r2] =
    cp.size > remembered.size
      ? [remembered.size, cp.size, remembered.root, cp.root]
      : [cp.size, remembered.size, cp.root, remembered.root];
  let hashes: Uint8Array[];
  try {
    hashes = await proof(from, to);
  } catch (e) {
    throw new TrustFailure(
      'unproven',
      `the server cannot prove that its tree of size ${to} extends the tree of size ${from} (${(e as Error).message}): a log that was cut or forked cannot give this proof`,
      from,
    );
  }
  try {
    verifyConsistency(from, to, hashes, fromBase64(r1, 32), fromBase64(r2, 32));
  } catch (e) {
    throw new TrustFailure(
      'fork',
      `FORK: the server's tree of size ${cp.size} does not extend ${seen} (consistency proof ${from} → ${to} fails: ${(e as Error).message}); entries below ${Math.min(from, to)} or the tree were rewritten`,
      null,
    );
  }
  return cp.size > remembered.size ? 'grew' : 'older';
}
