/** Time windows and SIEM records on PostgreSQL: the same export code over the other store. */
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { verifierFromKey } from '../../src/core/note-keys.ts';
import { FaultKind } from '../../src/core/verify/report.ts';
import {
  createKeyFile,
  exportBundle,
  Ledger,
  loadKeyRing,
  verifyBundleFile,
} from '../../src/ledger/index.ts';
import { createLog } from '../../src/ledger/open.ts';
import { exportRecords } from '../../src/ledger/record-export.ts';
import { openPostgresStore } from '../../src/store/postgres/store.ts';
import { dropSchema, PG_URL, randomName, withPostgres } from './pg-support.ts';

await withPostgres('PostgreSQL time windows and SIEM records', suite);

function suite(): void {
  const schema = randomName('evident_window_');
  const dir = mkdtempSync(join(tmpdir(), 'evident-pgwindow-'));
  const T0 = Date.UTC(2026, 5, 1);
  const at = (i: number) => new Date(T0 + i * 60_000).toISOString();
  let clock = T0;
  let ledger: Ledger;
  let vkey: string;

  const text = async (o: Parameters<typeof exportBundle>[1]) => {
    let out = '';
    for await (const c of exportBundle(ledger, o)) out += c;
    return out;
  };
  const check = async (t: string) => {
    const path = join(dir, `${Math.random().toString(36).slice(2)}.bundle`);
    writeFileSync(path, t);
    return (await verifyBundleFile(path, { verifiers: [verifierFromKey(vkey)] })).report;
  };

  describe('PostgreSQL: time windows and SIEM records', () => {
    before(async () => {
      await createKeyFile(join(dir, 'k.key'), 'pgwindow.test/default');
      const ring = await loadKeyRing(join(dir, 'k.key'));
      const store = await openPostgresStore(PG_URL, { schema });
      vkey = (await createLog(store, { name: 'default', origin: 'pgwindow.test/default', signer: ring }))
        .vkey;
      ledger = await Ledger.open({ store, signer: ring, now: () => new Date(clock) });
      for (let i = 0; i < 20; i++) {
        clock = T0 + i * 60_000;
        await ledger.append({
          actor_id: `u${i}`,
          actor_type: 'user',
          action: i === 3 ? 'user.login' : 'doc.read',
          resource_type: 'doc',
          resource_id: `d${i}`,
          result: 'success',
          ip_address: '192.0.2.9',
        });
      }
      clock = T0 + 3_600_000;
    });
    after(async () => {
      await ledger.close();
      await dropSchema(schema);
    });

    it('a window bundle names its boundaries and verifies; a dropped edge entry is window_incomplete', async () => {
      const t = await text({ since: at(5), until: at(12) });
      const h = JSON.parse(t.split('\n')[0]!);
      assert.deepEqual(h.range, { from: 5, to: 12 });
      assert.equal(h.window.before.entry.index, 4);
      assert.equal(h.window.after.entry.index, 12);
      assert.equal((await check(t)).ok, true);
      const r = await check(await text({ since: at(5), until: at(12), fromIndex: 6 }));
      const f = r.faults.find((x) => x.kind === FaultKind.WINDOW_INCOMPLETE);
      assert.equal(f?.rule, 'before_in_window');
    });

    it('record exports select the same window', async () => {
      const lines: string[] = [];
      for await (const l of exportRecords(ledger, { format: 'ocsf', since: at(2), until: at(4) }))
        lines.push(l);
      assert.deepEqual(
        lines.map((l) => JSON.parse(l).unmapped.evident_index),
        [2, 3],
      );
      assert.equal(JSON.parse(lines[1]!).class_uid, 3002);
    });
  });
}
