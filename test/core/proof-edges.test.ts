/** The proof edge cases docs/formats.md lists (section 3, "Edge cases"), one assertion per row. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { toBase64 } from '../../src/core/bytes.ts';
import { isEvidentError } from '../../src/core/errors.ts';
import { emptyRoot, leafHash, nodeHash } from '../../src/core/hash.ts';
import { verifyConsistency, verifyInclusion } from '../../src/core/merkle/index.ts';

const leaf = (i: number) => leafHash(new Uint8Array([i]));
const code = (c: string) => (e: unknown) => isEvidentError(e) && e.code === c;

describe('proof edge cases as documented', () => {
  const a = leaf(1);
  const b = leaf(2);
  const two = nodeHash(a, b);

  it('MTH({}) is the documented base64', () => {
    assert.equal(toBase64(emptyRoot()), '47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=');
  });

  it('inclusion: size 1 has an empty path; index >= size or size 0 is PROOF_INVALID', () => {
    verifyInclusion(a, 0, 1, [], a);
    assert.throws(() => verifyInclusion(a, 1, 1, [], a), code('PROOF_INVALID'));
    assert.throws(() => verifyInclusion(a, 0, 0, [], a), code('PROOF_INVALID'));
  });

  it('consistency from 0: empty proof, old root MTH({})', () => {
    verifyConsistency(0, 2, [], emptyRoot(), two);
    assert.throws(() => verifyConsistency(0, 2, [a], emptyRoot(), two), code('PROOF_INVALID'));
    assert.throws(() => verifyConsistency(0, 2, [], a, two), code('PROOF_ROOT_MISMATCH'));
  });

  it('consistency between equal sizes: empty proof, equal roots', () => {
    verifyConsistency(2, 2, [], two, two);
    assert.throws(() => verifyConsistency(2, 2, [], two, a), code('PROOF_ROOT_MISMATCH'));
    assert.throws(() => verifyConsistency(2, 2, [a], two, two), code('PROOF_INVALID'));
  });

  it('consistency from M > N is PROOF_INVALID; from a power of two the old root is omitted', () => {
    assert.throws(() => verifyConsistency(2, 1, [], two, a), code('PROOF_INVALID'));
    verifyConsistency(1, 2, [b], a, two);
  });
});
