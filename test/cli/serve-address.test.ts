/** evident serve on an address it cannot listen on: a usage error (exit 2) naming the address. */
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { ensureBuilt, errorOf, removeTempDirs, run, tempDir } from './helpers.ts';

let dir: string;
before(async () => {
  ensureBuilt();
  dir = tempDir();
  assert.equal((await run(['init', '--origin', 'test.example/default'], { cwd: dir })).code, 0);
});
after(removeTempDirs);

describe('evident serve: an address it cannot listen on', { concurrency: 3 }, () => {
  for (const [what, host] of [
    ['an address of no interface here (TEST-NET-3)', '203.0.113.77'],
    ['a host name that does not resolve', 'no-such-host.invalid'],
  ] as const) {
    it(`${what}: USAGE, exit 2, the address named`, async () => {
      const r = await run(['serve', '--host', host, '--port', '0', '--json'], { cwd: dir });
      assert.equal(r.code, 2, r.stderr);
      const e = errorOf(r);
      assert.equal(e.code, 'USAGE');
      assert.equal(e['field'], '--host');
      assert.equal(e['host'], host);
      assert.match(e.message, new RegExp(host.replace(/\./g, '\\.')));
      const text = await run(['serve', '--host', host, '--port', '0'], { cwd: dir });
      assert.equal(text.code, 2);
      assert.doesNotMatch(text.stderr, /internal error/);
    });
  }

  it('a port in use: USAGE, exit 2, field --port', async () => {
    const busy = createServer();
    await new Promise<void>((resolve) => busy.listen(0, '127.0.0.1', resolve));
    const port = (busy.address() as { port: number }).port;
    try {
      const r = await run(['serve', '--port', String(port), '--json'], { cwd: dir });
      assert.equal(r.code, 2, r.stderr);
      assert.equal(errorOf(r).code, 'USAGE');
      assert.equal(errorOf(r)['field'], '--port');
      assert.equal(errorOf(r)['port'], port);
    } finally {
      busy.close();
    }
  });
});
