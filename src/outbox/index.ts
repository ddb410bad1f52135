/** evident/outbox: audit events written in the application's own PostgreSQL transaction, relayed into the log. */
export { type InstallOptions, installOutbox } from './install.ts';
export type { LedgerFor, OutboxLedger, PassResult, Rejection } from './pass.ts';
export type { OutboxClient, OutboxNotification, OutboxPool, OutboxQueryable, OutboxResult } from './pg.ts';
export { type Recorded, type RecordOptions, recordInTransaction } from './record.ts';
export {
  type OutboxRelay,
  type OutboxRelayOptions,
  type RelayReport,
  type RelayStats,
  startOutboxRelay,
} from './relay.ts';
export { requeueRejected } from './requeue.ts';
export { channelOf, DEFAULT_OUTBOX_SCHEMA, OUTBOX_TABLE, outboxDdl, REJECTED_TABLE } from './sql.ts';
