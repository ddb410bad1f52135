import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { openCheckpoint } from '../../src/core/checkpoint.ts';
import { isEvidentError } from '../../src/core/errors.ts';
import { parseSignerKey, verifierFromKey } from '../../src/core/note-keys.ts';
import {
  createKeyFile,
  createLog,
  keyRing,
  loadKeyRing,
  openLedger,
  openStore,
} from '../../src/ledger/index.ts';

const KEY = 'PRIVATE+KEY+example.com/log+cc714670+AZ1hsZ3v/VpguoRK9JLsLMREScVpezJpGXA7rAMcrn9g';

describe('key ring: one key file, a key per log', () => {
  it('signs with the key itself for its own origin and derives a key named by any other origin', () => {
    const ring = keyRing(parseSignerKey(KEY));
    const own = ring.forOrigin('example.com/log');
    assert.equal(own.name, 'example.com/log');
    assert.deepEqual(own.publicKey, parseSignerKey(KEY).publicKey);
    const other = ring.forOrigin('example.com/billing');
    assert.equal(other.name, 'example.com/billing');
    assert.notDeepEqual(other.publicKey, own.publicKey);
    // deterministic: the same key file always derives the same log key
    assert.deepEqual(
      keyRing(parseSignerKey(KEY)).forOrigin('example.com/billing').publicKey,
      other.publicKey,
    );
    assert.notDeepEqual(ring.forOrigin('example.com/billing2').publicKey, other.publicKey);
  });

  it('lets one key file serve several logs, each verifiable under its own verifier key', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'evident-ring-'));
    try {
      const db = join(dir, 'r.db');
      const key = join(dir, 'r.key');
      await createKeyFile(key, 'audit.example.com');
      const ring = await loadKeyRing(key);
      const store = await openStore(db);
      const a = await createLog(store, { name: 'a', origin: 'audit.example.com/a', signer: ring });
      const b = await createLog(store, { name: 'b', origin: 'audit.example.com/b', signer: ring });
      await store.close();
      assert.notEqual(a.vkey, b.vkey);
      for (const log of [a, b]) {
        const l = await openLedger({ db, key, log: log.name });
        await l.append({
          actor_id: 'u',
          actor_type: 'user',
          action: 'read',
          resource_type: 'r',
          resource_id: '1',
          result: 'success',
          ip_address: '10.0.0.1',
        });
        const cp = await l.checkpoint();
        const opened = openCheckpoint(cp.note, [verifierFromKey(log.vkey)], log.origin);
        assert.equal(opened.checkpoint.size, 1);
        assert.deepEqual(opened.warnings, []);
        await l.close();
      }
      // a log's checkpoints do not verify under another log's key
      const l = await openLedger({ db, key, log: 'a' });
      const note = (await l.latestCheckpoint())!.note;
      await l.close();
      assert.throws(
        () => openCheckpoint(note, [verifierFromKey(b.vkey)]),
        (e: unknown) => isEvidentError(e, 'NOTE_UNVERIFIED'),
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
