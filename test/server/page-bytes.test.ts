/**
 * Query pages bounded by bytes: with limit=1000 over large entries a page
 * stops at the byte budget (default 8 MiB) and gives a cursor; following the cursors returns
 * every entry exactly once. Before, the page held every entry asked for (248 MB at 250 KB each).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { DEFAULTS } from '../../src/server/options.ts';
import { event, type Fixture, setup } from './helpers.ts';

const COUNT = 60;
const blob = (tag: string, i: number) => ({ text: `${tag}${i}-`.padEnd(60_000, 'x') });

describe('query pages stop at a byte budget', () => {
  let f: Fixture;
  before(async () => {
    f = await setup();
    for (let i = 0; i < COUNT; i += 3) {
      const r = await f.app.inject({
        method: 'POST',
        url: '/v1/logs/default/events',
        headers: f.auth(f.keys.admin),
        payload: [0, 1, 2].map((j) =>
          event({
            action: 'large.update',
            resource_id: `doc-${i + j}`,
            old_values: blob('old', i + j),
            new_values: blob('new', i + j),
            metadata: blob('meta', i + j),
          }),
        ),
      });
      assert.equal(r.statusCode, 201, r.body);
    }
  });
  after(() => f.close());

  it('a page over large entries stops at the budget with a cursor; the cursors return each entry once', async () => {
    const seen: number[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const r: { statusCode: number; body: string; rawPayload: Buffer } = await f.app.inject({
        method: 'GET',
        url: `/v1/logs/default/events?action=large.update&limit=1000${cursor ? `&cursor=${cursor}` : ''}`,
        headers: f.auth(f.keys.read),
      });
      assert.equal(r.statusCode, 200);
      const body = JSON.parse(r.body) as { entries: { index: number }[]; next_cursor: string | null };
      assert.ok(body.entries.length > 0);
      assert.ok(r.rawPayload.length <= DEFAULTS.maxPageBytes + 1024, `page of ${r.rawPayload.length} bytes`);
      if (pages === 0) {
        assert.ok(body.entries.length < COUNT, 'the first page stopped before limit=1000');
        assert.notEqual(body.next_cursor, null, 'and says where to go on');
      }
      seen.push(...body.entries.map((e) => e.index));
      cursor = body.next_cursor;
      pages++;
    } while (cursor !== null);
    assert.ok(pages >= 2);
    assert.equal(seen.length, COUNT, 'every entry');
    assert.equal(new Set(seen).size, COUNT, 'exactly once');
    assert.deepEqual(
      seen,
      [...seen].sort((a, b) => a - b),
      'in index order',
    );
  });

  it('a configured budget smaller than one entry still answers one entry per page', async () => {
    const g = await setup({ maxPageBytes: 1000 });
    try {
      for (let i = 0; i < 3; i++) {
        await g.app.inject({
          method: 'POST',
          url: '/v1/logs/default/events',
          headers: g.auth(g.keys.admin),
          payload: event({ action: 'large.update', metadata: blob('m', i) }),
        });
      }
      const r = await g.app.inject({
        method: 'GET',
        url: '/v1/logs/default/events?action=large.update&limit=10',
        headers: g.auth(g.keys.read),
      });
      const body = JSON.parse(r.body) as { entries: unknown[]; next_cursor: string | null };
      assert.equal(body.entries.length, 1);
      assert.notEqual(body.next_cursor, null);
    } finally {
      await g.close();
    }
  });
});
