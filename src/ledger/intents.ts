/**
 * Write-ahead intents of fail-closed requests (src/integrations/audit/deliver.ts): the request's
 * provisional event, durable in the store's intents table before its handler runs. Each intent
 * is retired in the transaction that appends its event: the final one (`complete`) or the
 * provisional one (`release`, or recovery of an orphan). So a request leaves one event in the
 * log, and a process that dies mid-request leaves its provisional event, never nothing.
 */
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import type { StoredIntent } from '../store/types.ts';

/** The handle `Ledger.begin` returns. */
export interface LedgerIntent {
  readonly eventId: string;
}

/** Intents of a ledger on another host are orphans once this old (no request runs this long). */
export const DEFAULT_ORPHAN_AFTER_MS = 15 * 60_000;

/** The owners of the ledgers open in this process (an intent of this pid held by none is an orphan). */
export const liveOwners = new Set<string>();

/** A new ledger instance's owner string, `<host>:<pid>:<random>`, registered as live. */
export function newOwner(): string {
  const owner = `${hostname()}:${process.pid}:${randomUUID()}`;
  liveOwners.add(owner);
  return owner;
}

/**
 * Whether a stored intent is an orphan: its ledger is gone. On this host that is known for sure
 * (its process is dead, or it is this process and the instance is closed); on another
 * host (a shared PostgreSQL) only by age, `orphanAfterMs`.
 */
export function isOrphan(intent: StoredIntent, orphanAfterMs: number, now: number): boolean {
  if (liveOwners.has(intent.owner)) return false;
  const [host, pidText] = intent.owner.split(':');
  const pid = Number(pidText);
  if (host === hostname() && Number.isSafeInteger(pid) && pid > 0) {
    return pid === process.pid || !processAlive(pid);
  }
  const created = Date.parse(intent.createdAt);
  // An unreadable time (only a tampered row) is recovered: appending it loses nothing.
  return !Number.isFinite(created) || now - created >= orphanAfterMs;
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as { code?: string }).code === 'EPERM';
  }
}

/** Parses a stored provisional event; a row that is not JSON is appended as a record of damage. */
export function storedEvent(intent: StoredIntent): unknown {
  try {
    return JSON.parse(intent.event);
  } catch {
    return undefined;
  }
}
