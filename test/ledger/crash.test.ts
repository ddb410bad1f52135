/**
 * Durability: an append resolves only once its commit is durable. A writer is killed with
 * SIGKILL in the middle of appending; everything it acknowledged must be in the log, at the
 * index and with the hash it was promised, and the log must verify and carry on from there.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { startAppender } from './child.ts';
import { event, makeFixture, summary } from './support.ts';

test('SIGKILL mid-append loses nothing that was acknowledged', async () => {
  const fx = await makeFixture();
  try {
    // Run from outside the checkout: the append thread must start wherever the process runs.
    const writer = startAppender(fx.db, fx.keyPath, 'crash', 'forever', 50, fx.dir);
    await writer.ready;
    writer.go();
    await writer.receiptsRead(1000);
    writer.child.kill('SIGKILL');
    const end = await writer.exited;
    assert.equal(end.signal, 'SIGKILL', `the writer ended on its own: ${end.stderr}`);
    assert.equal(writer.done, false);
    const acked = writer.receipts;
    assert.ok(acked.length >= 1000);
    assert.equal(new Set(acked.map((r) => r.index)).size, acked.length, 'no index was promised twice');

    const ledger = await fx.open();
    const size = await ledger.size();
    assert.ok(size >= acked.length, `the log has ${size} entries but ${acked.length} were acknowledged`);
    for (const r of acked) {
      const e = await ledger.entryAt(r.index);
      assert.deepEqual([e?.id, e?.hash], [r.id, r.hash], `acknowledged entry ${r.index}`);
    }

    // Entries after the dead writer's last checkpoint are not faults, only not yet covered.
    const report = await ledger.verify({ verifiers: fx.verifiers });
    assert.ok(report.ok, summary(report));
    assert.deepEqual(report.faults, []);
    assert.equal(report.entries, size);
    assert.ok(report.verified_size > 0, 'the writer signed checkpoints before it died');

    // Appending continues from the right index, and the next checkpoint extends the old ones.
    const before = await ledger.latestCheckpoint();
    const next = await ledger.append(event(0));
    assert.equal(next.index, size);
    assert.equal((await ledger.entryAt(size - 1))?.hash, (await ledger.entryAt(size))?.prev_hash);
    const cp = await ledger.checkpoint();
    assert.equal(cp.size, size + 1);
    const after = await ledger.verify({ verifiers: fx.verifiers, trusted: [before!.note, cp.note] });
    assert.ok(after.ok, summary(after));
    assert.equal(after.verified_size, size + 1);
    await ledger.close();
  } finally {
    fx.cleanup();
  }
});
