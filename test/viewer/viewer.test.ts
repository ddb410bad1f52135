/**
 * The auditor's viewer in a real browser (Debian's Chromium) against a real `evident serve` on
 * a real SQLite file: signing in, the three questions, an entry verified in the page, a whole
 * verification; then a database tampered with behind the server (a field edited, the tail cut,
 * an older copy restored, a forked tail signed by the same key) and the page naming each; then
 * the self-contained file opened from disk, with a bundle file and with a server.
 */
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { pathToFileURL } from 'node:url';
import Database from 'better-sqlite3';
import type { BrowserContext, Page } from 'playwright-core';
import { builtLog } from '../../bench/built-log.ts';
import { measureViewer } from '../../bench/viewer.ts';
import { toHex } from '../../src/core/bytes.ts';
import { cosignerFromSeed, formatCosignerKey } from '../../src/core/cosignature.ts';
import { entryLeafHash } from '../../src/core/event/entry.ts';
import { BIN, copyLog, ensureBuilt, removeTempDirs, run, tempDir } from '../cli/helpers.ts';
import { carefully, headOf, setHead } from '../ledger/tamper-support.ts';
import {
  ARTIFACTS,
  append,
  browserMissing,
  freePort,
  launch,
  lyingProxy,
  makeLog,
  type Served,
  sampleEvents,
  serve,
} from './support.ts';

// The browser's globals, as the functions passed to page.evaluate see them (this file is typed for Node).
interface BrowserStorage {
  length: number;
  getItem(key: string): string | null;
  clear(): void;
}
declare const document: {
  querySelector(s: string): { textContent: string | null; getAttribute(n: string): string | null } | null;
};
interface BrowserDocument {
  querySelectorAll(
    s: string,
  ): Iterable<{ id: string; labels?: { length: number } | null; getAttribute(n: string): string | null }>;
  activeElement: { textContent: string | null } | null;
  documentElement: { scrollWidth: number };
}
declare const localStorage: BrowserStorage;
declare const sessionStorage: BrowserStorage;

const missing = browserMissing();
if (missing) console.log(`# skipping the viewer tests: ${missing}`);

const shot = (page: Page, name: string) =>
  page.screenshot({ path: join(ARTIFACTS, `${name}.png`), fullPage: false });

async function connect(page: Page, url: string, apiKey: string, vkey: string): Promise<void> {
  await page.goto(`${url}/#vkey=${encodeURIComponent(vkey)}`);
  await page.fill('#apikey', apiKey);
  await page.click('#connect-form button[type=submit]');
}

/** What the red banner says: its kind and first bad index. */
async function alarm(page: Page): Promise<{ kind: string; index: string }> {
  await page.waitForSelector('#alarm[data-kind]', { timeout: 15_000, state: 'attached' });
  return {
    kind: (await page.getAttribute('#alarm', 'data-kind'))!,
    index: (await page.getAttribute('#alarm', 'data-index'))!,
  };
}

async function verifyEverything(page: Page): Promise<Record<string, string>> {
  await page.click('nav button[data-view=log]');
  await page.click('#verify-all');
  await page.waitForSelector('#report, #verify-out [data-state=error], #verify-out [data-state=failed]', {
    timeout: 120_000,
    state: 'attached',
  });
  const report = await page.$('#report');
  if (!report) return { state: 'error', text: (await page.textContent('#verify-out')) ?? '' };
  const attr = async (n: string) => (await report.getAttribute(n)) ?? '';
  return {
    state: await attr('data-state'),
    entries: await attr('data-entries'),
    rate: await attr('data-rate'),
    firstBad: await attr('data-first-bad'),
  };
}

describe('the viewer in a browser', { skip: missing, concurrency: 1 }, () => {
  let base: string; // the log every test starts from (a copy each)
  let old: string; // the same log, as it was before the first visit
  let apiKey: string;
  let vkey: string;
  let ctx: BrowserContext;
  const servers: Served[] = [];

  before(async () => {
    ensureBuilt();
    mkdirSync(ARTIFACTS, { recursive: true });
    base = tempDir();
    ({ apiKey, vkey } = await makeLog(base, sampleEvents()));
    old = copyLog(base);
    ctx = await launch();
  });

  after(async () => {
    await ctx?.close();
    for (const s of servers) await s.stop();
    removeTempDirs();
  });

  async function start(dir: string, port?: number, extra: string[] = []): Promise<Served> {
    const s = await serve(dir, port ?? (await freePort()), extra);
    servers.push(s);
    return s;
  }

  it('signs in, answers the three questions, opens an entry verified in the page, verifies everything', async () => {
    const dir = copyLog(base);
    const ret = await run(['retention', 'set', 'soc2'], { cwd: dir });
    assert.equal(ret.code, 0, ret.stderr);
    const s = await start(dir);
    const page = await ctx.newPage();
    await connect(page, s.url, apiKey, vkey);
    await page.waitForSelector('#connect-out [data-state=verified]', { state: 'attached' });
    assert.match((await page.textContent('#trust'))!, /^Verified: audit\.example\.com\/default/);
    assert.equal(await page.evaluate(() => sessionStorage.length), 1, 'the API key only in sessionStorage');
    assert.ok(!(await page.evaluate(() => JSON.stringify(localStorage))).includes(apiKey.slice(-10)));

    // 1. one actor's actions in the last 30 days (alice has 20 reads, one every 2 days)
    await page.fill('#q-actor-id', 'alice');
    await page.click('#q-actor button');
    await page.waitForSelector('#search-summary', { state: 'attached' });
    const actors = await page.$$eval('#results tbody tr td:nth-child(3)', (t) => t.map((x) => x.textContent));
    assert.equal(actors.length, 15);
    assert.ok(actors.every((a) => a === 'alice (user)'));
    await shot(page, '1-actor-30-days');

    // 2. all access to one record
    await page.fill('#q-record-type', 'patient_record');
    await page.fill('#q-record-id', 'p-1');
    await page.click('#q-record button');
    await page.waitForFunction(() => document.querySelector('caption')?.textContent?.includes('p-1'));
    const resources = await page.$$eval('#results tbody tr td:nth-child(5)', (t) =>
      t.map((x) => x.textContent),
    );
    assert.equal(resources.length, 5 + 5, 'alice 5 times, bob 5 times');
    assert.ok(resources.every((r) => r === 'patient_record/p-1'));
    await shot(page, '2-record-access');

    // 3. actors with many failures in the last 24 hours
    await page.fill('#q-failures-min', '5');
    await page.click('#q-failures button');
    await page.waitForSelector('#failures', { state: 'attached' });
    const failing = await page.$$eval('#failures tbody tr', (t) => t.map((x) => x.textContent));
    assert.equal(failing.length, 1);
    assert.match(failing[0]!, /^mallory7/);
    await shot(page, '3-failures');

    // paging by cursor: 25 a page over the whole log (32 events and the reads' own access events)
    await page.click('#search-form button[type=reset]');
    await page.selectOption('#f-limit', '25');
    await page.click('#search-form button[type=submit]');
    await page.waitForFunction(() => document.querySelector('caption')?.textContent === 'Search results');
    assert.equal(await page.$$eval('#results tbody tr', (t) => t.length), 25);
    await page.click('#next-page');
    await page.waitForFunction(() => document.querySelector('#search-out span')?.textContent === 'Page 2');
    assert.equal(await page.textContent('#results tbody tr td button'), '#25');
    await page.click('#prev-page');
    await page.waitForFunction(() => document.querySelector('#search-out span')?.textContent === 'Page 1');
    assert.equal(await page.textContent('#results tbody tr td button'), '#0');

    // an entry, with its proof checked in the page
    await page.click('#results tbody button >> nth=2');
    await page.waitForSelector('#entry-status [data-state]', { state: 'attached' });
    assert.equal(await page.getAttribute('#entry-status [data-state]', 'data-state'), 'verified');
    assert.equal(await page.textContent('#h-entry'), 'Entry #2');
    await shot(page, '4-entry-verified');

    const r = await verifyEverything(page);
    assert.equal(r.state, 'ok');
    assert.equal(await page.getAttribute('body', 'data-verifier'), 'worker', 'verified in a Web Worker');
    await page.waitForSelector('#report-consistency', { state: 'attached' });
    assert.equal(await page.$$eval('#signatures tbody tr', (t) => t.length), 1);
    // Retention, archive and alerts, read from the log's own entries, each linking to its entry page.
    const policy = page.locator('#log-retention li');
    await policy.waitFor();
    assert.match((await policy.textContent())!, /soc2/);
    await page.locator('#log-alerts p.none').waitFor();
    assert.equal(await page.locator('#log-alerts p.none').textContent(), 'none recorded');
    assert.equal(await page.locator('#log-archive p.none').textContent(), 'none recorded');
    await policy.locator('button').click();
    await page.waitForSelector('#entry-status [data-state]', { state: 'attached' });
    assert.equal(await page.getAttribute('#entry-status [data-state]', 'data-state'), 'verified');
    assert.match((await page.textContent('#entry-out'))!, /evident\.retention\.set/);
    await page.click('nav button[data-view=log]');
    await shot(page, '5-log-verified');
    // Keyboard and labels: every control is a labelled native control; Tab starts at the skip link.
    const unlabelled = await page.evaluate(() =>
      [...(document as unknown as BrowserDocument).querySelectorAll('input, select, textarea')]
        .filter((el) => !el.labels?.length && !el.getAttribute('aria-label'))
        .map((el) => el.id),
    );
    assert.deepEqual(unlabelled, []);
    assert.equal(await page.$$eval('[onclick], div[role=button], span[role=button]', (x) => x.length), 0);
    await page.goto(s.url);
    await page.keyboard.press('Tab');
    assert.equal(
      await page.evaluate(() => (document as unknown as BrowserDocument).activeElement?.textContent),
      'Skip to content',
    );
    await page.setViewportSize({ width: 375, height: 800 });
    await page.click('nav button[data-view=search]');
    assert.ok(
      (await page.evaluate(() => (document as unknown as BrowserDocument).documentElement.scrollWidth)) <=
        375,
      'no sideways scrolling at 375 px',
    );
    await shot(page, '6-phone-search');
    await page.close();
  });

  it('a pinned witness nobody cosigns with (#quorum=1 in the URL): the page names WITNESS_QUORUM_UNMET and verifies nothing', async () => {
    const s = await start(copyLog(base));
    const page = await ctx.newPage();
    const witness = formatCosignerKey(
      'witness.test',
      cosignerFromSeed('witness.test', new Uint8Array(32).fill(5)).publicKey,
    );
    await page.goto(`${s.url}/#vkey=${encodeURIComponent(vkey)}&quorum=1`);
    assert.equal(await page.inputValue('#quorum'), '1', 'the quorum taken from the URL fragment');
    await page.fill('#witnesses', witness);
    await page.fill('#apikey', apiKey);
    await page.click('#connect-form button[type=submit]');
    assert.deepEqual(await alarm(page), { kind: 'witness-quorum', index: '' });
    assert.match(
      (await page.textContent('#alarm'))!,
      /WITNESS_QUORUM_UNMET.* 0 of 1 required witness cosignatures/,
    );
    assert.equal(await page.$('#connect-out [data-state=verified]'), null);
    assert.match((await page.textContent('#trust'))!, /^FAILED: witness-quorum/);
    await page.close();
  });

  it('a field edited in SQLite behind the server: the entry page and the whole verification name it and its index', async () => {
    const dir = copyLog(base);
    const db = new Database(join(dir, 'evident.db'));
    carefully(db, (d) => d.prepare("UPDATE entries SET actor_id = 'eve' WHERE idx = 3").run());
    db.close();
    const s = await start(dir);
    const page = await ctx.newPage();
    await page.evaluate(() => localStorage.clear()).catch(() => {});
    await connect(page, s.url, apiKey, vkey);
    await page.waitForSelector('#connect-out [data-state]', { state: 'attached' });
    await page.fill('#q-entry-ref', '3');
    await page.click('#q-entry button');
    await page.waitForSelector('#entry-status [data-state]', { state: 'attached' });
    // An honest server checks the proof it would send and refuses (its integrity alarm); the
    // page names that as evidence against the log, with the entry's index.
    assert.deepEqual(await alarm(page), { kind: 'server-alarm', index: '3' });
    await shot(page, '7-server-alarm');
    const r = await verifyEverything(page);
    assert.equal(r.state, 'tampered');
    assert.equal(r.firstBad, '3');
    assert.deepEqual(await alarm(page), { kind: 'tampering', index: '3' });
    await shot(page, '8-verify-tampered');
    await page.close();
  });

  it('the tail cut off in SQLite after the page verified a checkpoint: the page names the rollback and index 30', async () => {
    const port = await freePort();
    const dir = copyLog(base);
    const s1 = await start(dir, port);
    const page = await ctx.newPage();
    await connect(page, s1.url, apiKey, vkey);
    await page.waitForSelector('#connect-out [data-state=verified]', { state: 'attached' });
    await s1.stop();
    // A careful cut: entries, their secrets, the checkpoints above, the tree nodes and the head.
    const db = new Database(join(dir, 'evident.db'));
    carefully(db, (d) => {
      d.exec('DELETE FROM entries WHERE idx >= 30; DELETE FROM entry_secrets WHERE idx >= 30');
      d.exec('DELETE FROM checkpoints WHERE size > 30');
      d.exec('DELETE FROM tree_nodes WHERE (idx + 1) * (1 << level) > 30');
      setHead(d, headOf(d, 30));
    });
    db.close();
    await start(dir, port);
    await page.click('nav button[data-view=connect]');
    await page.click('#connect-form button[type=submit]');
    assert.deepEqual(await alarm(page), { kind: 'rollback', index: '30' });
    await shot(page, '9-tail-cut');
    await page.close();
  });

  it('the tail cut off carelessly (entries only): the server refuses to export, and the page shows its alarm', async () => {
    const dir = copyLog(base);
    const db = new Database(join(dir, 'evident.db'));
    carefully(db, (d) => d.prepare('DELETE FROM entries WHERE idx >= 30').run());
    db.close();
    const s = await start(dir);
    const page = await ctx.newPage();
    await connect(page, s.url, apiKey, vkey);
    await page.waitForSelector('#connect-out [data-state]', { state: 'attached' });
    await verifyEverything(page);
    assert.equal((await alarm(page)).kind, 'export-failed');
    await page.close();
  });

  it('a lying server (edits an entry in transit, or recomputes its hash too): the page names it and the index', async () => {
    const s = await start(copyLog(base));
    const edit = (body: string, rehash: boolean) => {
      const r = JSON.parse(body);
      r.entry.actor_id = 'eve';
      if (rehash) r.entry.hash = toHex(entryLeafHash(r.entry));
      if (rehash) r.proof.leaf_hash = Buffer.from(r.entry.hash, 'hex').toString('base64');
      return JSON.stringify(r);
    };
    const exportEdit = (body: string) =>
      body
        .split('\n')
        .map((l) => (l.includes('"index":4,') ? l.replace('"actor_id":"alice"', '"actor_id":"eve"') : l))
        .join('\n');
    const proxy = await lyingProxy(s.url, await freePort(), (path, body) =>
      path.endsWith('/events/3')
        ? edit(body, false)
        : path.endsWith('/events/5')
          ? edit(body, true)
          : path.endsWith('/export')
            ? exportEdit(body)
            : body,
    );
    try {
      const page = await ctx.newPage();
      await connect(page, proxy.url, apiKey, vkey);
      await page.waitForSelector('#connect-out [data-state=verified]', { state: 'attached' });
      await page.fill('#q-entry-ref', '3');
      await page.click('#q-entry button');
      assert.deepEqual(await alarm(page), { kind: 'entry-modified', index: '3' });
      await shot(page, '7-entry-modified');
      await page.click('nav button[data-view=search]');
      await page.fill('#q-entry-ref', '5');
      await page.click('#q-entry button');
      await page.waitForFunction(() => document.querySelector('#alarm')?.getAttribute('data-index') === '5');
      assert.deepEqual(await alarm(page), { kind: 'proof-failed', index: '5' });
      const r = await verifyEverything(page);
      assert.equal(r.state, 'tampered');
      assert.equal(r.firstBad, '4');
      assert.deepEqual(await alarm(page), { kind: 'tampering', index: '4' });
      await shot(page, '8-verify-tampered');
      await page.close();
    } finally {
      await proxy.close();
    }
  });

  it('an older copy restored, then a forked tail signed by the same key: the page names the rollback and the fork', async () => {
    const port = await freePort();
    const live = copyLog(base);
    const fork = copyLog(old);
    const s1 = await start(live, port);
    const page = await ctx.newPage();
    await connect(page, s1.url, apiKey, vkey);
    await page.waitForSelector('#connect-out [data-state=verified]', { state: 'attached' });
    await page.fill('#q-actor-id', 'bob');
    await page.click('#q-actor button');
    await page.waitForSelector('#search-summary', { state: 'attached' });
    await page.click('nav button[data-view=connect]');
    await page.click('#connect-form button[type=submit]');
    await page.waitForSelector('#connect-out [data-state=verified]', { state: 'attached' });
    const seen = await page.evaluate(
      () =>
        JSON.parse(localStorage.getItem('evident.viewer.checkpoint:audit.example.com/default')!)
          .size as number,
    );
    await s1.stop();

    // Rollback: the database as it was before the visit (smaller, all its signatures genuine).
    const rolled = await start(copyLog(old), port);
    await page.click('nav button[data-view=connect]');
    await page.click('#connect-form button[type=submit]');
    const a = await alarm(page);
    assert.equal(a.kind, 'rollback');
    assert.ok(Number(a.index) < seen);
    await shot(page, '10-rollback');
    await rolled.stop();

    // Fork: from the old copy, another tail, longer than what the page saw, signed by the same key.
    const size = Number(a.index);
    await append(
      fork,
      Array.from({ length: seen - size + 3 }, (_, i) => ({
        actor_id: 'forger',
        actor_type: 'user',
        action: 'read',
        resource_type: 'patient_record',
        resource_id: `f-${i}`,
        result: 'success',
        ip_address: '198.51.100.9',
      })),
    );
    await start(fork, port);
    await page.click('nav button[data-view=connect]');
    await page.click('#connect-form button[type=submit]');
    assert.equal((await alarm(page)).kind, 'fork');
    assert.match((await page.textContent('#alarm'))!, /FORK/);
    await shot(page, '11-fork');
    await page.close();
  });

  it('verifies a 10,000-entry log in the page, and prints its rate beside evident verify of the same log', async () => {
    const log = await builtLog(10_000, { cache: false });
    const dir = tempDir();
    copyFileSync(log.db, join(dir, 'evident.db'));
    copyFileSync(log.key, join(dir, 'evident.key'));
    log.dispose();
    const r = await measureViewer(dir, [BIN]);
    console.log(
      `# viewer: ${r.entries} entries, page ${r.page_entries_per_s}/s (${r.page_seconds} s), evident verify ${r.cli_entries_per_s}/s (${r.cli_seconds} s), ratio ${r.ratio}`,
    );
    assert.ok(r.ok);
    assert.ok(r.entries >= 10_000);
    assert.ok(r.page_entries_per_s > 0 && r.cli_entries_per_s > 0);
  });

  it('the self-contained file, opened from disk: a bundle file verifies with no server; a tampered one names its index; a server answers with --cors-origin null', async () => {
    const work = tempDir();
    const w = await run(['viewer', '--out', join(work, 'viewer.html')], { cwd: work });
    assert.equal(w.code, 0, w.stderr);
    const dir = copyLog(base);
    const ex = await run(['export', '--out', join(work, 'audit.bundle')], { cwd: dir });
    assert.equal(ex.code, 0, ex.stderr);
    const lines = readFileSync(join(work, 'audit.bundle'), 'utf8').split('\n');
    const e5 = JSON.parse(lines[1 + 5]!);
    e5.resource_id = 'p-elsewhere';
    lines[1 + 5] = JSON.stringify(e5);
    writeFileSync(join(work, 'tampered.bundle'), lines.join('\n'));

    const page = await ctx.newPage();
    await page.goto(pathToFileURL(join(work, 'viewer.html')).href);
    await page.fill('#vkey', vkey);
    await page.click('nav button[data-view=bundle]');
    await page.setInputFiles('#bundle-file', join(work, 'audit.bundle'));
    await page.waitForSelector('#bundle-out #report', { state: 'attached' });
    assert.equal(await page.getAttribute('#report', 'data-state'), 'ok');
    assert.equal(
      await page.getAttribute('body', 'data-verifier'),
      'worker',
      'a worker from a file:// page too',
    );
    await shot(page, '12-offline-bundle');
    await page.setInputFiles('#bundle-file', join(work, 'tampered.bundle'));
    await page.waitForSelector('#bundle-out #report[data-state=tampered]', { state: 'attached' });
    assert.equal(await page.getAttribute('#report', 'data-first-bad'), '5');
    assert.deepEqual(await alarm(page), { kind: 'tampering', index: '5' });
    await shot(page, '13-offline-tampered');

    // The same file against a server: refused by the browser unless the server allows file pages.
    const closed = await start(copyLog(base));
    await page.click('nav button[data-view=connect]');
    await page.fill('#server', closed.url);
    await page.fill('#apikey', apiKey);
    await page.click('#connect-form button[type=submit]');
    await page.waitForSelector('#connect-out [data-state=error]', { state: 'attached' });
    const open = await start(copyLog(base), undefined, ['--cors-origin', 'null']);
    await page.fill('#server', open.url);
    await page.click('#connect-form button[type=submit]');
    await page.waitForSelector('#connect-out [data-state=verified]', { state: 'attached' });
    await page.close();
  });
});
