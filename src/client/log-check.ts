/**
 * Rollback and fork detection from the client's side. The client keeps the last checkpoint it
 * verified (CHECKPOINT in the spool directory, the signed note as served) and accepts a new one
 * only if its signature verifies with the configured verifier key (C2SP signed-note) and a
 * consistency proof (RFC 9162 §2.1.4) shows that the new tree extends the old. A smaller tree,
 * another root at the same size, or a failed proof is CHECKPOINT_INCONSISTENT, and the old
 * checkpoint is kept: a rolled-back log is never accepted as the new reference.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { bytesEqual, fromBase64, toBase64 } from '../core/bytes.ts';
import { type Checkpoint, openCheckpoint } from '../core/checkpoint.ts';
import { ErrorCode, EvidentError } from '../core/errors.ts';
import { verifyConsistency } from '../core/merkle/verify.ts';
import { type NoteVerifier, parseVerifierKey, verifierFromKey } from '../core/note-keys.ts';
import { checkWitnessQuorum, type WitnessPolicy } from '../core/witness-policy.ts';
import { replaceFile } from './files.ts';
import type { Transport } from './http.ts';

export const CHECKPOINT_FILE = 'CHECKPOINT';

export interface LogCheck {
  /** The tree size now verified. */
  size: number;
  /** Base64 root hash of that tree. */
  rootHash: string;
  /** The size verified before (undefined on the first check). */
  previousSize: number | undefined;
}

function inconsistent(message: string, details: Record<string, unknown>): EvidentError {
  return new EvidentError(ErrorCode.CHECKPOINT_INCONSISTENT, message, details);
}

export class LogChecker {
  private readonly verifier: NoteVerifier;
  private readonly origin: string;
  private running: Promise<LogCheck> | undefined;

  constructor(
    vkey: string,
    origin: string | undefined,
    private readonly dir: string,
    private readonly transport: Transport,
    private readonly witnesses?: WitnessPolicy,
  ) {
    this.verifier = verifierFromKey(vkey);
    this.origin = origin ?? parseVerifierKey(vkey).name;
  }

  private open(note: string): Checkpoint {
    return openCheckpoint(note, this.verifier, this.origin).checkpoint;
  }

  /** The stored checkpoint, verified again: a damaged or forged reference is an error, not a reset. */
  async stored(): Promise<Checkpoint | undefined> {
    let note: string;
    try {
      note = await readFile(join(this.dir, CHECKPOINT_FILE), 'utf8');
    } catch (e) {
      if ((e as { code?: string }).code === 'ENOENT') return undefined;
      throw e;
    }
    return this.open(note);
  }

  /** One check at a time; concurrent callers share it. */
  check(): Promise<LogCheck> {
    this.running ??= this.run().finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  private async run(): Promise<LogCheck> {
    const old = await this.stored();
    const note = await this.transport.checkpoint();
    const cp = this.open(note);
    // With witnesses: a checkpoint no quorum of them cosigned may be a view shown to this client
    // alone; it is refused (WITNESS_QUORUM_UNMET) before it can become the reference.
    if (this.witnesses) checkWitnessQuorum(note, this.witnesses);
    if (old) {
      const detail = { verified_size: old.size, size: cp.size };
      if (cp.size < old.size) {
        throw inconsistent(
          `the log's checkpoint has tree size ${cp.size}, smaller than the ${old.size} verified before: the log was rolled back`,
          { ...detail, reason: 'smaller' },
        );
      }
      if (cp.size === old.size) {
        if (!bytesEqual(cp.rootHash, old.rootHash)) {
          throw inconsistent(
            `two checkpoints of tree size ${cp.size} have different root hashes: the log was forked`,
            {
              ...detail,
              reason: 'fork',
              roots: [toBase64(old.rootHash), toBase64(cp.rootHash)],
            },
          );
        }
      } else {
        const proof = (await this.transport.consistency(old.size, cp.size)).map((h) => {
          try {
            return fromBase64(h, 32);
          } catch {
            throw inconsistent('the consistency proof holds a malformed hash', {
              ...detail,
              reason: 'proof',
            });
          }
        });
        try {
          verifyConsistency(old.size, cp.size, proof, old.rootHash, cp.rootHash);
        } catch (e) {
          const code = e instanceof EvidentError ? e.code : ErrorCode.PROOF_INVALID;
          throw inconsistent(
            `the tree of size ${cp.size} does not extend the tree of size ${old.size} verified before (${code})`,
            { ...detail, reason: 'proof', cause: code },
          );
        }
      }
    }
    if (!old || cp.size > old.size) await replaceFile(this.dir, CHECKPOINT_FILE, note);
    return { size: cp.size, rootHash: toBase64(cp.rootHash), previousSize: old?.size };
  }
}
