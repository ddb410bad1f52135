/**
 * The witness's one decision (C2SP tlog-witness, add-checkpoint): given a request body, the
 * answer. Statuses are the spec's: 200 with cosignature lines; 400 for a malformed body or an
 * old size above the checkpoint's; 403 when no signature verifies against a key trusted for the
 * origin; 404 for an unknown origin; 409 (`text/x.tlog.size`, the latest cosigned size) when the
 * old size is not the latest cosigned size, or when the sizes are equal and the roots differ;
 * 422 for a consistency proof that does not verify. The check against the latest cosigned
 * checkpoint and its update happen in one store transaction (WitnessStore.witnessStep), and the
 * new checkpoint is recorded before the cosignature is returned.
 */
import { bytesEqual, utf8 } from '../../core/bytes.ts';
import { parseCheckpoint } from '../../core/checkpoint.ts';
import { cosignerFromSeed } from '../../core/cosignature.ts';
import { ErrorCode, EvidentError, isEvidentError } from '../../core/errors.ts';
import { emptyRoot } from '../../core/hash.ts';
import { verifyConsistency } from '../../core/merkle/index.ts';
import { type NoteSignature, verifyNote } from '../../core/note.ts';
import { type NoteSigner, type NoteVerifier, verifierFromKey } from '../../core/note-keys.ts';
import type { WitnessPolicy } from '../../core/witness-policy.ts';
import {
  formatCosignatureLines,
  parseAddCheckpoint,
  TLOG_SIZE_CONTENT_TYPE,
} from '../../core/witness-request.ts';
import type { WitnessStore } from '../../store/types.ts';

export interface WitnessAnswer {
  status: 200 | 400 | 403 | 404 | 409 | 422;
  contentType: string;
  body: string;
  /** Why, for the witness's own log line and metrics (never sent beyond the body's text). */
  reason: string;
  origin?: string;
  /** The old size the request named, once parsed. */
  old?: number;
  /** 200: the size cosigned; 409: the latest cosigned size. */
  size?: number;
}

export interface WitnessIdentity {
  /** The witness's key name (its cosignature lines carry it). */
  name: string;
  /** The Ed25519 seed of its cosigner key. */
  seed: Uint8Array;
}

/** The logs a witness checks: verifiers by origin, from a tlog-policy file's `log` lines. */
export function trustedLogs(policy: WitnessPolicy): Map<string, NoteVerifier[]> {
  const out = new Map<string, NoteVerifier[]>();
  for (const l of policy.logs) {
    const list = out.get(l.origin) ?? [];
    list.push(verifierFromKey(l.vkey));
    out.set(l.origin, list);
  }
  return out;
}

const text = 'text/plain; charset=utf-8';
const answer = (status: WitnessAnswer['status'], reason: string, extra: Partial<WitnessAnswer> = {}) =>
  ({ status, contentType: text, body: `${reason}\n`, reason, ...extra }) as WitnessAnswer;

export class Witness {
  private readonly cosigner: NoteSigner;

  constructor(
    private readonly store: WitnessStore,
    private readonly logs: Map<string, NoteVerifier[]>,
    identity: WitnessIdentity,
    private readonly now: () => Date = () => new Date(),
  ) {
    this.cosigner = cosignerFromSeed(identity.name, identity.seed, () =>
      Math.floor(this.now().getTime() / 1000),
    );
  }

  get publicKey(): Uint8Array {
    return this.cosigner.publicKey;
  }

  async addCheckpoint(body: string): Promise<WitnessAnswer> {
    let req: ReturnType<typeof parseAddCheckpoint>;
    try {
      req = parseAddCheckpoint(body);
    } catch (e) {
      return answer(400, `malformed request: ${reasonOf(e)}`);
    }
    // signed-note: the text is not trusted before a signature verifies, but the origin line is
    // what names the keys to verify with (tlog-witness: "the public key(s) it trusts for the
    // checkpoint origin").
    const origin = req.checkpoint.slice(0, req.checkpoint.indexOf('\n'));
    const verifiers = this.logs.get(origin);
    if (!verifiers) return answer(404, 'unknown log origin', { origin });
    let noteText: string;
    try {
      noteText = verifyNote(req.checkpoint, verifiers).text;
    } catch (e) {
      if (isEvidentError(e, ErrorCode.NOTE_MALFORMED))
        return answer(400, `malformed request: ${reasonOf(e)}`);
      return answer(403, 'no signature verifies against a key trusted for this log', { origin });
    }
    let cp: ReturnType<typeof parseCheckpoint>;
    try {
      cp = parseCheckpoint(noteText);
    } catch (e) {
      return answer(400, `malformed checkpoint: ${reasonOf(e)}`, { origin });
    }
    if (req.oldSize > cp.size) return answer(400, 'old size is above the checkpoint size', { origin });
    const refused = await this.store.witnessStep(origin, async (tx) => {
      const latest = await tx.latest();
      const latestSize = latest?.size ?? 0;
      if (req.oldSize !== latestSize) {
        return {
          status: 409,
          contentType: TLOG_SIZE_CONTENT_TYPE,
          body: `${latestSize}\n`,
          reason: 'old size is not the latest cosigned size',
          origin,
          size: latestSize,
        } satisfies WitnessAnswer;
      }
      const oldRoot = latest?.root ?? emptyRoot();
      if (cp.size === latestSize) {
        if (!bytesEqual(oldRoot, cp.rootHash)) {
          return {
            status: 409,
            contentType: TLOG_SIZE_CONTENT_TYPE,
            body: `${latestSize}\n`,
            reason: 'a different root hash at the cosigned size: the log forked',
            origin,
            size: latestSize,
          } satisfies WitnessAnswer;
        }
        if (req.proof.length > 0) return answer(422, 'the proof must be empty for equal sizes', { origin });
        if (latest) return undefined; // the same checkpoint again: cosign it again, nothing to record
      } else {
        try {
          verifyConsistency(req.oldSize, cp.size, req.proof, oldRoot, cp.rootHash);
        } catch {
          return answer(422, 'the consistency proof does not verify', { origin });
        }
      }
      await tx.record({
        origin,
        size: cp.size,
        root: cp.rootHash,
        note: req.checkpoint,
        cosignedAt: this.now().toISOString(),
      });
      return undefined;
    });
    if (refused) return { ...refused, old: req.oldSize };
    // Recorded (committed) above: only now does the cosignature leave.
    const sig: NoteSignature = {
      name: this.cosigner.name,
      keyId: this.cosigner.keyId,
      signature: this.cosigner.sign(utf8(noteText)),
    };
    return {
      status: 200,
      contentType: text,
      body: formatCosignatureLines([sig]),
      reason: 'cosigned',
      origin,
      old: req.oldSize,
      size: cp.size,
    };
  }
}

function reasonOf(e: unknown): string {
  if (e instanceof EvidentError) return String(e.details['reason'] ?? e.code);
  throw e;
}
