/**
 * The authority of an erasure (docs/formats.md, "Erasable fields and erasures"). An `evident.erasure` event names
 * exactly the values it erases (`metadata.erasure.targets`, inside the hashed leaf) and carries
 * an Ed25519 signature, by an erasure key kept apart from the database and from the checkpoint
 * signing key, over a canonical statement of what is erased, in which log, why and by whom.
 * Whoever can only write the database can append an event and delete values; without the
 * erasure key they cannot make that statement, so a verifier holding the erasure verifier key
 * tells an authorised erasure from a forged one.
 */
import { fromBase64, toBase64, toHex, utf8 } from '../bytes.ts';
import { canonicalize } from '../canonical.ts';
import { ED25519_SIGNATURE_SIZE, type NoteSigner, type NoteVerifier } from '../note-keys.ts';
import type { AuditEvent, ErasableField } from './schema.ts';

/** The action of the audit event that records an erasure. */
export const ERASURE_ACTION = 'evident.erasure';

/** Actions starting so (any case) belong to the ledger itself: clients cannot append them. */
export const RESERVED_ACTION_PREFIX = 'evident.';

export function isReservedAction(action: string): boolean {
  return action.slice(0, RESERVED_ACTION_PREFIX.length).toLowerCase() === RESERVED_ACTION_PREFIX;
}

/** The first member of the signed statement: its type and version (domain separation). */
export const ERASURE_STATEMENT = 'evident-erasure/v1';

/** Field name → ascending, distinct leaf indexes whose value of that field is erased. */
export type ErasureTargets = Partial<Record<ErasableField, number[]>>;

/** `metadata.erasure` of an erasure event. */
export interface ErasureAuthority {
  targets: ErasureTargets;
  /** `<key name>+<8 hex key ID>` of the erasure key (signed-note key ID). */
  key: string;
  /** base64 of the 64-byte Ed25519 signature over erasureStatement(...). */
  signature: string;
}

/** What the statement binds; every part is also in the erasure event's hashed leaf. */
export interface ErasureClaim {
  /** The log's origin (its checkpoints' first line). */
  origin: string;
  targets: ErasureTargets;
  /** The event's `metadata.subject`. */
  subject: unknown;
  /** The event's `reason`. */
  reason: string;
  /** The event's actor. */
  by: { id: string; type: string };
}

/** The signed bytes: RFC 8785 canonical JSON of the statement, UTF-8. */
export function erasureStatement(c: ErasureClaim): Uint8Array {
  return utf8(
    canonicalize({
      statement: ERASURE_STATEMENT,
      origin: c.origin,
      targets: c.targets,
      // an event without metadata.subject signs none
      ...(c.subject === undefined ? {} : { subject: c.subject }),
      reason: c.reason,
      by: { id: c.by.id, type: c.by.type },
    }),
  );
}

export function signErasure(signer: NoteSigner, c: ErasureClaim): ErasureAuthority {
  return {
    targets: c.targets,
    key: `${signer.name}+${toHex(signer.keyId)}`,
    signature: toBase64(signer.sign(erasureStatement(c))),
  };
}

/** The (index, field) pairs an erasure event names; undefined when it is malformed. */
export function readTargets(raw: unknown, before: number): Map<number, Set<string>> | undefined {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return undefined;
  const out = new Map<number, Set<string>>();
  for (const [field, list] of Object.entries(raw as Record<string, unknown>)) {
    if (!Array.isArray(list)) return undefined;
    let last = -1;
    for (const i of list) {
      // strictly ascending leaf indexes before the event itself
      if (!Number.isSafeInteger(i) || (i as number) <= last || (i as number) >= before) return undefined;
      last = i as number;
      const fields = out.get(i as number) ?? new Set<string>();
      fields.add(field);
      out.set(i as number, fields);
    }
  }
  return out;
}

export type ErasureStatus =
  /** Signed by a trusted erasure key over this event's statement. */
  | 'authorised'
  /** Checked, and not signed by any trusted erasure key (unsigned, malformed, wrong key or bytes). */
  | 'unauthorised'
  /** No erasure key was given: whether it is authorised is not known. */
  | 'unauthenticated';

/** The event's metadata.erasure and metadata.subject, as found (hostile). */
function authorityOf(e: AuditEvent): { a: Record<string, unknown>; subject: unknown } | undefined {
  const m = e.metadata as Record<string, unknown> | undefined;
  const a = m?.['erasure'];
  if (typeof a !== 'object' || a === null || Array.isArray(a)) return undefined;
  return { a: a as Record<string, unknown>, subject: m?.['subject'] };
}

/** Whether one of `verifiers` (the erasure keys the auditor trusts) signed this erasure event. */
export function checkErasure(
  e: AuditEvent,
  origin: string,
  verifiers: readonly NoteVerifier[] | undefined,
): ErasureStatus {
  if (!verifiers || verifiers.length === 0) return 'unauthenticated';
  const found = authorityOf(e);
  if (!found) return 'unauthorised';
  const { a, subject } = found;
  if (typeof a['key'] !== 'string' || typeof a['signature'] !== 'string') return 'unauthorised';
  let sig: Uint8Array;
  try {
    sig = fromBase64(a['signature']);
  } catch {
    return 'unauthorised';
  }
  if (sig.length !== ED25519_SIGNATURE_SIZE || typeof e.reason !== 'string') return 'unauthorised';
  let msg: Uint8Array;
  try {
    msg = erasureStatement({
      origin,
      targets: a['targets'] as ErasureTargets,
      subject,
      reason: e.reason,
      by: { id: e.actor_id, type: e.actor_type },
    });
  } catch {
    return 'unauthorised'; // no canonical form
  }
  for (const v of verifiers) {
    if (a['key'] !== `${v.name}+${toHex(v.keyId)}`) continue;
    if (v.verify(msg, sig)) return 'authorised';
  }
  return 'unauthorised';
}

/** The targets an erasure event names (empty when it names none, or none well-formed). */
export function erasureTargets(e: AuditEvent, index: number): Map<number, Set<string>> {
  return readTargets(authorityOf(e)?.a['targets'], index) ?? new Map();
}
