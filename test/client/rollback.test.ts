/**
 * Rollback detection: the client keeps the last checkpoint it verified, and a server whose
 * SQLite file is replaced by an older copy (a restored backup) is reported with
 * CHECKPOINT_INCONSISTENT, first as a smaller tree, then, once the log has grown past the old
 * size, as a failed consistency proof. The client never takes the rolled-back checkpoint as its
 * new reference.
 */
import assert from 'node:assert/strict';
import { copyFileSync, existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { EvidentClient } from '../../src/client/index.ts';
import { type EvidentError, isEvidentError } from '../../src/core/errors.ts';
import { generateSigner } from '../../src/core/note-keys.ts';
import { killAll } from '../server/cluster.ts';
import { event, fetchVkey, prepareServer, removeTempDirs, type Server, tempDir } from './support.ts';

after(() => {
  killAll();
  removeTempDirs();
});

/** The tree size of the server's latest checkpoint, read without the client. */
async function serverSize(s: Server): Promise<number> {
  const res = await fetch(`${s.url}/v1/logs/default/checkpoint`, {
    headers: { authorization: `Bearer ${s.verifyKey}` },
  });
  return Number((await res.text()).split('\n')[1]);
}

const DB_FILES = ['', '-wal', '-shm'];

function copyDb(from: string, to: string): void {
  for (const f of DB_FILES) {
    rmSync(to + f, { force: true });
    if (existsSync(from + f)) copyFileSync(from + f, to + f);
  }
}

describe('checkpoint check (rollback detection)', () => {
  let s: Server;
  before(async () => {
    s = await prepareServer();
    await s.start();
  });
  after(async () => {
    await s.stop();
  });

  it('reports a restored older copy of the log as CHECKPOINT_INCONSISTENT and keeps the verified checkpoint', async () => {
    const dir = tempDir();
    const errors: EvidentError[] = [];
    const open = async () =>
      EvidentClient.open({
        url: s.url,
        apiKey: s.ingestKey,
        verifyApiKey: s.verifyKey,
        verifierKey: await fetchVkey(s),
        log: 'default',
        spoolDir: dir,
        onError: (e) => errors.push(e),
      });
    let c = await open();
    const send = async (n: number) => {
      await Promise.all(Array.from({ length: n }, () => c.record(event('cp'))));
      assert.equal((await c.flush({ timeoutMs: 10_000 })).drained, true);
    };
    await send(20);
    const first = await c.checkLog();
    assert.equal(first.previousSize, undefined);
    assert.ok(first.size >= 20);

    // a backup taken now
    await c.close();
    await s.stop();
    const backup = join(s.dir, 'backup.db');
    copyDb(s.db, backup);
    await s.start();
    c = await open();

    await send(30);
    const second = await c.checkLog();
    assert.equal(second.previousSize, first.size);
    assert.ok(second.size >= first.size + 30, `${first.size} then ${second.size}`);
    const stored = readFileSync(join(dir, 'CHECKPOINT'), 'utf8');

    // the operator restores the backup
    await s.stop();
    copyDb(backup, s.db);
    await s.start();

    await assert.rejects(c.checkLog(), (e: unknown) => {
      assert.ok(isEvidentError(e, 'CHECKPOINT_INCONSISTENT'), String(e));
      assert.equal(e.details['reason'], 'smaller');
      assert.equal(e.details['verified_size'], second.size);
      return true;
    });
    assert.equal(c.stats().logAlarm?.code, 'CHECKPOINT_INCONSISTENT');
    assert.equal(c.stats().verifiedSize, second.size);
    assert.ok(errors.some((e) => e.code === 'CHECKPOINT_INCONSISTENT'));
    assert.equal(readFileSync(join(dir, 'CHECKPOINT'), 'utf8'), stored, 'the reference is not replaced');

    // the rolled-back log grows past the old size: a different history, the proof fails
    while ((await serverSize(s)) <= second.size) await send(25);
    await assert.rejects(c.checkLog(), (e: unknown) => {
      assert.ok(isEvidentError(e, 'CHECKPOINT_INCONSISTENT'), String(e));
      assert.equal(e.details['reason'], 'proof');
      assert.equal(e.details['cause'], 'PROOF_ROOT_MISMATCH');
      return true;
    });
    assert.equal(readFileSync(join(dir, 'CHECKPOINT'), 'utf8'), stored);
    await c.close();

    // a new process on the same spool keeps the alarm going: the reference is on disk; with
    // checkIntervalMs the check runs by itself after a delivery
    errors.length = 0;
    c = await EvidentClient.open({
      url: s.url,
      apiKey: s.ingestKey,
      verifyApiKey: s.verifyKey,
      verifierKey: await fetchVkey(s),
      log: 'default',
      spoolDir: dir,
      checkIntervalMs: 1,
      onError: (e) => errors.push(e),
    });
    await c.record(event('auto'));
    assert.equal((await c.flush({ timeoutMs: 10_000 })).drained, true);
    assert.equal(c.stats().logAlarm?.code, 'CHECKPOINT_INCONSISTENT');
    assert.ok(errors.some((e) => e.code === 'CHECKPOINT_INCONSISTENT'));
    await assert.rejects(c.checkLog(), (e: unknown) => isEvidentError(e, 'CHECKPOINT_INCONSISTENT'));
    await c.close();
  });

  it('a checkpoint signed by another key is refused (NOTE_UNVERIFIED) and not stored', async () => {
    const dir = tempDir();
    // a well-formed verifier key for the same origin, but another key
    const vkey = await fetchVkey(s);
    const other = generateSigner(vkey.split('+')[0]!).verifierKey;
    const c = await EvidentClient.open({
      url: s.url,
      apiKey: s.ingestKey,
      verifyApiKey: s.verifyKey,
      verifierKey: other,
      log: 'default',
      spoolDir: dir,
    });
    await assert.rejects(c.checkLog(), (e: unknown) => isEvidentError(e, 'NOTE_UNVERIFIED'));
    assert.equal(c.stats().logAlarm?.code, 'NOTE_UNVERIFIED');
    assert.ok(!existsSync(join(dir, 'CHECKPOINT')));
    await c.close();
  });
});
