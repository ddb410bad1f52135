/**
 * A fail-closed request's intent survives its process: SIGKILL after `begin` leaves the
 * provisional event, recorded when the ledger (or client spool) next opens; SIGKILL after
 * `complete` leaves the final event only. Real child processes, real files.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { replaySpool } from '../../src/client/replay.ts';
import { uuidv7 } from '../../src/core/event/uuid.ts';
import { makeFixture } from '../ledger/support.ts';

const HOLDER = fileURLToPath(new URL('./fixtures/intent-holder.ts', import.meta.url));

/** Runs the holder until it has its intent durable, then SIGKILLs it. */
async function holdAndKill(args: string[]): Promise<void> {
  const child = spawn(process.execPath, ['--import', 'tsx', HOLDER, ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let err = '';
  child.stderr!.on('data', (d: Buffer) => {
    err += d.toString();
  });
  await new Promise<void>((resolve, reject) => {
    child.stdout!.on('data', (d: Buffer) => {
      if (d.toString().includes('held')) resolve();
    });
    child.once('exit', (code) => reject(new Error(`holder exited ${code}: ${err}`)));
  });
  child.removeAllListeners('exit');
  const gone = new Promise((r) => child.once('exit', r));
  child.kill('SIGKILL');
  await gone;
}

describe('write-ahead intents after a crash', () => {
  for (const complete of [false, true]) {
    const what = complete ? 'after complete: the final event only' : 'after begin: the provisional event';
    test(`embedded ledger, SIGKILL ${what}`, async () => {
      const fx = await makeFixture('evident-intent-');
      const id = uuidv7();
      try {
        await holdAndKill(['ledger', fx.db, fx.keyPath, id, ...(complete ? ['complete'] : [])]);
        const ledger = await fx.open();
        try {
          assert.deepEqual(ledger.recovery, { recovered: complete ? 0 : 1, live: 0, invalid: 0 });
          const all = await ledger.query({});
          assert.equal(all.length, 1);
          assert.equal(all[0]!.id, id);
          assert.equal(all[0]!.result, complete ? 'success' : 'failure');
          const meta = all[0]!.metadata as Record<string, unknown>;
          assert.equal(meta['evident_outcome'], complete ? undefined : 'unknown');
          assert.deepEqual(await ledger.store.intents(ledger.log.id), []);
        } finally {
          await ledger.close();
        }
      } finally {
        fx.cleanup();
      }
    });

    test(`client spool, SIGKILL ${what}`, async () => {
      const dir = mkdtempSync(join(tmpdir(), 'evident-intent-spool-'));
      const id = uuidv7();
      try {
        await holdAndKill(['client', dir, id, ...(complete ? ['complete'] : [])]);
        const replayed = await replaySpool(dir);
        const deliverable = replayed.records.filter((r) => !r.retired);
        assert.equal(deliverable.length, 1);
        assert.equal(deliverable[0]!.id, id);
        const ev = JSON.parse(deliverable[0]!.payload.toString('utf8')) as Record<string, unknown>;
        assert.equal(ev['result'], complete ? 'success' : 'failure');
        assert.equal(
          (ev['metadata'] as Record<string, unknown>)['evident_outcome'],
          complete ? undefined : 'unknown',
        );
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });
  }
});
