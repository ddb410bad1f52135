/**
 * The library takes its signing key explicitly: it never reads EVIDENT_SIGNING_KEY (or any
 * environment variable). Only the CLI reads the environment, at its edge.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { generateSigner } from '../../src/core/note-keys.ts';
import * as ledger from '../../src/ledger/index.ts';

const OTHER = generateSigner('env.example/log');

describe('signing keys in the library: explicit, never from the environment', () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'evident-keyenv-'));
    process.env['EVIDENT_SIGNING_KEY'] = OTHER.signerKey;
  });
  after(() => {
    delete process.env['EVIDENT_SIGNING_KEY'];
    rmSync(dir, { recursive: true, force: true });
  });

  it('loadKeyRing, loadSigner and openLedger read the key file they are given, whatever the environment', async () => {
    const key = join(dir, 'file.key');
    const own = await ledger.createKeyFile(key, 'file.example/log');
    assert.equal((await ledger.loadKeyRing(key)).name, 'file.example/log');
    assert.deepEqual((await ledger.loadSigner(key)).publicKey, own.publicKey);
    const db = join(dir, 'l.db');
    const store = await ledger.openStore(db);
    await ledger.createLog(store, { name: 'default', origin: 'file.example/log', signer: own });
    await store.close();
    const l = await ledger.openLedger({ db, key });
    const cp = await l.checkpoint();
    assert.match(cp.note, /— file\.example\/log /);
    await l.close();
  });

  it('parseKeyRing takes the key text itself, for callers that keep it elsewhere', () => {
    const ring = ledger.parseKeyRing(OTHER.signerKey);
    assert.equal(ring.name, 'env.example/log');
    assert.deepEqual(ring.forOrigin('env.example/log').publicKey, OTHER.signer.publicKey);
    assert.throws(() => ledger.parseKeyRing('not a key'), { code: 'KEY_INVALID' });
    assert.equal('KEY_ENV' in ledger, false, "the environment variable is the CLI's, not the library's");
  });
});
