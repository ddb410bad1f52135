/** A test log for witnesses: leaves in memory, checkpoints signed by its key, proofs from the reference tree. */
import { utf8 } from '../../src/core/bytes.ts';
import { signCheckpoint } from '../../src/core/checkpoint.ts';
import { formatCosignerKey } from '../../src/core/cosignature.ts';
import { leafHash } from '../../src/core/hash.ts';
import { referenceConsistencyProof, referenceRoot } from '../../src/core/merkle/index.ts';
import { formatVerifierKey, type NoteSigner, signerFromSeed } from '../../src/core/note-keys.ts';
import { formatAddCheckpoint } from '../../src/core/witness-request.ts';

export class TestLog {
  readonly leaves: Uint8Array[] = [];
  readonly signer: NoteSigner;

  constructor(
    readonly origin: string,
    seedByte = 1,
  ) {
    this.signer = signerFromSeed(origin, new Uint8Array(32).fill(seedByte));
  }

  get vkey(): string {
    return formatVerifierKey(this.signer.name, this.signer.publicKey);
  }

  grow(n: number, tag = 'a'): this {
    for (let i = 0; i < n; i++) this.leaves.push(leafHash(utf8(`${tag}-${this.leaves.length}`)));
    return this;
  }

  checkpoint(size = this.leaves.length, signer: NoteSigner = this.signer): string {
    return signCheckpoint(
      { origin: this.origin, size, rootHash: referenceRoot(this.leaves.slice(0, size)) },
      signer,
    );
  }

  proof(from: number, to = this.leaves.length): Uint8Array[] {
    return from === 0 || from === to ? [] : referenceConsistencyProof(from, this.leaves.slice(0, to));
  }

  /** The add-checkpoint body from `old` to `size`. */
  request(old: number, size = this.leaves.length): string {
    return formatAddCheckpoint({
      oldSize: old,
      proof: this.proof(old, size),
      checkpoint: this.checkpoint(size),
    });
  }
}

export const WITNESS_SEED = new Uint8Array(32).fill(9);
export const witnessVkey = (name: string, pub: Uint8Array) => formatCosignerKey(name, pub);

export async function post(
  url: string,
  body: string | Uint8Array,
): Promise<{ status: number; type: string; text: string }> {
  const r = await fetch(`${url}/add-checkpoint`, { method: 'POST', body });
  return { status: r.status, type: r.headers.get('content-type') ?? '', text: await r.text() };
}
