/** evident's browser-safe core: formats, proofs, checkpoints and verification. No I/O. */
export * from './bundle.ts';
export * from './bytes.ts';
export * from './canonical.ts';
export * from './checkpoint.ts';
export * from './cosignature.ts';
export * from './errors.ts';
export * from './event/entry.ts';
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
export * from './event/ip.ts';
export * from './event/schema.ts';
export * from './event/uuid.ts';
export * from './event/validate.ts';
export * from './hash.ts';
export * from './json.ts';
export * from './merkle/index.ts';
export * from './note.ts';
export * from './note-keys.ts';
export type { ErasureSummary } from './verify/erasures.ts';
export * from './verify/log-verifier.ts';
export * from './verify/report.ts';
