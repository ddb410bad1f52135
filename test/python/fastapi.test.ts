/**
 * The Python client and its FastAPI middleware (clients/python) against a real `evident serve`:
 * this file starts the server, creates the logs and keys, and runs the Python unittest suite
 * with Debian's /usr/bin/python3, passing the URL and keys in the environment. The suite fails
 * this test when it fails. Without FastAPI for that interpreter the test is skipped with a
 * message, except under CI=true, where that is a failure.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { BIN, ensureBuilt, ROOT, removeTempDirs, tempDir } from '../cli/helpers.ts';
import { initLogs, killAll, type Served, startServe, stopServe } from '../server/cluster.ts';

const PYTHON = process.env['EVIDENT_TEST_PYTHON'] ?? '/usr/bin/python3';
const LOGS = [
  'client',
  'rejects',
  'twins',
  'torn',
  'replay',
  'lostack',
  'middleware',
  'failclosed',
  'crash',
  'example',
];

/** Why the suite cannot run here, or undefined when it can. */
function missingPython(): string | undefined {
  const r = spawnSync(PYTHON, ['-c', 'import fastapi, starlette, uvicorn, httpx'], { encoding: 'utf8' });
  if (r.error) return `${PYTHON} is not installed`;
  if (r.status !== 0)
    return `${PYTHON} lacks fastapi, uvicorn or httpx (apt-get install python3-fastapi python3-uvicorn python3-httpx)`;
  return undefined;
}

/**
 * What to show when the suite fails: unittest's FAIL and ERROR sections first (they come last
 * in its output), then the tail of the output with runs of one repeated line folded into one, so
 * a test that logs the same refusal hundreds of times cannot push the failure out of view.
 */
export function failureReport(out: string): string {
  const start = out.search(/^={20,}$/m);
  const failures = start >= 0 ? out.slice(start) : '(no FAIL or ERROR section in the output)';
  const folded: string[] = [];
  let last: string | undefined;
  let repeats = 0;
  for (const line of out.split('\n')) {
    if (line === last) {
      repeats++;
      continue;
    }
    if (repeats > 0) folded.push(`  (the line above ${repeats} more times)`);
    folded.push(line);
    last = line;
    repeats = 0;
  }
  if (repeats > 0) folded.push(`  (the line above ${repeats} more times)`);
  return `${failures.slice(0, 12_000)}\n--- the output, repeated lines folded ---\n${folded.join('\n').slice(-8_000)}`;
}

describe('Python client and FastAPI middleware', () => {
  const missing = missingPython();
  if (missing && process.env['CI'] === 'true') {
    it('needs Python with FastAPI in CI', () => assert.fail(`${missing}: not allowed under CI=true`));
    return;
  }
  let served: Served;
  let env: Record<string, string>;

  before(async () => {
    if (missing) return;
    ensureBuilt();
    const dir = tempDir();
    const db = join(dir, 'audit.db');
    const logs = await initLogs(dir, db, LOGS, 'audit.test');
    served = await startServe({ name: 'serve', cwd: dir, db, key: logs.keyFile });
    // A second database for the outage test: its server is started by the Python test itself,
    // once events wait in the spool.
    const outageDir = tempDir();
    const outageDb = join(outageDir, 'audit.db');
    const outage = await initLogs(outageDir, outageDb, ['outage', 'mwoutage'], 'audit.test');
    env = {
      EVIDENT_TEST_URL: served.url,
      EVIDENT_TEST_INGEST_KEY: logs.ingestKey,
      EVIDENT_TEST_READ_KEY: logs.readKey,
      EVIDENT_TEST_ROOT: ROOT,
      EVIDENT_TEST_OUTAGE_SERVE: JSON.stringify([
        process.execPath,
        BIN,
        'serve',
        '--host',
        '127.0.0.1',
        '--db',
        outageDb,
        '--key',
        outage.keyFile,
      ]),
      EVIDENT_TEST_OUTAGE_INGEST_KEY: outage.ingestKey,
      EVIDENT_TEST_OUTAGE_READ_KEY: outage.readKey,
      EVIDENT_TEST_TMP: dir,
    };
  });

  after(async () => {
    if (served) await stopServe(served);
    killAll();
    removeTempDirs();
  });

  it('passes the Python unittest suite against evident serve', { timeout: 300_000 }, async (t) => {
    if (missing) {
      t.skip(missing);
      return;
    }
    const base = { ...process.env };
    for (const k of Object.keys(base)) if (k.startsWith('EVIDENT_')) delete base[k];
    const child = spawn(PYTHON, ['-m', 'unittest', 'discover', '-s', 'clients/python/tests', '-v'], {
      cwd: ROOT,
      env: { ...base, ...env, PYTHONPATH: join(ROOT, 'clients', 'python'), PYTHONDONTWRITEBYTECODE: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      out += d;
    });
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      out += d;
    });
    // Our own deadline, below the test's: a hung suite is killed and its output shown.
    const timer = setTimeout(() => {
      out += '\n(killed: the Python suite ran past 240 s)';
      child.kill('SIGKILL');
    }, 240_000);
    const code = await new Promise<number | null>((resolve) => child.on('close', (c) => resolve(c)));
    clearTimeout(timer);
    const summary = /Ran (\d+) tests?[\s\S]*?(OK.*|FAILED.*)/.exec(out);
    t.diagnostic(summary ? `python: ran ${summary[1]} tests, ${summary[2]}` : 'python: no summary');
    for (const line of out.match(/^ {2}\d+ requests answered.*$/gm) ?? []) t.diagnostic(`python:${line}`);
    assert.equal(code, 0, `the Python suite failed:\n${failureReport(out)}`);
    assert.ok(
      summary && !/skipped=/.test(summary[2]!),
      `the Python suite skipped tests:\n${out.slice(-5000)}`,
    );
    assert.equal(served.errorCount(), 0, `the server logged errors:\n${served.errors.join('\n')}`);
  });
});
