/** evident/client: the client SDK that spools audit events durably and delivers them to `evident serve`. */

export {
  DEFAULT_CLOSE_TIMEOUT_MS,
  DEFAULT_FLUSH_TIMEOUT_MS,
  EvidentClient,
  type FlushResult,
  type Recorded,
} from './client.ts';
export type { Receipt } from './http.ts';
export type { LogCheck } from './log-check.ts';
export { type ClientHooks, type ClientOptions, DEFAULTS, type OnFull } from './options.ts';
export { REJECTED_FILE } from './sender.ts';
export type { ClientStats, LastError } from './stats.ts';
