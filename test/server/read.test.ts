import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fromBase64, toHex } from '../../src/core/bytes.ts';
import { openCheckpoint } from '../../src/core/checkpoint.ts';
import type { Entry } from '../../src/core/event/entry.ts';
import { leafHash } from '../../src/core/hash.ts';
import { verifyConsistency, verifyInclusion } from '../../src/core/merkle/index.ts';
import { type NoteVerifier, verifierFromKey } from '../../src/core/note-keys.ts';
import { verifyBundleFile } from '../../src/ledger/export.ts';
import { event, type Fixture, HOST, setup } from './helpers.ts';

const HOUR = 3_600_000;

describe('reading and proving through the API', () => {
  let f: Fixture;
  let verifier: NoteVerifier;
  const get = (url: string, key: string) => f.app.inject({ method: 'GET', url, headers: f.auth(key) });

  before(async () => {
    f = await setup();
    const evs = Array.from({ length: 30 }, (_, i) =>
      event({
        actor_id: i % 3 === 0 ? 'mallory' : 'alice',
        result: i % 3 === 0 ? 'denied' : 'success',
        timestamp: new Date(Date.now() - (30 - i) * 60_000).toISOString(),
        resource_id: `r-${i}`,
      }),
    );
    const r = await f.app.inject({
      method: 'POST',
      url: '/v1/logs/default/events',
      headers: f.auth(f.keys.ingest),
      payload: evs,
    });
    assert.equal(r.statusCode, 201);
    const key = await get('/v1/logs/default/key', f.keys.verify);
    assert.equal(key.statusCode, 200);
    assert.match(key.headers['content-type'] as string, /^text\/plain/);
    verifier = verifierFromKey(key.body.trim());
  });
  after(async () => f.close());

  it('filters, and pages with an opaque cursor in index order', async () => {
    const seen: Entry[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const q: string = `/v1/logs/default/events?actor_id=mallory&limit=4${cursor ? `&cursor=${cursor}` : ''}`;
      const r = await get(q, f.keys.read);
      assert.equal(r.statusCode, 200);
      const body = r.json() as { entries: Entry[]; next_cursor: string | null };
      seen.push(...body.entries);
      cursor = body.next_cursor;
      pages++;
    } while (cursor !== null && pages < 10);
    assert.equal(seen.length, 10);
    assert.equal(pages, 3);
    assert.ok(seen.every((e) => e.actor_id === 'mallory' && e.result === 'denied'));
    assert.deepEqual(
      seen.map((e) => e.index),
      [...seen.map((e) => e.index)].sort((a, b) => a - b),
    );
    const e = seen[0]!;
    for (const k of [
      'index',
      'hash',
      'prev_hash',
      'received_at',
      'id',
      'timestamp',
      'ip_address',
      'resource_id',
    ]) {
      assert.ok(k in e, `entries carry ${k}`);
    }
  });

  it('combines filters: result list, resource, time window, address', async () => {
    const since = new Date(Date.now() - 10 * 60_000).toISOString();
    const r = await get(
      `/v1/logs/default/events?result=denied,failure&since=${encodeURIComponent(since)}&ip_address=10.0.0.1&limit=100`,
      f.keys.read,
    );
    assert.equal(r.statusCode, 200);
    const entries = r.json().entries as Entry[];
    assert.ok(entries.length > 0);
    assert.ok(entries.every((e) => e.result === 'denied' && e.timestamp >= since));
    const one = await get(
      '/v1/logs/default/events?resource_type=patient_record&resource_id=r-7',
      f.keys.read,
    );
    assert.deepEqual(
      (one.json().entries as Entry[]).map((e) => e.resource_id),
      ['r-7'],
    );
    const later = await get(
      `/v1/logs/default/events?until=${encodeURIComponent(new Date(Date.now() - 2 * HOUR).toISOString())}`,
      f.keys.read,
    );
    assert.deepEqual(later.json().entries, []);
  });

  it('lists actors with repeated failures', async () => {
    const r = await get('/v1/logs/default/failures?hours=24&min=5', f.keys.read);
    assert.equal(r.statusCode, 200);
    assert.deepEqual(
      r.json().actors.map((a: { actor_id: string; failures: number }) => [a.actor_id, a.failures]),
      [['mallory', 10]],
    );
  });

  it('reads an entry by id and by index, with an inclusion proof that verifies against the signed checkpoint', async () => {
    const list = (await get('/v1/logs/default/events?limit=30', f.keys.read)).json().entries as Entry[];
    for (const ref of [list[17]!.id, String(list[4]!.index)]) {
      const r = await get(`/v1/logs/default/events/${ref}`, f.keys.read);
      assert.equal(r.statusCode, 200);
      const { entry, proof, checkpoint } = r.json();
      const opened = openCheckpoint(checkpoint, verifier, `${HOST}/default`);
      assert.equal(opened.checkpoint.size, proof.size);
      assert.ok(proof.size > entry.index);
      const lh = leafHash(fromBase64(proof.leaf));
      assert.equal(toHex(lh), entry.hash, 'the leaf bytes hash to the entry hash');
      assert.equal(proof.leaf_hash, Buffer.from(lh).toString('base64'));
      verifyInclusion(
        lh,
        proof.index,
        proof.size,
        proof.hashes.map((h: string) => fromBase64(h)),
        opened.checkpoint.rootHash,
      );
    }
    const missing = await get('/v1/logs/default/events/99999', f.keys.read);
    assert.equal(missing.statusCode, 404);
    assert.equal(missing.json().code, 'NOT_FOUND');
  });

  it('serves checkpoints byte-exact, latest and by size; 404 for a size never signed', async () => {
    const r = await get('/v1/logs/default/checkpoint', f.keys.verify);
    assert.equal(r.statusCode, 200);
    const info = (await f.store.getLog('default'))!;
    const stored = (await f.store.latestCheckpoint(info.id))!;
    assert.ok(Buffer.from(stored.note, 'utf8').equals(r.rawPayload), 'byte-exact');
    const bySize = await get(`/v1/logs/default/checkpoint?size=${stored.size}`, f.keys.verify);
    assert.ok(Buffer.from(stored.note, 'utf8').equals(bySize.rawPayload));
    const none = await get('/v1/logs/default/checkpoint?size=3', f.keys.verify);
    assert.equal(none.statusCode, 404);
  });

  it('proves consistency between two checkpoints', async () => {
    const first = openCheckpoint((await get('/v1/logs/default/checkpoint', f.keys.verify)).body, verifier);
    await f.app.inject({
      method: 'POST',
      url: '/v1/logs/default/events',
      headers: f.auth(f.keys.ingest),
      payload: [event(), event(), event()],
    });
    const second = openCheckpoint((await get('/v1/logs/default/checkpoint', f.keys.verify)).body, verifier);
    const m = first.checkpoint.size;
    const n = second.checkpoint.size;
    assert.ok(n > m);
    const r = await get(`/v1/logs/default/proof/consistency?from=${m}&to=${n}`, f.keys.verify);
    assert.equal(r.statusCode, 200);
    verifyConsistency(
      m,
      n,
      r.json().hashes.map((h: string) => fromBase64(h)),
      first.checkpoint.rootHash,
      second.checkpoint.rootHash,
    );
    const bad = await get(`/v1/logs/default/proof/consistency?from=${n}&to=${m}`, f.keys.verify);
    assert.equal(bad.statusCode, 400);
    assert.equal(bad.json().code, 'PROOF_RANGE');
    const beyond = await get(`/v1/logs/default/proof/consistency?from=1&to=${n + 1000}`, f.keys.verify);
    assert.equal(beyond.statusCode, 400);
    assert.equal(beyond.json().code, 'PROOF_RANGE');
  });

  it('gives inclusion proofs; the leaf bytes only to a key that may read', async () => {
    const cp = openCheckpoint((await get('/v1/logs/default/checkpoint', f.keys.verify)).body, verifier);
    const asVerifier = await get(
      `/v1/logs/default/proof/inclusion?index=5&size=${cp.checkpoint.size}`,
      f.keys.verify,
    );
    assert.equal(asVerifier.statusCode, 200);
    const p = asVerifier.json();
    assert.equal(p.leaf, undefined, 'verify scope proves entries, it does not reveal them');
    verifyInclusion(
      fromBase64(p.leaf_hash),
      5,
      p.size,
      p.hashes.map((h: string) => fromBase64(h)),
      cp.checkpoint.rootHash,
    );
    const asAuditor = await get('/v1/logs/default/proof/inclusion?index=5', f.keys.auditor);
    assert.equal(typeof asAuditor.json().leaf, 'string');
    const outside = await get('/v1/logs/default/proof/inclusion?index=100000', f.keys.verify);
    assert.equal(outside.statusCode, 400);
    assert.equal(outside.json().code, 'PROOF_RANGE');
  });

  it('streams an export bundle that verifies offline with the published key', async () => {
    const r = await get('/v1/logs/default/export', f.keys.read);
    assert.equal(r.statusCode, 200);
    assert.match(r.headers['content-type'] as string, /^application\/x-ndjson/);
    const path = join(f.dir, 'export.bundle');
    writeFileSync(path, r.rawPayload);
    const { header, report } = await verifyBundleFile(path, { verifiers: [verifier] });
    assert.equal(report.ok, true, JSON.stringify(report.faults));
    assert.equal(header.range.from, 0);
    assert.ok(report.entries >= 33);
    // after the key events the fixture's setup wrote: only the access events of the reads since
    const since = new Date().toISOString();
    const part = await get(`/v1/logs/default/export?since=${encodeURIComponent(since)}`, f.keys.read);
    writeFileSync(path, part.rawPayload);
    const partial = await verifyBundleFile(path, { verifiers: [verifier] });
    assert.equal(partial.report.ok, true);
    assert.ok(partial.header.range.from > 0);
  });
});
