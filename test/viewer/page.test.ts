/**
 * The built viewer page: one self-contained file, small, served at / with a Content-Security-Policy
 * that allows exactly its inline script, and written out whole by `evident viewer --out`.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { gzipSync } from 'node:zlib';
import { ensureBuilt, errorOf, ROOT, removeTempDirs, run, tempDir } from '../cli/helpers.ts';
import { setup } from '../server/helpers.ts';

describe('the viewer page', () => {
  let html: string;
  before(() => {
    ensureBuilt();
    html = readFileSync(join(ROOT, 'dist', 'viewer', 'index.html'), 'utf8');
  });
  after(() => removeTempDirs());

  it('is one file that loads nothing from elsewhere, under 150 KB gzipped', () => {
    for (const re of [/<script[^>]+src=/i, /<link\b/i, /@import/i, /<iframe|<img[^>]+src=/i]) {
      assert.ok(!re.test(html), `the page loads something: ${re}`);
    }
    assert.equal(html.match(/<script>/g)?.length, 1, 'one inline script');
    assert.ok(!/url\(/.test(/<style>([\s\S]*?)<\/style>/.exec(html)![1]!), 'no url() in the styles');
    const gz = gzipSync(html).length;
    console.log(`# viewer page: ${html.length} bytes, ${gz} bytes gzipped`);
    assert.ok(gz < 150 * 1024, `${gz} bytes gzipped`);
  });

  it('is served at / with a CSP naming its one inline script by hash', async () => {
    const f = await setup();
    try {
      const r = await f.app.inject({ method: 'GET', url: '/' });
      assert.equal(r.statusCode, 200);
      assert.match(String(r.headers['content-type']), /^text\/html/);
      assert.equal(r.body, html);
      const script = /<script>([\s\S]*?)<\/script>/.exec(html)![1]!;
      const hash = createHash('sha256').update(script).digest('base64');
      const csp = String(r.headers['content-security-policy']);
      assert.ok(csp.includes(`'sha256-${hash}'`), csp);
      assert.match(csp, /default-src 'none'/);
      assert.match(csp, /connect-src 'self'/);
    } finally {
      await f.close();
    }
  });

  it('evident viewer --out writes it whole and refuses to replace a file', async () => {
    const dir = tempDir();
    const out = join(dir, 'viewer.html');
    const r = await run(['viewer', '--out', out], { cwd: dir });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(readFileSync(out, 'utf8'), html);
    const again = await run(['viewer', '--out', out, '--json'], { cwd: dir });
    assert.equal(again.code, 2);
    assert.equal(errorOf(again).code, 'USAGE');
    const none = await run(['viewer', '--json'], { cwd: dir });
    assert.equal(none.code, 2);
    assert.equal(errorOf(none).field, '--out');
  });
});
