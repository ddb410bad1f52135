/**
 * `evident export --format` streams records for a SIEM in bounded memory: 300 events of about
 * 250 KB (75 MB of events) go out through a process whose heap is 96 MB, in every format, so
 * the log is never held (test/server/export-stream.test.ts shows the same for the bundle).
 * A record's leaf hash is then checked with `evident prove inclusion`, as docs/exports.md says.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createKeyFile, loadKeyRing } from '../../src/ledger/keyfile.ts';
import { Ledger } from '../../src/ledger/ledger.ts';
import { createLog } from '../../src/ledger/open.ts';
import { openStore } from '../../src/store/open.ts';
import { ensureBuilt, errorOf, removeTempDirs, run, tempDir } from './helpers.ts';

const LARGE = 300;
const HEAP = '--max-old-space-size=96';

function largeEvent(i: number): Record<string, unknown> {
  const blob = (tag: string) => ({ text: `${tag}${i}=|\\\n-`.padEnd(60_000, 'x') });
  return {
    actor_id: `user-${i % 7}`,
    actor_type: 'user',
    action: i % 10 === 0 ? 'user.login' : 'document.update',
    resource_type: 'document',
    resource_id: `doc-${i}`,
    result: 'success',
    ip_address: '192.0.2.7',
    old_values: blob('old'),
    new_values: blob('new'),
    metadata: blob('meta'),
  };
}

describe('evident export --format', () => {
  let dir: string;
  const db = () => join(dir, 'evident.db');
  before(async () => {
    ensureBuilt();
    dir = tempDir();
    const keyFile = join(dir, 'evident.key');
    await createKeyFile(keyFile, 'formats.test/default');
    const store = await openStore(db());
    await createLog(store, {
      name: 'default',
      origin: 'formats.test/default',
      signer: await loadKeyRing(keyFile),
    });
    const ledger = await Ledger.open({ store, signer: await loadKeyRing(keyFile) });
    for (let i = 0; i < LARGE; i += 20)
      await ledger.appendMany(Array.from({ length: 20 }, (_, j) => largeEvent(i + j)));
    await ledger.close();
  });
  after(removeTempDirs);

  for (const format of ['ocsf', 'cef', 'syslog', 'csv']) {
    it(`${format}: every record of 75 MB of events under a 96 MB heap`, async () => {
      const t0 = Date.now();
      const r = await run(['export', '--format', format, '--out', `all.${format}`, '--json'], {
        cwd: dir,
        env: { NODE_OPTIONS: HEAP },
      });
      assert.equal(r.code, 0, r.stderr.slice(0, 2000));
      console.log(`# export --format ${format} of ${LARGE} events of 250 KB: ${Date.now() - t0} ms`);
      assert.equal(JSON.parse(r.stdout).records, LARGE);
      const text = readFileSync(join(dir, `all.${format}`), 'utf8');
      const sep = format === 'csv' ? '\r\n' : '\n';
      assert.equal(text.split(sep).length - 1, LARGE + (format === 'csv' ? 1 : 0));
    });
  }

  it("a record's leaf hash is the hash of the leaf that evident prove inclusion returns", async () => {
    const text = readFileSync(join(dir, 'all.ocsf'), 'utf8');
    const record = JSON.parse(text.split('\n')[42]!);
    const p = await run(['prove', 'inclusion', '--index', String(record.unmapped.evident_index), '--json'], {
      cwd: dir,
    });
    assert.equal(p.code, 0, p.stderr);
    const proof = JSON.parse(p.stdout) as { leaf: string };
    const leafHash = createHash('sha256')
      .update(Buffer.concat([Buffer.from([0]), Buffer.from(proof.leaf, 'base64')]))
      .digest('hex');
    assert.equal(leafHash, record.unmapped.evident_leaf_hash);
  });

  it('refuses an unknown format, --bom without csv, --consistency-from with records', async () => {
    for (const args of [
      ['--format', 'leef'],
      ['--format', 'cef', '--bom'],
      ['--bom'],
      ['--format', 'ocsf', '--consistency-from', '3'],
    ]) {
      const r = await run(['export', ...args, '--json'], { cwd: dir });
      assert.equal(r.code, 2, args.join(' '));
      assert.equal(errorOf(r).code, 'USAGE');
    }
  });
});
