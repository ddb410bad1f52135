/** evident/server: the audit service (HTTP API, API keys, tenants, access audit, metrics). */

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
