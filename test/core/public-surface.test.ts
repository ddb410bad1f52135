/**
 * The root export `evident` is a deliberate surface: adding or removing a name is a change of
 * the public API, made here on purpose (and in CHANGELOG.md), never by an `export *` that
 * drags a module's helpers along. Tests reach internals by their paths.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import * as root from '../../src/core/index.ts';

const PUBLIC = [
  // errors
  'ErrorCode',
  'EvidentError',
  'ValidationError',
  'isEvidentError',
  // bytes as text
  'fromBase64',
  'fromHex',
  'toBase64',
  'toHex',
  // the event, the entry and its leaf
  'ACTOR_TYPES',
  'DEFAULT_ERASABLE',
  'ERASABLE_CANDIDATES',
  'ERASURE_ACTION',
  'EVENT_FIELDS',
  'EventSchema',
  'GENESIS',
  'LIMITS',
  'LOG_NAME_PATTERN',
  'REQUIRED_FIELDS',
  'RESULTS',
  'canonicalBytes',
  'canonicalize',
  'checkCommitment',
  'entryLeafHash',
  'isValidLogName',
  'leafBytes',
  'leafText',
  'uuidv7',
  'validateEvent',
  // erasures: the signed statement that authorises one
  'ERASURE_STATEMENT',
  'RESERVED_ACTION_PREFIX',
  'checkErasure',
  'erasureStatement',
  'isReservedAction',
  'signErasure',
  // RFC 9162 hashes and proofs
  'HASH_SIZE',
  'emptyRoot',
  'leafHash',
  'nodeHash',
  'rootFromInclusionProof',
  'verifyConsistency',
  'verifyInclusion',
  // C2SP notes, keys, checkpoints, cosignatures
  'cosign',
  'cosignatureVerifier',
  'cosignerFromSeed',
  'formatCheckpoint',
  'formatCosignerKey',
  'formatNote',
  'formatSignerKey',
  'formatVerifierKey',
  'generateSigner',
  'isValidKeyName',
  'keyId',
  'openCheckpoint',
  'parseCheckpoint',
  'parseCosignerKey',
  'parseNote',
  'parseSignerKey',
  'parseVerifierKey',
  'signCheckpoint',
  'signNote',
  'signerFromKey',
  'signerFromSeed',
  'verifierFromKey',
  'verifierFromPublicKey',
  'verifyCosignature',
  'verifyNote',
  // C2SP tlog-tiles and tlog-proof
  'TLOG_PROOF_MEDIA_TYPE',
  'formatTlogProof',
  'parseEntryBundle',
  'parseTilePath',
  'parseTlogProof',
  'tilePath',
  'verifyTlogProof',
  // whole logs and bundles
  'BUNDLE_FORMAT',
  'FaultKind',
  'describeReport',
  'parseBundleHeader',
  'verifyBundle',
  'verifyLog',
  // witnesses
  'checkWitnessQuorum',
  'parseWitnessPolicy',
  'quorumPolicy',
];

describe('the root export', () => {
  it('exports exactly the chosen names', () => {
    assert.deepEqual(Object.keys(root).sort(), [...PUBLIC].sort());
  });

  it('offers no way to swap the hash that verification uses', () => {
    // A process-wide SHA-256 hook in the public API would let any library loaded beside a
    // verifier change what "verified" means. The Node entry points install the native hash
    // themselves; nothing public can.
    for (const name of ['setSha256', 'sha256']) assert.equal(name in root, false, name);
  });
});
