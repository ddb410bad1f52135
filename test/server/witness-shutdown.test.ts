/**
 * A real `evident witness` process stopped by SIGTERM: connections with no request on them (one
 * that never sent a byte, as a browser or a client library keeps spare, and one idle after its
 * answer) are closed at once, an add-checkpoint request in flight is still answered and its
 * checkpoint recorded, and the process exits 0. A request whose body never comes is cut at the
 * end of the grace period (the body timeout plus 5 s), so shutdown always ends; a second signal
 * exits at once.
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, it } from 'node:test';
import Database from 'better-sqlite3';
import { checkWitnessQuorum } from '../../src/core/witness-policy.ts';
import { ensureBuilt, removeTempDirs, run, tempDir } from '../cli/helpers.ts';
import { rawConnection } from './raw-connection.ts';
import { type ServeProcess, startWitnessProcess } from './serve-process.ts';
import { TestLog } from './witness-support.ts';

const W = 'witness.test/shutdown';
/** Far beyond the witness's grace period (15 s): an exit later than this never came by itself. */
const LIMIT_MS = 60_000;
/** An idle connection is closed at once: far less than the grace period, however loaded the machine. */
const IDLE_LIMIT_MS = 20_000;

let dir: string;
let vkey: string;
const log = new TestLog('audit.test/shutdown');

before(async () => {
  ensureBuilt();
  dir = tempDir();
  const init = await run(['witness', 'init', '--name', W, '--key', 'w.key'], { cwd: dir });
  assert.equal(init.code, 0, init.stderr);
  vkey = init.stdout.trim();
  writeFileSync(join(dir, 'logs.policy'), `log ${log.vkey}\n`);
});
after(removeTempDirs);

const startWitness = () =>
  startWitnessProcess(dir, ['--config', 'logs.policy', '--db', 'w.db', '--key', 'w.key', '--port', '0']);

/** Resolves as `p` does, or rejects once `ms` have passed. */
function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: not within ${ms} ms`)), ms);
  });
  return Promise.race([p, late]).finally(() => clearTimeout(timer));
}

/** Stops it whatever state a failed test left it in. */
async function kill(w: ServeProcess): Promise<void> {
  if (w.child.exitCode === null && w.child.signalCode === null) w.child.kill('SIGKILL');
  await w.exit;
}

/** The checkpoint sizes the witness recorded for the test log, in its own database. */
function recordedSizes(): number[] {
  const db = new Database(join(dir, 'w.db'), { readonly: true });
  try {
    return db
      .prepare('SELECT size FROM witness_checkpoints WHERE origin = ? ORDER BY size')
      .all(log.origin)
      .map((r) => (r as { size: number }).size);
  } finally {
    db.close();
  }
}

/** Headers of an add-checkpoint request that waits for 100 Continue before its body. */
const head = (body: string) =>
  'POST /add-checkpoint HTTP/1.1\r\nHost: witness\r\nContent-Type: text/plain\r\n' +
  `Content-Length: ${Buffer.byteLength(body)}\r\nExpect: 100-continue\r\n\r\n`;

it('SIGTERM closes idle connections at once, answers and records the add-checkpoint in flight, exits 0', async () => {
  const w = await startWitness();
  try {
    // A connection that never sends a byte.
    const unused = await rawConnection(w.url);
    // A keep-alive connection left idle after its answer.
    const answered = await rawConnection(w.url);
    answered.socket.write('GET /healthz HTTP/1.1\r\nHost: witness\r\nConnection: keep-alive\r\n\r\n');
    await answered.until(/^HTTP\/1\.1 200 .*\r\n\r\n.*\}\n/s);
    assert.ok(!/connection: close/i.test(answered.text()), 'kept alive');

    // A request in flight: its headers are in (100 Continue answered), its body not yet.
    log.grow(5);
    const body = log.request(0);
    const inflight = await rawConnection(w.url);
    inflight.socket.write(head(body));
    await inflight.until(/^HTTP\/1\.1 100 Continue\r\n\r\n/);

    w.child.kill('SIGTERM');
    // The idle ones are closed by the witness while the request in flight still holds its own.
    await within(Promise.all([unused.closed, answered.closed]), IDLE_LIMIT_MS, 'idle connections closed');
    assert.equal(inflight.isClosed(), false, 'the request in flight is not cut');
    inflight.socket.write(body);
    await within(
      inflight.until(/^HTTP\/1\.1 100 Continue\r\n\r\nHTTP\/1\.1 200 .*\r\n\r\n\u2014 .*\n/s),
      IDLE_LIMIT_MS,
      'the answer',
    );
    // Its connection is not kept for another request: it would hold shutdown.
    assert.match(inflight.text(), /\r\nconnection: close\r\n/i);
    const cosignature = inflight.text().slice(inflight.text().lastIndexOf('\r\n\r\n') + 4);
    assert.deepEqual(checkWitnessQuorum(log.checkpoint() + cosignature, [vkey], 1).cosigned, [W]);
    await within(inflight.closed, IDLE_LIMIT_MS, 'the answered connection closed');

    assert.equal(await within(w.exit, IDLE_LIMIT_MS, 'exit after SIGTERM'), 0, w.output());
  } finally {
    await kill(w);
  }
  // Recorded before it was answered, and the database closed cleanly.
  assert.deepEqual(recordedSizes(), [5]);
  assert.match(w.output(), /"path":"\/add-checkpoint","status":200/);
});

it('SIGTERM with a request whose body never comes: cut at the end of the grace period, nothing recorded, exits 0', async () => {
  const w = await startWitness();
  try {
    log.grow(3);
    const body = log.request(5);
    const stalled = await rawConnection(w.url);
    stalled.socket.write(head(body));
    await stalled.until(/^HTTP\/1\.1 100 Continue\r\n\r\n/);
    // Part of the body, then nothing more.
    stalled.socket.write(body.slice(0, 10));

    w.child.kill('SIGTERM');
    assert.equal(await within(w.exit, LIMIT_MS, 'exit after SIGTERM'), 0, w.output());
    await stalled.closed;
    assert.equal(stalled.text(), 'HTTP/1.1 100 Continue\r\n\r\n', 'cut, not answered');
  } finally {
    await kill(w);
  }
  assert.deepEqual(recordedSizes(), [5]);
});

it('a second SIGTERM during the grace period exits at once with 130', async () => {
  const w = await startWitness();
  try {
    const stalled = await rawConnection(w.url);
    stalled.socket.write(head(log.request(5)));
    await stalled.until(/^HTTP\/1\.1 100 Continue\r\n\r\n/);
    w.child.kill('SIGTERM');
    // The first signal is handled (the listening socket closes) before the second is sent.
    await within(
      (async () => {
        for (;;) {
          if (
            !(await fetch(`${w.url}/healthz`).then(
              () => true,
              () => false,
            ))
          )
            return;
          await new Promise((r) => setTimeout(r, 50));
        }
      })(),
      IDLE_LIMIT_MS,
      'stopped accepting',
    );
    w.child.kill('SIGTERM');
    assert.equal(await within(w.exit, IDLE_LIMIT_MS, 'exit after the second SIGTERM'), 130, w.output());
  } finally {
    await kill(w);
  }
});
