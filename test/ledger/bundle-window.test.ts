import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { isEvidentError } from '../../src/core/errors.ts';
import { verifierFromKey } from '../../src/core/note-keys.ts';
import { FaultKind, type VerifyReport } from '../../src/core/verify/report.ts';
import {
  createKeyFile,
  createLog,
  exportBundle,
  type Ledger,
  openLedger,
  verifyBundleFile,
} from '../../src/ledger/index.ts';
import { openStore } from '../../src/store/open.ts';
import { carefully } from './tamper-support.ts';

const dir = mkdtempSync(join(tmpdir(), 'evident-window-'));
const T0 = Date.UTC(2026, 5, 1);
const at = (i: number) => new Date(T0 + i * 60_000).toISOString();
let clock = T0;
let ledger: Ledger;
let vkey: string;
const db = join(dir, 'w.db');

async function text(o: Parameters<typeof exportBundle>[1]): Promise<string> {
  let out = '';
  for await (const chunk of exportBundle(ledger, o)) out += chunk;
  return out;
}

async function check(t: string): Promise<VerifyReport> {
  const path = join(dir, `b-${Math.random().toString(36).slice(2)}.jsonl`);
  writeFileSync(path, t);
  return (await verifyBundleFile(path, { verifiers: [verifierFromKey(vkey)] })).report;
}

// biome-ignore lint/suspicious/noExplicitAny: the test edits arbitrary JSON
const editHeader = (t: string, f: (h: Record<string, any>) => void): string => {
  const lines = t.split('\n');
  const h = JSON.parse(lines[0]!);
  f(h);
  lines[0] = JSON.stringify(h);
  return lines.join('\n');
};

const windowFault = (r: VerifyReport) => r.faults.find((f) => f.kind === FaultKind.WINDOW_INCOMPLETE);

describe('time-window bundles show they are complete', () => {
  before(async () => {
    const signer = await createKeyFile(join(dir, 'w.key'), 'window.test/default');
    const store = await openStore(db);
    vkey = (await createLog(store, { name: 'default', origin: 'window.test/default', signer })).vkey;
    await store.close();
    ledger = await openLedger({ db, key: join(dir, 'w.key'), now: () => new Date(clock) });
    // one entry a minute: entry i is received at at(i)
    for (let i = 0; i < 30; i++) {
      clock = T0 + i * 60_000;
      await ledger.append({
        actor_id: `u${i}`,
        actor_type: 'user',
        action: 'invoice.read',
        resource_type: 'invoice',
        resource_id: `inv-${i}`,
        result: 'success',
        ip_address: '192.0.2.7',
      });
    }
    clock = T0 + 3_600_000;
  });
  after(async () => ledger.close());

  it('a correct window export names its boundaries and verifies', async () => {
    const t = await text({ since: at(10), until: at(20) });
    const h = JSON.parse(t.split('\n')[0]!);
    assert.deepEqual(h.range, { from: 10, to: 20 });
    assert.equal(h.window.before.entry.index, 9);
    assert.equal(h.window.after.entry.index, 20);
    const r = await check(t);
    assert.equal(r.ok, true, JSON.stringify(r.faults));
    // open-ended windows: nothing before 0, nothing after the tree
    const open = await text({ since: at(25) });
    const ho = JSON.parse(open.split('\n')[0]!);
    assert.equal(ho.range.to, ho.tree_size);
    assert.equal(ho.window.after, undefined);
    assert.equal((await check(open)).ok, true);
    const head = await text({ until: at(5) });
    assert.deepEqual(JSON.parse(head.split('\n')[0]!).range, { from: 0, to: 5 });
    assert.equal((await check(head)).ok, true);
  });

  it('an exporter that leaves out the first entry of the window fails (before_in_window)', async () => {
    const r = await check(await text({ since: at(10), until: at(20), fromIndex: 11 }));
    assert.equal(r.ok, false);
    assert.equal(windowFault(r)?.rule, 'before_in_window');
    assert.equal(windowFault(r)?.index, 10);
  });

  it('an exporter that leaves out the last entry of the window fails (after_in_window)', async () => {
    const r = await check(await text({ since: at(10), until: at(20), toIndex: 19 }));
    assert.equal(windowFault(r)?.rule, 'after_in_window');
    assert.equal(windowFault(r)?.index, 19);
  });

  it('a line dropped from the middle is entry_missing; a forged or absent boundary is window_incomplete', async () => {
    const t = await text({ since: at(10), until: at(20) });
    const lines = t.split('\n');
    lines.splice(5, 1);
    let r = await check(lines.join('\n'));
    assert.equal(r.ok, false);
    assert.ok(r.faults.some((f) => f.kind === FaultKind.ENTRY_MISSING));

    r = await check(editHeader(t, (h) => (h.window.before.entry.received_at = at(-100))));
    assert.equal(windowFault(r)?.rule, 'boundary_proof');
    r = await check(editHeader(t, (h) => delete h.window.after));
    assert.equal(windowFault(r)?.rule, 'boundary_missing');
    r = await check(editHeader(t, (h) => (h.window.since = at(9))));
    assert.equal(windowFault(r)?.rule, 'before_in_window');
    r = await check(editHeader(t, (h) => (h.window.before.proof = h.window.after.proof)));
    assert.equal(windowFault(r)?.rule, 'boundary_proof');
  });

  it('an entry hidden in the database behind the server: the export refuses (TAMPER_DETECTED)', async () => {
    // the attacker moves entry 10 out of the window by editing its received_at
    const raw = new Database(db);
    carefully(raw, (d) => d.prepare('UPDATE entries SET received_at = ? WHERE idx = 10').run(at(-50)));
    raw.close();
    await assert.rejects(
      text({ since: at(10), until: at(20) }),
      (e: unknown) => isEvidentError(e) && e.code === 'TAMPER_DETECTED',
    );
    const fixed = new Database(db);
    carefully(fixed, (d) => d.prepare('UPDATE entries SET received_at = ? WHERE idx = 10').run(at(10)));
    fixed.close();
    assert.equal((await check(await text({ since: at(10), until: at(20) }))).ok, true);
  });

  it('received_at that goes back (a clock stepped back) is reported: completeness cannot be shown', async () => {
    clock = T0 + 30 * 60_000;
    await ledger.append({
      actor_id: 'a',
      actor_type: 'user',
      action: 'x.read',
      resource_type: 'r',
      resource_id: '1',
      result: 'success',
      ip_address: '192.0.2.7',
    });
    clock = T0 + 29 * 60_000 + 30_000; // back half a minute
    await ledger.append({
      actor_id: 'b',
      actor_type: 'user',
      action: 'x.read',
      resource_type: 'r',
      resource_id: '2',
      result: 'success',
      ip_address: '192.0.2.7',
    });
    clock = T0 + 40 * 60_000;
    await ledger.append({
      actor_id: 'c',
      actor_type: 'user',
      action: 'x.read',
      resource_type: 'r',
      resource_id: '3',
      result: 'success',
      ip_address: '192.0.2.7',
    });
    const r = await check(await text({ since: at(29), until: at(35) }));
    assert.equal(r.ok, false);
    assert.equal(windowFault(r)?.rule, 'not_monotone');
  });
});
