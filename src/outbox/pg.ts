/**
 * The part of node-postgres (npm `pg`, 8.x) the outbox uses, as subset interfaces: the
 * application passes its own client, pool client or pool (or anything with the same `query`),
 * and evident never needs the package's types, nor the package at all on the application side.
 */

export interface OutboxResult<R> {
  rows: R[];
  rowCount: number | null;
}

/** What `recordInTransaction` and `installOutbox` need: pg's `query(text, values)`. */
export interface OutboxQueryable {
  query<R = Record<string, unknown>>(text: string, values?: readonly unknown[]): Promise<OutboxResult<R>>;
}

export interface OutboxNotification {
  channel: string;
  payload?: string | undefined;
}

/** A pooled connection, as the relay uses it: queries, LISTEN, and release. */
export interface OutboxClient extends OutboxQueryable {
  /** Returns the client to its pool; an error (or true) destroys it instead. */
  release(destroy?: Error | boolean): void;
  on(event: 'notification', listener: (n: OutboxNotification) => void): unknown;
  on(event: 'error', listener: (e: Error) => void): unknown;
  off(event: 'notification', listener: (n: OutboxNotification) => void): unknown;
  off(event: 'error', listener: (e: Error) => void): unknown;
}

export interface OutboxPool {
  connect(): Promise<OutboxClient>;
  end(): Promise<void>;
}
