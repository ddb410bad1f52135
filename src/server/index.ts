/** evident/server: the audit service (HTTP API, API keys, tenants, access audit, metrics) and witnesses. */

export {
  ALL_LOGS,
  createApiKey,
  hashSecret,
  keyHasScope,
  keyReaches,
  type NewKey,
  type NewKeySpec,
  parseApiKey,
  SCOPES,
} from './api-keys.ts';
export { buildServer } from './app.ts';
export { HTTP_STATUS, toHttpError } from './errors.ts';
export { DEFAULTS, type ServerOptions } from './options.ts';
export { type RunningServer, type StartOptions, startServer } from './start.ts';
// Witnesses (C2SP tlog-witness): the witness itself, its HTTP server, and the log's client.
export { trustedLogs, Witness, type WitnessAnswer, type WitnessIdentity } from './witness/add-checkpoint.ts';
export { startWitnessServer, type WitnessServer, type WitnessServerOptions } from './witness/http.ts';
export { type WitnessedNote, Witnessing, type WitnessingOptions, type WitnessState } from './witnessing.ts';
