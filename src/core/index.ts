/**
 * `evident`, the browser-safe core: what an auditor, a verifier or a viewer needs to check an
 * evident log, its checkpoints and its proofs, with no I/O. This list is the public surface,
 * chosen name by name (test/core/public-surface.test.ts holds it): the building blocks behind
 * it (proof plans, tree arithmetic, reference implementations, the SHA-256 hook) stay internal.
 */

export {
  BUNDLE_FORMAT,
  type BundleHeader,
  parseBundleHeader,
  type VerifyBundleOptions,
  verifyBundle,
} from './bundle.ts';

// Bytes as text, for hashes, roots and keys.
export { fromBase64, fromHex, toBase64, toHex } from './bytes.ts';
export { type CanonicalOptions, canonicalBytes, canonicalize } from './canonical.ts';
export {
  type Checkpoint,
  type CheckpointInput,
  type CheckpointWarning,
  formatCheckpoint,
  type OpenedCheckpoint,
  openCheckpoint,
  parseCheckpoint,
  signCheckpoint,
} from './checkpoint.ts';
export {
  type CosignerPublicKey,
  cosign,
  cosignatureVerifier,
  cosignerFromSeed,
  formatCosignerKey,
  parseCosignerKey,
  verifyCosignature,
} from './cosignature.ts';
// Errors: every failure is a coded EvidentError (docs/errors.md).
export { ErrorCode, EvidentError, type FieldIssue, isEvidentError, ValidationError } from './errors.ts';
export {
  checkCommitment,
  type Entry,
  ERASURE_ACTION,
  entryLeafHash,
  GENESIS,
  leafBytes,
  leafText,
  type ServerFields,
} from './event/entry.ts';
// Erasures: the signed statement that authorises one (docs/formats.md, "Erasable fields and erasures").
export {
  checkErasure,
  ERASURE_STATEMENT,
  type ErasureAuthority,
  type ErasureClaim,
  type ErasureStatus,
  type ErasureTargets,
  erasureStatement,
  isReservedAction,
  RESERVED_ACTION_PREFIX,
  signErasure,
} from './event/erasure.ts';
// The event, the stored entry and its leaf (docs/formats.md §1-3).
export {
  type AuditEvent,
  EVENT_FIELDS,
  type EventInput,
  EventSchema,
  LIMITS,
  REQUIRED_FIELDS,
} from './event/schema.ts';
export { uuidv7 } from './event/uuid.ts';
export { type ValidateOptions, validateEvent } from './event/validate.ts';
export {
  ACTOR_TYPES,
  DEFAULT_ERASABLE,
  ERASABLE_CANDIDATES,
  type ErasableField,
  RESULTS,
} from './event/vocabulary.ts';
// RFC 9162 hashes and proofs.
export { emptyRoot, HASH_SIZE, leafHash, nodeHash } from './hash.ts';
export { isValidLogName, LOG_NAME_PATTERN } from './log-name.ts';
export { rootFromInclusionProof, verifyConsistency, verifyInclusion } from './merkle/verify.ts';
// C2SP signed notes, keys, checkpoints and cosignatures.
export {
  formatNote,
  type NoteSignature,
  type ParsedNote,
  parseNote,
  signNote,
  type VerifiedNote,
  verifyNote,
} from './note.ts';
export {
  formatSignerKey,
  formatVerifierKey,
  type GeneratedSigner,
  generateSigner,
  isValidKeyName,
  keyId,
  type NoteSigner,
  type NoteVerifier,
  parseSignerKey,
  parseVerifierKey,
  type SignerKey,
  signerFromKey,
  signerFromSeed,
  type VerifierKey,
  verifierFromKey,
  verifierFromPublicKey,
} from './note-keys.ts';
// C2SP tlog-tiles paths and entry bundles, C2SP tlog-proof files.
export { parseEntryBundle } from './tlog/entry-bundle.ts';
export {
  formatTlogProof,
  parseTlogProof,
  TLOG_PROOF_MEDIA_TYPE,
  type TlogProof,
  type VerifiedTlogProof,
  type VerifyTlogProofOptions,
  verifyTlogProof,
} from './tlog/proof-file.ts';
export { parseTilePath, type TileId, tilePath } from './tlog/tile-path.ts';
// Verifying a whole log or an export bundle.
export type { ErasureSummary } from './verify/erasures.ts';
export { type CheckpointSource, type VerifyLogInput, verifyLog } from './verify/log-verifier.ts';
export { describeReport, type Fault, FaultKind, type VerifyReport } from './verify/report.ts';
// Witnesses (C2SP tlog-witness, tlog-policy): the quorum check any verifier runs.
export {
  checkWitnessQuorum,
  type PolicyWitness,
  parseWitnessPolicy,
  type QuorumResult,
  quorumPolicy,
  type WitnessPolicy,
} from './witness-policy.ts';
