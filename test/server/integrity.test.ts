/**
 * Integrity alarms over HTTP: a poisoned log head and a corrupted tree node in the server's
 * SQLite file (written by another connection, as anyone holding the file can) are answered with
 * 500 TAMPER_DETECTED, never a 400 and never a proof that fails against the checkpoint served
 * with it, and each is counted in evident_integrity_alarms_total.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { event, type Fixture, setup } from './helpers.ts';

describe('integrity alarms', () => {
  let f: Fixture;
  const get = (url: string, key: string) => f.app.inject({ method: 'GET', url, headers: f.auth(key) });
  const sql = (statements: string) => {
    const db = new Database(join(f.dir, 'audit.db'));
    try {
      db.exec(statements);
    } finally {
      db.close();
    }
  };
  const alarms = async (rule: string) => {
    const text = (await f.app.inject('/metrics')).body;
    const m = new RegExp(
      `^evident_integrity_alarms_total\\{code="TAMPER_DETECTED",rule="${rule}"\\} (\\d+)$`,
      'm',
    ).exec(text);
    return m ? Number(m[1]) : 0;
  };

  beforeEach(async () => {
    f = await setup();
    const r = await f.app.inject({
      method: 'POST',
      url: '/v1/logs/default/events',
      headers: f.auth(f.keys.ingest),
      payload: Array.from({ length: 20 }, () => event()),
    });
    assert.equal(r.statusCode, 201);
    // a signed checkpoint of size 20, before any read adds its access event
    assert.equal((await get('/v1/logs/default/checkpoint', f.keys.verify)).statusCode, 200);
  });
  afterEach(async () => f.close());

  it('a zeroed frontier: ingest answers 500 TAMPER_DETECTED (head_mismatch), and nothing is written', async () => {
    sql("UPDATE logs SET frontier = zeroblob(length(frontier)) WHERE name = 'default'");
    const before = (await f.entries()).length;
    const r = await f.app.inject({
      method: 'POST',
      url: '/v1/logs/default/events',
      headers: f.auth(f.keys.ingest),
      payload: [event()],
    });
    assert.equal(r.statusCode, 500, r.body);
    assert.deepEqual([r.json().code, r.json().rule], ['TAMPER_DETECTED', 'head_mismatch']);
    assert.equal((await f.entries()).length, before);
    assert.equal(await alarms('head_mismatch'), 1);
  });

  it('a changed last_hash: 500 TAMPER_DETECTED, not a 400', async () => {
    sql(`UPDATE logs SET last_hash = '${'cd'.repeat(32)}' WHERE name = 'default'`);
    const r = await f.app.inject({
      method: 'POST',
      url: '/v1/logs/default/events',
      headers: f.auth(f.keys.ingest),
      payload: event(),
    });
    assert.equal(r.statusCode, 500, r.body);
    assert.equal(r.json().code, 'TAMPER_DETECTED');
  });

  it('a corrupted tree node: entry and proof routes answer 500 TAMPER_DETECTED (proof_mismatch), never the bad proof', async () => {
    sql(`DROP TRIGGER IF EXISTS tree_nodes_no_update;
         UPDATE tree_nodes SET hash = zeroblob(32) WHERE level = 1 AND idx = 2 AND log_id =
           (SELECT log_id FROM logs WHERE name = 'default')`);
    const entry = await get('/v1/logs/default/events/6', f.keys.read);
    assert.equal(entry.statusCode, 500, entry.body);
    assert.deepEqual([entry.json().code, entry.json().rule], ['TAMPER_DETECTED', 'proof_mismatch']);
    const incl = await get('/v1/logs/default/proof/inclusion?index=7&size=20', f.keys.verify);
    assert.equal(incl.statusCode, 500, incl.body);
    assert.equal(incl.json().code, 'TAMPER_DETECTED');
    assert.equal(await alarms('proof_mismatch'), 2);
    // entries whose proofs do not pass through the node are still served
    assert.equal((await get('/v1/logs/default/events/12', f.keys.read)).statusCode, 200);
    assert.equal(
      (await get('/v1/logs/default/proof/consistency?from=16&to=20', f.keys.verify)).statusCode,
      200,
    );
  });
});
