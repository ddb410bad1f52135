/**
 * Shared set-up for the ledger tests: a temp directory holding a real SQLite file and a real
 * key file, a log created the way `evident init` does, and a ledger opened on them.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EvidentError } from '../../src/core/errors.ts';
import {
  formatVerifierKey,
  type NoteSigner,
  type NoteVerifier,
  signerFromSeed,
  verifierFromKey,
} from '../../src/core/note-keys.ts';
import type { Fault, VerifyReport } from '../../src/core/verify/report.ts';
import { createKeyFile } from '../../src/ledger/keyfile.ts';
import type { Ledger } from '../../src/ledger/ledger.ts';
import { createLog, type OpenLedgerOptions, openLedger } from '../../src/ledger/open.ts';
import { openStore } from '../../src/store/open.ts';

export const ORIGIN = 'test.example/default';

/** The erasure key of the tests (a key of its own, apart from every checkpoint key). */
export const ERASURE_KEY: NoteSigner = signerFromSeed('erasure.test.example', new Uint8Array(32).fill(9));
/** Its verifier key, as an auditor is given it. */
export const ERASURE_VKEY = formatVerifierKey(ERASURE_KEY.name, ERASURE_KEY.publicKey);
export const ERASURE_VERIFIERS: NoteVerifier[] = [verifierFromKey(ERASURE_VKEY)];

export interface Fixture {
  dir: string;
  db: string;
  keyPath: string;
  signer: NoteSigner;
  /** The published verifier key (what an auditor is given). */
  vkey: string;
  verifiers: NoteVerifier[];
  open(options?: Partial<Omit<OpenLedgerOptions, 'db' | 'key'>>): Promise<Ledger>;
  cleanup(): void;
}

export async function makeFixture(prefix = 'evident-ledger-'): Promise<Fixture> {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  const db = join(dir, 'audit.db');
  const keyPath = join(dir, 'signing.key');
  const signer = await createKeyFile(keyPath, ORIGIN);
  const store = await openStore(db);
  await createLog(store, { name: 'default', origin: ORIGIN, signer });
  await store.close();
  const vkey = formatVerifierKey(ORIGIN, signer.publicKey);
  return {
    dir,
    db,
    keyPath,
    signer,
    vkey,
    verifiers: [verifierFromKey(vkey)],
    open: (options = {}) => openLedger({ ...options, db, key: keyPath }),
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}

/** A valid event; `i` varies every field so that no two events are alike. */
export function event(i: number, overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    actor_id: `user-${i % 5}`,
    actor_type: 'user',
    action: i % 2 === 0 ? 'read' : 'update',
    resource_type: 'patient_record',
    resource_id: `p-${i}`,
    result: i % 3 === 0 ? 'failure' : 'success',
    ip_address: `10.0.${i % 256}.${(i * 7) % 256}`,
    ...overrides,
  };
}

/** An event with every optional field set (what the tamper tests edit). */
export function fullEvent(i: number): Record<string, unknown> {
  return event(i, {
    timestamp: new Date(Date.UTC(2026, 0, 1, 0, 0, i)).toISOString(),
    user_agent: `agent/${i}`,
    session_id: `sess-${i}`,
    reason: `ticket #${i}`,
    changed_fields: ['name', 'dob'],
    old_values: { name: `old-${i}`, dob: '1970-01-01' },
    new_values: { name: `new-${i}`, dob: '1971-02-02' },
    metadata: { request: i, tags: ['a', 'b'] },
  });
}

/** The rejection of `p`, which must be an EvidentError with `code`. */
export async function rejectsWith(p: Promise<unknown>, code: string): Promise<EvidentError> {
  try {
    await p;
  } catch (e) {
    assert.ok(e instanceof EvidentError, `expected an EvidentError, got ${String(e)}`);
    assert.equal(e.code, code);
    return e;
  }
  return assert.fail(`expected a rejection with ${code}`);
}

/** The report's first fault, for assertions on kind and index. */
export function firstFault(r: VerifyReport): Fault {
  assert.ok(r.faults.length > 0, 'expected at least one fault');
  return r.faults[0]!;
}

/** A compact view of a report for failure messages. */
export function summary(r: VerifyReport): string {
  return JSON.stringify({
    ok: r.ok,
    first_bad_index: r.first_bad_index,
    faults: r.faults.map((f) => [f.kind, f.index]),
  });
}
