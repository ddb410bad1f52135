export { ERASURE_ACTION } from '../core/event/entry.ts';
// openStore lives in the store layer; re-exported here, where it has always been imported from.
export { type OpenStoreOptions, openStore } from '../store/open.ts';
export type { ErasureRequest, ErasureResult } from './erase.ts';
export { type ExportOptions, exportBundle, verifyBundleFile } from './export.ts';
export type { IntentRecovery } from './held-intents.ts';
export type { Receipt } from './integrate.ts';
export type { LedgerIntent } from './intents.ts';
export {
  createKeyFile,
  isKeyRing,
  type KeyRing,
  keyRing,
  loadErasureKey,
  loadKeyRing,
  loadSigner,
  parseKeyRing,
} from './keyfile.ts';
export { type InclusionProof, Ledger, type LedgerOptions } from './ledger.ts';
export { createLog, type OpenLedgerOptions, openLedger } from './open.ts';
export { DEFAULT_PROOF_NODES, setProofNodeCapacity } from './proof-nodes.ts';
export type { VerifyOptions } from './verify.ts';
