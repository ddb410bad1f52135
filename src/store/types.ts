/**
 * The contract between the append engine and a database. Each driver writes its own native
 * SQL; the algorithms (tree integration, chain linking, checkpoint building) are pure
 * functions in the ledger, shared by every driver.
 *
 * `Store` is what the ledger needs: logs, entries, the tree, checkpoints, erasures. State that
 * only a part of evident needs has its own interface, which the drivers implement beside it:
 * `ApiKeyStore` for the HTTP service's keys (retention, witness and alert state can follow the
 * same pattern). A function asks for `Store & ApiKeyStore` only when it needs both.
 */
import type { Entry } from '../core/event/entry.ts';
import type { ErasableField } from '../core/event/schema.ts';
import type { NodeId } from '../core/merkle/index.ts';
import type { SchemaCheck } from './schema-drift.ts';

export interface LogInfo {
  id: number;
  name: string;
  /** Checkpoint origin, `<host>/<log>`; also the signing key's name. */
  origin: string;
  /** Verifier key recorded at creation: public, a hint only (verification trusts what the auditor passes). */
  vkey: string;
  erasable: ErasableField[];
  createdAt: string;
}

/** The sequencer's state for one log: everything an append needs, O(log n) hashes. */
export interface LogHead {
  size: number;
  /** Hash of entry size-1 (hex), or GENESIS. */
  lastHash: string;
  /** Compact range of the tree: the perfect subtree roots covering [0, size), largest first. */
  frontier: Uint8Array;
}

export interface StoredCheckpoint {
  size: number;
  root: Uint8Array;
  /** The signed note, byte-exact. */
  note: string;
  createdAt: string;
}

export interface NodeHash extends NodeId {
  hash: Uint8Array;
}

export interface Erasure {
  index: number;
  field: ErasableField;
  /** Index of the audit event that records the erasure. */
  erasureIndex: number;
}

/**
 * Entries [first, last] pruned past online retention by the `evident.prune` event at
 * `pruneIndex` (docs/retention.md): their payloads left the store, their leaf hashes stayed.
 */
export interface PrunedRange {
  first: number;
  last: number;
  pruneIndex: number;
}

/** The filter fields that are matched for equality, one column each. */
export const EQUALITY_FILTERS = [
  'actor_id',
  'actor_type',
  'action',
  'resource_type',
  'resource_id',
  'ip_address',
  'session_id',
] as const;

export interface EntryFilter {
  actor_id?: string;
  actor_type?: string;
  action?: string;
  resource_type?: string;
  resource_id?: string;
  result?: string | string[];
  ip_address?: string;
  session_id?: string;
  /** Inclusive lower bound on the event timestamp (RFC 3339). */
  since?: string;
  /** Exclusive upper bound on the event timestamp. */
  until?: string;
  /** Only entries with index >= this (cursor pagination in index order). */
  fromIndex?: number;
  limit?: number;
  /** Newest first. */
  descending?: boolean;
}

/** What an API key may do (issue: the audit service). */
export type Scope = 'ingest' | 'read' | 'verify' | 'admin';

/** An API key as stored: never the secret, only its SHA-256. */
export interface ApiKeyRecord {
  id: string;
  /** Hex SHA-256 of the key's secret part; compared in constant time. */
  secretHash: string;
  /** Log names the key reaches; `*` for every log. */
  logs: string[];
  scopes: Scope[];
  description?: string;
  createdAt: string;
  revokedAt?: string;
}

/**
 * The HTTP service's API keys (src/server/api-keys.ts): never the secret, only its hash. Keys
 * are created and revoked through the functions there, which record each change as an audit
 * event first; these raw methods write no event.
 */
export interface ApiKeyStore {
  /**
   * Whether this connection may create and revoke keys. On PostgreSQL only the owner may
   * (docs/postgres.md); asked before a key's audit event is written, so that a refused change
   * leaves no event behind.
   */
  apiKeysWritable(): Promise<boolean>;
  createApiKey(key: ApiKeyRecord): Promise<void>;
  getApiKey(id: string): Promise<ApiKeyRecord | undefined>;
  listApiKeys(): Promise<ApiKeyRecord[]>;
  /** Marks the key revoked (once; a revocation cannot be undone). False if there is no such key. */
  revokeApiKey(id: string, at: string): Promise<boolean>;
}

export interface FailureCount {
  actor_id: string;
  failures: number;
  last_timestamp: string;
}

/**
 * A fail-closed request's write-ahead intent: its provisional event, durable before the
 * request's handler runs. Not part of the log: an intent is retired in the same transaction
 * that appends its final (or provisional) event, and orphans are appended when a ledger opens.
 */
export interface StoredIntent {
  /** The event id (the provisional and the final event share it). */
  id: string;
  /** The provisional event, JSON. Hostile like everything stored: validated before it is appended. */
  event: string;
  /** The ledger instance that holds it: `<host>:<pid>:<random>`, to tell orphans from live intents. */
  owner: string;
  createdAt: string;
}

/**
 * A write transaction on one log. Drivers MUST hold the log's exclusive sequencing lock for
 * the whole transaction (no other writer, in any process, may change the head meanwhile) and
 * MUST make every write durable before `Store.write` resolves.
 */
export interface WriteTx {
  head(): Promise<LogHead>;
  /** The largest entry index stored for the log, or undefined when it has none: O(log n) on the index. */
  lastIndex(): Promise<number | undefined>;
  lastCheckpoint(): Promise<StoredCheckpoint | undefined>;
  /** Entries already stored with these ids (for idempotent retries). */
  entriesById(ids: string[]): Promise<Map<string, Entry>>;
  nodes(ids: NodeId[]): Promise<Uint8Array[]>;
  insertEntries(entries: Entry[], nodes: NodeHash[], head: LogHead): Promise<void>;
  insertCheckpoint(cp: StoredCheckpoint): Promise<void>;
  /** The narrow erasure path: records the erasures, then deletes those values and salts. */
  erase(erasures: Erasure[]): Promise<void>;
  /**
   * The narrow pruning path: records the range (named by its prune event, already inserted in
   * this transaction), keeps each entry's leaf hash, then deletes the entries and their values.
   * Resolves with the number of entries deleted.
   */
  prune(range: PrunedRange): Promise<number>;
  /** Records a write-ahead intent (durable once the transaction commits). */
  putIntent(intent: StoredIntent): Promise<void>;
  /** Removes intents by event id; ids with no intent are ignored. */
  retireIntents(ids: string[]): Promise<void>;
}

/** An append computed ahead of its transaction, from an expected head (Store.appendAt). */
export interface PreparedAppend {
  /** Written only if none of their ids is stored yet (the store refuses the whole append). */
  entries: Entry[];
  nodes: NodeHash[];
  head: LogHead;
}

/** How a write may overlap the next one. */
export interface WriteOptions {
  /**
   * Pipelining: the driver may let the next write begin (and readers see this one) while this
   * commit is still being made durable, and calls `committed` once the next write may begin.
   * `write` still resolves only after the commit is durable. Never for a transaction that
   * stores a checkpoint: a signed checkpoint is readable only once durable. Drivers that do not
   * pipeline ignore it (and may call `committed` when durable, or never).
   */
  pipeline?: { committed: () => void };
}

export interface Store {
  readonly kind: 'sqlite' | 'postgres';
  createLog(spec: Omit<LogInfo, 'id' | 'createdAt'>): Promise<LogInfo>;
  getLog(name: string): Promise<LogInfo | undefined>;
  listLogs(): Promise<LogInfo[]>;
  /**
   * Runs fn in one atomic, durable write transaction holding the log's sequencing lock. It
   * resolves only once the commit is durable, whatever the options.
   */
  write<T>(logId: number, fn: (tx: WriteTx) => Promise<T>, options?: WriteOptions): Promise<T>;
  /** Whether `write` pipelines (WriteOptions.pipeline); absent: it does not. */
  readonly pipelines?: boolean;
  /**
   * Optional, one round trip: stores `append` (entries, their values and tree nodes, and the
   * new head, computed by the caller from `expected`) in one durable transaction holding the
   * sequencing lock, only if the log's head is still `expected` (and matches its last entry)
   * and none of its entries' ids is stored yet; else writes nothing and returns false, and the
   * caller appends through `write`. Resolves only once the commit is durable. Pipelined
   * (options.pipeline), the driver may call `committed` before then, once the next appendAt
   * may be made: the caller then seals the next batch on the head this one leaves, and the
   * driver MUST write the two in that order (the second is refused when the first was not
   * written, as its expected head is then not stored). Drivers that do not pipeline ignore it.
   */
  appendAt?(
    logId: number,
    expected: LogHead,
    append: PreparedAppend,
    options?: WriteOptions,
  ): Promise<boolean>;
  head(logId: number): Promise<LogHead>;
  /** Entries with from <= index < to, in index order; at most `limit`. */
  entries(logId: number, from: number, to: number, limit: number): Promise<Entry[]>;
  entryById(logId: number, id: string): Promise<Entry | undefined>;
  query(logId: number, filter: EntryFilter): Promise<Entry[]>;
  failuresByActor(logId: number, since: string, minFailures: number): Promise<FailureCount[]>;
  nodes(logId: number, ids: NodeId[]): Promise<Uint8Array[]>;
  /**
   * The stored nodes above the leaves (level >= 1) whose last leaf lies in [from, to), in any
   * order: one index range per level (completedNodes in core/merkle), so a verifier reads the
   * tree in windows as the leaves stream in.
   */
  nodesCompleted(logId: number, from: number, to: number): Promise<NodeHash[]>;
  /**
   * The hashes of the nodes at one `level` with from <= index < to, in index order: at level 0
   * the entries' own leaf hashes, above it the stored nodes. What a C2SP tlog-tiles hash tile
   * holds (level 8L, indexes 256N to 256N + W − 1), so it MUST be ONE index range read, never a
   * read per node. Stops before the first index not stored: fewer hashes than asked means the
   * rest of the range does not exist (yet).
   */
  nodeRange(logId: number, level: number, from: number, to: number): Promise<Uint8Array[]>;
  checkpoints(logId: number): Promise<StoredCheckpoint[]>;
  checkpointAt(logId: number, size: number): Promise<StoredCheckpoint | undefined>;
  latestCheckpoint(logId: number): Promise<StoredCheckpoint | undefined>;
  erasures(logId: number, from: number, to: number): Promise<Erasure[]>;
  /**
   * The indexes, triggers (and on PostgreSQL policies and grants) that differ from what the
   * migrations created: no hash covers them, yet queries and append-only rest on them.
   */
  schemaCheck(): Promise<SchemaCheck>;
  /** The ranges pruned from the log, in index order. */
  prunedRanges(logId: number): Promise<PrunedRange[]>;
  /** The log's write-ahead intents still held, oldest first. */
  intents(logId: number): Promise<StoredIntent[]>;
  /** PostgreSQL only: the replication this connection can see (docs/high-availability.md). */
  replication?(): Promise<ReplicationState>;
  close(): Promise<void>;
}

/** What a PostgreSQL server says of its replication, as far as the role may see. */
export interface ReplicationState {
  /** The server evident uses is a standby (in recovery). */
  inRecovery: boolean;
  /** `host:port` of the primary found among several hosts; absent with one host. */
  primaryHost?: string;
  synchronousStandbyNames: string;
  synchronousCommit: string;
  /**
   * The standbys streaming from this server (pg_stat_replication). Without superuser or
   * pg_read_all_stats only their number is visible: name, state and sync_state are null.
   */
  standbys: { name: string | null; state: string | null; syncState: string | null }[];
}

/** A log a witness checks (C2SP tlog-witness): its origin and one verifier key, recorded once. */
export interface WitnessedLog {
  origin: string;
  vkey: string;
  addedAt: string;
}

/** A checkpoint a witness cosigned: its state for the origin is the largest such size. */
export interface WitnessedCheckpoint {
  origin: string;
  size: number;
  root: Uint8Array;
  /** The signed checkpoint note as submitted (the log's signatures, without the witness's own). */
  note: string;
  cosignedAt: string;
}

/** One witnessing step, inside one transaction that holds the origin's lock. */
export interface WitnessTx {
  /** The latest checkpoint cosigned for the origin, or undefined (size 0). */
  latest(): Promise<WitnessedCheckpoint | undefined>;
  /** Records a newly cosigned checkpoint (a larger size than latest()). */
  record(cp: WitnessedCheckpoint): Promise<void>;
}

/**
 * A witness's state (evident witness): the logs it checks and the checkpoints it cosigned,
 * append-only. `witnessStep` MUST run `fn` in one transaction that holds a lock on the origin
 * for its whole length (no other step on that origin, in any process, may read or write
 * meanwhile), and MUST make `record` durable before it resolves: the check against the latest
 * checkpoint and the update are atomic (tlog-witness, the rollback race), and a cosignature is
 * never handed out for a checkpoint that is not recorded.
 */
export interface WitnessStore {
  /** Records a log's verifier key; false if that (origin, vkey) was recorded before. */
  recordWitnessedLog(log: WitnessedLog): Promise<boolean>;
  witnessedLogs(): Promise<WitnessedLog[]>;
  witnessStep<T>(origin: string, fn: (tx: WitnessTx) => Promise<T>): Promise<T>;
}

/** A witness cosignature a log gathered for one of its checkpoints. */
export interface StoredCosignature {
  size: number;
  /** The witness's key name and 4-byte key ID (hex), as on the signature line. */
  name: string;
  keyId: string;
  /** The whole signature line, `— <name> <base64>` without the newline. */
  line: string;
  createdAt: string;
}

/** The cosignatures a witnessed log keeps beside its checkpoints, append-only. */
export interface CosignatureStore {
  /** Stores cosignatures (one already stored for that size, name and key ID is kept, not replaced). */
  addCosignatures(logId: number, cosignatures: StoredCosignature[]): Promise<void>;
  cosignatures(logId: number, size: number): Promise<StoredCosignature[]>;
  /** The largest size each witness (name and key ID) cosigned: where its next proof starts. */
  cosignedSizes(logId: number): Promise<{ name: string; keyId: string; size: number }[]>;
}

/** An alert as raised (docs/alerts.md): its key makes it once-only across processes. */
export interface StoredAlert {
  /** rule|log|subject|window start: the same in every process that sees the same events. */
  key: string;
  rule: string;
  log: string;
  subject: string;
  /** The alert's JSON body, as every sink receives it. */
  body: string;
  createdAt: string;
}

/** One alert to send to one sink, from the durable queue. */
export interface AlertDelivery {
  key: string;
  sink: string;
  body: string;
  attempts: number;
}

/**
 * The alerts' record and durable delivery queue. `raiseAlert` MUST insert the alert and its
 * deliveries atomically and MUST return false when an alert with that key exists (whichever
 * process raised it): that is what makes an alert fire once across several servers.
 */
export interface AlertStore {
  raiseAlert(alert: StoredAlert, sinks: readonly string[]): Promise<boolean>;
  /**
   * Claims up to `limit` deliveries due at `now` for `leaseMs` (another process skips them
   * until then): a claim is a lease, so a process that dies mid-send loses nothing.
   */
  claimAlertDeliveries(now: string, leaseUntil: string, limit: number): Promise<AlertDelivery[]>;
  /** Marks a delivery done: it is never claimed again. */
  alertDelivered(key: string, sink: string, at: string): Promise<void>;
  /** Records a failed attempt and when to try again. */
  alertRetry(key: string, sink: string, attempts: number, nextAt: string, error: string): Promise<void>;
  /** Deliveries not yet done. */
  alertQueueDepth(): Promise<number>;
  /** Alerts raised at or after `since` (their `createdAt`), oldest first, at most `limit`. */
  alertsSince(since: string, limit: number): Promise<StoredAlert[]>;
}
