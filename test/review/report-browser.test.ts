/**
 * The HTML report opened in Debian's Chromium (playwright-core): the SVG charts render with a
 * size, nothing is fetched from anywhere (the page is self-contained), and a screenshot is kept
 * in test-artifacts/review/. Without /usr/bin/chromium the test skips, and fails under CI=true.
 */
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ensureBuilt, lines, ROOT, removeTempDirs, run, tempDir } from '../cli/helpers.ts';
import { browserMissing, launch } from '../viewer/support.ts';

const ARTIFACTS = join(ROOT, 'test-artifacts', 'review');
const missing = browserMissing();
if (missing) console.log(`# skipping the report browser test: ${missing}`);

let dir: string;
before(async () => {
  ensureBuilt();
  dir = tempDir();
  await run(['init'], { cwd: dir });
  const events = Array.from({ length: 40 }, (_, i) => ({
    timestamp: `2026-11-${String(1 + (i % 28)).padStart(2, '0')}T${String(6 + (i % 16)).padStart(2, '0')}:00:00Z`,
    actor_id: `user-${i % 5}`,
    actor_type: 'user',
    action: i % 7 === 0 ? 'export' : 'read',
    resource_type: 'patient_record',
    resource_id: `p-${i}`,
    result: i % 9 === 0 ? 'denied' : i % 6 === 0 ? 'failure' : 'success',
    ip_address: '10.0.0.1',
  }));
  assert.equal((await run(['append'], { cwd: dir, input: lines(events) })).code, 0);
  await run(['checkpoint'], { cwd: dir });
  const r = await run(['report', '--period', '2026-11', '--out', 'report.html'], { cwd: dir });
  assert.equal(r.code, 0, r.stderr);
});
after(removeTempDirs);

describe('the HTML report in a browser', { skip: missing }, () => {
  it('renders its SVG charts, fetches nothing, and prints', async () => {
    mkdirSync(ARTIFACTS, { recursive: true });
    const browser = await launch();
    try {
      const page = await browser.newPage();
      const requests: string[] = [];
      page.on('request', (req) => {
        if (!req.url().startsWith('file:')) requests.push(req.url());
      });
      await page.goto(`file://${join(dir, 'report.html')}`);
      for (const id of [
        'chart-volume',
        'chart-results',
        'chart-actions',
        'chart-actor-types',
        'chart-actors',
      ]) {
        const box = await page.locator(`#${id}`).boundingBox();
        assert.ok(box && box.width > 0 && box.height > 0, id);
        assert.ok((await page.locator(`#${id} rect`).count()) > 0, `${id} has bars`);
      }
      const bar = await page.locator('#chart-volume rect').first().boundingBox();
      assert.ok(bar && bar.height > 0);
      assert.match((await page.locator('#verification-status').textContent()) ?? '', /Verified/);
      assert.deepEqual(requests, []);
      await page.screenshot({ path: join(ARTIFACTS, 'report.png'), fullPage: true });
      await page.emulateMedia({ media: 'print' });
      const printed = await page.locator('#chart-volume').boundingBox();
      assert.ok(printed && printed.width > 0);
      await page.pdf({ path: join(ARTIFACTS, 'report.pdf') }).catch(() => undefined);
    } finally {
      await browser.close();
    }
  });
});
