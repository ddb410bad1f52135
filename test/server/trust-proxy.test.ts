/**
 * Trusted proxies: X-Forwarded-For is read from the right, past the proxies
 * the operator named; the caller cannot pick the address recorded in its access events, nor
 * dodge the per-address rate limit by writing other addresses at the left of the header.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { setup } from './helpers.ts';

describe('trusted proxies', () => {
  it('records the address the trusted proxy saw, not the one the caller wrote', async () => {
    const f = await setup({ trustProxy: ['127.0.0.1', '10.0.0.0/8'] });
    try {
      const read = (xff: string) =>
        f.app.inject({
          method: 'GET',
          url: '/v1/logs/default/events?limit=1',
          headers: { ...f.auth(f.keys.read), 'x-forwarded-for': xff },
        });
      // The caller wrote 198.51.100.66; the outer proxy (10.1.2.3) appended the address it saw.
      assert.equal((await read('198.51.100.66, 203.0.113.9, 10.1.2.3')).statusCode, 200);
      const all = await f.entries();
      assert.equal(all.at(-1)!.ip_address, '203.0.113.9');
      assert.equal((await read('198.51.100.66, 203.0.113.10')).statusCode, 200);
      assert.equal((await f.entries()).at(-1)!.ip_address, '203.0.113.10');
    } finally {
      await f.close();
    }
  });

  it('does not believe the header from a peer that is not a trusted proxy', async () => {
    const f = await setup({ trustProxy: ['10.0.0.0/8'] }); // inject() comes from 127.0.0.1
    try {
      await f.app.inject({
        method: 'GET',
        url: '/v1/logs/default/events?limit=1',
        headers: { ...f.auth(f.keys.read), 'x-forwarded-for': '203.0.113.9' },
      });
      assert.equal((await f.entries()).at(-1)!.ip_address, '127.0.0.1');
    } finally {
      await f.close();
    }
  });

  it('keeps the per-address limit whatever the caller writes at the left of the header', async () => {
    const f = await setup({ trustProxy: ['127.0.0.1'], rateLimit: { max: 3, timeWindowMs: 60_000 } });
    try {
      const anon = (xff: string) =>
        f.app.inject({ method: 'GET', url: '/v1/logs/default/key', headers: { 'x-forwarded-for': xff } });
      const codes: string[] = [];
      for (let i = 0; i < 5; i++) {
        const r = await anon(`198.51.100.${i}, 203.0.113.9`);
        codes.push(r.statusCode === 429 ? JSON.parse(r.body).code : String(r.statusCode));
      }
      assert.deepEqual(codes, ['401', '401', '401', 'RATE_LIMITED', 'RATE_LIMITED']);
      const other = await anon('198.51.100.1, 203.0.113.77');
      assert.equal(other.statusCode, 401, 'another client address has its own count');
    } finally {
      await f.close();
    }
  });
});
