/** The pure parts of delivery: retry delays, Retry-After, which refusals are permanent, options. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { retryDelay } from '../../src/client/backoff.ts';
import { retryAfterMs } from '../../src/client/http.ts';
import { EvidentClient } from '../../src/client/index.ts';
import { judge } from '../../src/client/verdict.ts';
import { EvidentError, isEvidentError } from '../../src/core/errors.ts';

const refused = (code: string, status: number, details: Record<string, unknown> = {}) =>
  new EvidentError(code as never, 'refused', { status, ...details });

describe('retry delays', () => {
  it('grow exponentially with jitter, capped, and never come back before Retry-After', () => {
    for (let attempt = 0; attempt < 40; attempt++) {
      const exp = Math.min(30_000, 200 * 2 ** attempt);
      for (let k = 0; k < 50; k++) {
        const d = retryDelay(attempt, 200, 30_000);
        assert.ok(d >= exp / 2 - 1 && d <= exp + 1, `attempt ${attempt}: ${d}`);
        const r = retryDelay(attempt, 200, 30_000, 45_000);
        assert.ok(r >= 45_000 && r <= 46_000, `Retry-After 45 s: ${r}`);
      }
    }
    const spread = new Set(Array.from({ length: 50 }, () => retryDelay(5, 200, 30_000)));
    assert.ok(spread.size > 10, 'jittered');
  });

  it('Retry-After as seconds or an HTTP date', () => {
    assert.equal(retryAfterMs('3'), 3000);
    assert.equal(retryAfterMs(null), undefined);
    assert.equal(retryAfterMs('soon'), undefined);
    const now = Date.parse('2026-11-28T00:00:00Z');
    assert.equal(retryAfterMs('Sat, 28 Nov 2026 00:00:10 GMT', now), 10_000);
    assert.equal(retryAfterMs('Sat, 28 Nov 2026 00:00:00 GMT', now + 5000), 0);
  });
});

describe('which refusals are permanent', () => {
  const ids = ['a', 'b', 'c'];
  it('transient and configuration failures are retried, never set aside', () => {
    for (const [code, status] of [
      ['STORE_BUSY', 503],
      ['LEDGER_CLOSED', 503],
      ['RATE_LIMITED', 429],
      ['STORE_FAILED', 500],
      ['INTERNAL', 500],
      ['UNAUTHENTICATED', 401],
      ['FORBIDDEN', 403],
      ['NOT_FOUND', 404],
      ['REQUEST_TIMEOUT', 408],
      ['UNSUPPORTED_MEDIA_TYPE', 415],
      ['USAGE', 400],
      ['BAD_REQUEST', 400],
    ] as const) {
      assert.deepEqual(judge(refused(code, status), ids), { kind: 'retry' }, code);
    }
    // no answer at all
    assert.deepEqual(judge(new EvidentError('DELIVERY_FAILED', 'x', { reason: 'network' }), ids), {
      kind: 'retry',
    });
    // a 400 whose issues concern the request (no item), e.g. a bad log name
    assert.deepEqual(
      judge(
        refused('VALIDATION_FAILED', 400, { issues: [{ field: 'log', rule: 'format', message: '' }] }),
        ids,
      ),
      { kind: 'retry' },
    );
  });

  it('issues with items, a conflicting id, or a single event refused for its content are set aside', () => {
    const v = judge(
      refused('VALIDATION_FAILED', 400, {
        issues: [
          { item: 2, field: 'color', rule: 'unknown_field', message: '' },
          { item: 2, field: 'x', rule: 'unknown_field', message: '' },
        ],
      }),
      ids,
    );
    assert.equal(v.kind, 'reject');
    assert.deepEqual([...(v as { items: Map<number, unknown[]> }).items.keys()], [2]);
    const c = judge(refused('ID_CONFLICT', 409, { id: 'b', field: 'id' }), ids);
    assert.deepEqual([...(c as { items: Map<number, unknown[]> }).items.keys()], [1]);
    assert.deepEqual(judge(refused('JSON_INVALID', 400), ids), { kind: 'isolate' });
    assert.deepEqual(judge(refused('PAYLOAD_TOO_LARGE', 413), ids), { kind: 'isolate' });
    assert.equal(judge(refused('PAYLOAD_TOO_LARGE', 413), ['a']).kind, 'reject');
    assert.equal(judge(refused('ID_CONFLICT', 409, { id: 'zzz' }), ['a']).kind, 'reject');
    // The conflicting id twice in the batch: neither is set aside before they are sent apart.
    assert.deepEqual(judge(refused('ID_CONFLICT', 409, { id: 'b' }), ['a', 'b', 'c', 'b']), {
      kind: 'isolate',
    });
    assert.equal(judge(refused('ID_CONFLICT', 409, { id: 'b' }), ['b']).kind, 'reject');
  });
});

describe('options', () => {
  it('a wrong option is USAGE naming it', async () => {
    const base = {
      url: 'http://127.0.0.1:9',
      apiKey: 'evk_000000000000_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA',
      log: 'default',
      spoolDir: '/tmp/never-made',
    };
    for (const [bad, field] of [
      [{ url: 'ftp://x' }, 'url'],
      [{ log: '../etc' }, 'log'],
      [{ apiKey: '' }, 'apiKey'],
      // A malformed key is refused at open, not spooled against and refused by 401 forever
      [{ apiKey: 'evk_test_secret' }, 'apiKey'],
      [{ apiKey: `evk_000000000000_${'A'.repeat(44)}` }, 'apiKey'],
      [{ apiKey: 'Bearer evk_000000000000_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA' }, 'apiKey'],
      [{ verifyApiKey: 'not-a-key' }, 'verifyApiKey'],
      [{ stallAfterMs: 0 }, 'stallAfterMs'],
      [{ maxEvents: 0 }, 'maxEvents'],
      [{ batchSize: 1.5 }, 'batchSize'],
      [{ onFull: 'drop' }, 'onFull'],
    ] as const) {
      await assert.rejects(EvidentClient.open({ ...base, ...(bad as object) }), (e: unknown) => {
        assert.ok(isEvidentError(e, 'USAGE'));
        assert.equal(e.details['field'], field);
        return true;
      });
    }
  });
});
