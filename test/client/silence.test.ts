/**
 * A client that cannot deliver is never silent. Against a real `evident serve`:
 * a wrong API key warns on stderr by default (once per run of failures), and events that wait
 * past stallAfterMs are reported as DELIVERY_STALLED and shown in stats() until delivery resumes.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { EvidentClient } from '../../src/client/index.ts';
import type { EvidentError } from '../../src/core/errors.ts';
import { killAll } from '../server/cluster.ts';
import { event, prepareServer, removeTempDirs, type Server, sleep, tempDir } from './support.ts';

const SILENT = fileURLToPath(new URL('./fixtures/silent.ts', import.meta.url));

after(() => {
  killAll();
  removeTempDirs();
});

describe('a client that cannot deliver says so', () => {
  let s: Server;
  before(async () => {
    s = await prepareServer();
    await s.start();
  });
  after(async () => {
    await s.stop();
  });

  it('a well-formed but unknown API key: one warning on stderr by default, naming UNAUTHENTICATED and HTTP 401', async () => {
    const wrong = `evk_${randomBytes(6).toString('hex')}_${randomBytes(32).toString('base64url')}`;
    const out = await new Promise<{ stdout: string; stderr: string }>((resolve, reject) => {
      execFile(
        process.execPath,
        ['--import', 'tsx', SILENT, s.url, wrong, join(tempDir(), 'spool')],
        { timeout: 30_000 },
        (e, stdout, stderr) =>
          e ? reject(new Error(`${e.message}\n${stderr}`)) : resolve({ stdout, stderr }),
      );
    });
    const stats = JSON.parse(out.stdout.trim()) as { retries: number; delivered: number; pending: number };
    assert.equal(stats.delivered, 0);
    assert.equal(stats.pending, 1);
    assert.ok(stats.retries >= 3, `retries: ${stats.retries}`);
    const warnings = out.stderr.split('\n').filter((l) => l.includes('(UNAUTHENTICATED, HTTP 401)'));
    assert.equal(warnings.length, 1, out.stderr);
  });

  it('events waiting past stallAfterMs: DELIVERY_STALLED once, stats().stalledSince, both cleared by delivery', async () => {
    await s.stop(); // the server goes away
    const errors: EvidentError[] = [];
    const warned: string[] = [];
    const client = await EvidentClient.open({
      url: s.url,
      apiKey: s.ingestKey,
      log: 'default',
      spoolDir: join(tempDir(), 'spool'),
      retryBaseMs: 20,
      retryMaxMs: 100,
      stallAfterMs: 1500,
      onError: (e) => errors.push(e),
      warn: (m) => warned.push(m),
    });
    try {
      const opened = Date.now();
      await client.record(event('stall'));
      assert.equal(client.stats().stalledSince, undefined);
      const deadline = Date.now() + 10_000;
      while (!errors.some((e) => e.code === 'DELIVERY_STALLED') && Date.now() < deadline) await sleep(50);
      const stalled = errors.filter((e) => e.code === 'DELIVERY_STALLED');
      assert.equal(stalled.length, 1, errors.map((e) => e.code).join());
      assert.ok(Date.now() - opened >= 1500);
      assert.equal(stalled[0]!.details['pending'], 1);
      assert.equal(stalled[0]!.details['last_error'], 'DELIVERY_FAILED');
      const since = client.stats().stalledSince;
      assert.equal(since, stalled[0]!.details['since']);
      await sleep(1000); // still stalled: reported once per stall, not once per check
      assert.equal(errors.filter((e) => e.code === 'DELIVERY_STALLED').length, 1);
      assert.equal(client.stats().stalledSince, since);
      // the default warning went to `warn`: one for the run of failures, one for the stall
      assert.equal(warned.filter((m) => m.includes('(DELIVERY_FAILED')).length, 1, warned.join('\n'));
      assert.equal(warned.filter((m) => m.includes('(DELIVERY_STALLED')).length, 1, warned.join('\n'));

      await s.start(); // back: delivery resumes and the stall ends
      assert.equal((await client.flush({ timeoutMs: 15_000 })).drained, true);
      assert.equal(client.stats().stalledSince, undefined);
      assert.equal(client.stats().delivered, 1);
    } finally {
      await client.close({ timeoutMs: 100 });
    }
  });
});
