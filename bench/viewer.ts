/**
 * The viewer's whole verification in Chromium against `evident verify` of the same log, in the
 * same run: entries per second of each and their ratio. The page streams GET .../export from a
 * real `evident serve` through the core bundle verifier in a Web Worker; the CLI reads the
 * database directly. Both wall times include everything a user waits for (the CLI's start, the
 * page's download). Needs /usr/bin/chromium (skipped without it).
 *
 * Run alone: node --import tsx bench/viewer.ts [--size 100000]; or as section `viewer` of npm run bench.
 */
import { execFile, spawn } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';

export const CHROMIUM = '/usr/bin/chromium';

export interface ViewerResult {
  entries: number;
  cli_entries_per_s: number;
  page_entries_per_s: number;
  /** page / CLI. */
  ratio: number;
  cli_seconds: number;
  page_seconds: number;
  ok: boolean;
}

/** The `evident` command from source (no build needed); tests pass the built bin instead. */
const SOURCE_CLI = [`--import=${import.meta.resolve('tsx')}`, join(import.meta.dirname, 'evident-cli.ts')];

function cli(
  args: string[],
  cwd: string,
  cmd: string[],
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [...cmd, ...args], { cwd, maxBuffer: 64 << 20 }, (e, stdout, stderr) =>
      resolve({ code: e ? Number(e.code ?? 1) : 0, stdout, stderr }),
    );
  });
}

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

/**
 * Measures a log held as evident.db and evident.key in `dir` (it is served, so it grows by the
 * reads' access events: pass a copy). `cmd` runs the evident command.
 */
export async function measureViewer(dir: string, cmd: string[] = SOURCE_CLI): Promise<ViewerResult> {
  const key = await cli(['keys', 'create', '--log', 'default', '--scope', 'read,verify'], dir, cmd);
  if (key.code !== 0) throw new Error(key.stderr);
  const apiKey = key.stdout.trim();
  const vkey = (await cli(['key'], dir, cmd)).stdout.trim();

  const t0 = performance.now();
  const v = await cli(['verify', '--json'], dir, cmd);
  const cliSeconds = (performance.now() - t0) / 1000;
  const cliReport = JSON.parse(v.stdout.trim().split('\n').at(-1)!) as { ok: boolean; entries: number };

  const port = await freePort();
  const child = spawn(
    process.execPath,
    [...cmd, 'serve', '--port', String(port), '--log-level', 'warn', '--rate-limit', '0'],
    { cwd: dir, stdio: 'ignore' },
  );
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; ; i++) {
    try {
      if ((await fetch(`${url}/healthz`)).ok) break;
    } catch {}
    if (i > 400) throw new Error('evident serve did not start');
    await new Promise((r) => setTimeout(r, 50));
  }
  const { chromium } = await import('playwright-core');
  const profile = mkdtempSync(join(tmpdir(), 'evident-viewer-bench-'));
  const browser = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
  try {
    const page = await browser.newPage();
    await page.goto(`${url}/#vkey=${encodeURIComponent(vkey)}`);
    await page.fill('#apikey', apiKey);
    await page.click('#connect-form button[type=submit]');
    await page.waitForSelector('#connect-out [data-state=verified]', { state: 'attached' });
    await page.click('nav button[data-view=log]');
    await page.click('#verify-all');
    const report = await page.waitForSelector('#report', { state: 'attached', timeout: 600_000 });
    const entries = Number(await report.getAttribute('data-entries'));
    const ms = Number(await report.getAttribute('data-ms'));
    const ok = (await report.getAttribute('data-state')) === 'ok' && cliReport.ok;
    const cliRate = cliReport.entries / cliSeconds;
    const pageRate = entries / (ms / 1000);
    return {
      entries,
      cli_entries_per_s: Math.round(cliRate),
      page_entries_per_s: Math.round(pageRate),
      ratio: Math.round((pageRate / cliRate) * 100) / 100,
      cli_seconds: Math.round(cliSeconds * 10) / 10,
      page_seconds: Math.round(ms / 100) / 10,
      ok,
    };
  } finally {
    await browser.close();
    rmSync(profile, { recursive: true, force: true });
    child.kill('SIGKILL');
  }
}

/** Section `viewer` of the benchmark: a copy of a built log (db, key), measured; undefined without Chromium. */
export async function benchViewer(db: string, key: string): Promise<ViewerResult | undefined> {
  if (!existsSync(CHROMIUM)) return undefined;
  // The page is the built one (dist/viewer/index.html): build it (seconds).
  await new Promise<void>((resolve, reject) =>
    execFile(process.execPath, [join(import.meta.dirname, '..', 'viewer', 'build.mjs')], (e) =>
      e ? reject(e) : resolve(),
    ),
  );
  const dir = mkdtempSync(join(tmpdir(), 'evident-viewer-bench-log-'));
  try {
    for (const suffix of ['', '-wal', '-shm']) {
      if (existsSync(db + suffix)) copyFileSync(db + suffix, join(dir, `evident.db${suffix}`));
    }
    copyFileSync(key, join(dir, 'evident.key'));
    return await measureViewer(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[1] === import.meta.filename) {
  const { values } = parseArgs({ options: { size: { type: 'string', default: '100000' } } });
  const { builtLog } = await import('./built-log.ts');
  const log = await builtLog(Number(values.size), { cache: true });
  const r = await benchViewer(log.db, log.key);
  console.log(r ? JSON.stringify(r, null, 2) : `skipped: ${CHROMIUM} is missing`);
  log.dispose();
}
