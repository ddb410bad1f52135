/**
 * A witness as a published floor (src/server/witnessing.ts, src/ledger/published.ts), as real
 * processes: an `evident witness` child has cosigned the log's checkpoint of size N; the
 * `evident serve` child's SQLite file is replaced by an older copy and serve restarted. Before
 * the log signs anything, the witness's answer fences it (LOG_FENCED): /readyz names the log and
 * the rule, a metric counts it, and no checkpoint at or beyond N that the witness's checkpoint
 * contradicts is stored; also for a copy grown past N with other events. The control (the same
 * copy served without the witness) signs the fork.
 */
import assert from 'node:assert/strict';
import { copyFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { openLedger } from '../../src/ledger/open.ts';
import { openStore } from '../../src/store/open.ts';
import { ensureBuilt, removeTempDirs, run, tempDir } from '../cli/helpers.ts';
import { type ServeProcess, startServeProcess, startWitnessProcess, until } from './serve-process.ts';

interface Ready {
  witnesses?: { name: string; cosigned_size?: number; last_error?: string }[];
  fenced?: { log: string; source: string; rule: string; published_size: number; tree_size: number }[];
}

const readyz = async (url: string) => (await (await fetch(`${url}/readyz`)).json()) as Ready;

const event = (i: number, tag = 'a') => ({
  actor_id: 'user-1',
  actor_type: 'user',
  action: 'read',
  resource_type: 'record',
  resource_id: `${tag}-${i}`,
  result: 'success',
  ip_address: '192.0.2.7',
});

function restore(dir: string, from: string): void {
  for (const s of ['', '-wal', '-shm']) rmSync(join(dir, `evident.db${s}`), { force: true });
  copyFileSync(join(dir, from), join(dir, 'evident.db'));
}

/** The stored head size and the sizes of the stored checkpoints of the file. */
async function stored(file: string): Promise<{ size: number; checkpoints: number[] }> {
  const store = await openStore(file, { readonly: true });
  try {
    const log = (await store.getLog('default'))!;
    return {
      size: (await store.head(log.id)).size,
      checkpoints: (await store.checkpoints(log.id)).map((c) => c.size),
    };
  } finally {
    await store.close();
  }
}

describe('published floors: a witness (real processes)', () => {
  let dir: string;
  let witness: ServeProcess;
  let apiKey: string;
  let n: number;
  let m: number;

  const startServe = (policy = true) =>
    startServeProcess(dir, [
      '--db',
      'evident.db',
      '--key',
      'evident.key',
      '--port',
      '0',
      ...(policy ? ['--witness-policy', 'serve.policy', '--witness-interval-ms', '100'] : []),
      '--checkpoint-interval-ms',
      '100',
    ]);
  const append = (url: string, count: number, from: number, tag = 'a') =>
    fetch(`${url}/v1/logs/default/events`, {
      method: 'POST',
      headers: { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json' },
      body: JSON.stringify(Array.from({ length: count }, (_, i) => event(from + i, tag))),
    });
  const cosignedAt = (url: string, min: number) =>
    until(`the witness at ${min}+`, async () => {
      const s = (await readyz(url)).witnesses?.[0]?.cosigned_size;
      return s !== undefined && s >= min ? s : undefined;
    });

  before(async () => {
    ensureBuilt();
    dir = tempDir();
    assert.equal((await run(['init', '--origin', 'audit.test/default'], { cwd: dir })).code, 0);
    const logVkey = (await run(['key'], { cwd: dir })).stdout.trim();
    const w = await run(['witness', 'init', '--name', 'witness.test/w1', '--key', 'w1.key'], { cwd: dir });
    assert.equal(w.code, 0, w.stderr);
    writeFileSync(join(dir, 'logs.policy'), `log ${logVkey}\n`);
    witness = await startWitnessProcess(dir, [
      '--config',
      'logs.policy',
      '--db',
      'w1.db',
      '--key',
      'w1.key',
      '--port',
      '0',
    ]);
    writeFileSync(join(dir, 'serve.policy'), `witness w1 ${w.stdout.trim()} ${witness.url}\nquorum w1\n`);
    const k = await run(['keys', 'create', '--log', 'default', '--scope', 'ingest', '--json'], { cwd: dir });
    assert.equal(k.code, 0, k.stderr);
    apiKey = JSON.parse(k.stdout).key;

    // The older copy: cosigned at its own size m.
    let serve = await startServe();
    assert.equal((await append(serve.url, 3, 0)).status, 201);
    m = await cosignedAt(serve.url, 3);
    await serve.stop();
    assert.equal((await stored(join(dir, 'evident.db'))).size, m);
    copyFileSync(join(dir, 'evident.db'), join(dir, 'older.db'));
    // The published state: the witness cosigned n > m.
    serve = await startServe();
    assert.equal((await append(serve.url, 4, 3)).status, 201);
    n = await cosignedAt(serve.url, m + 4);
    await serve.stop();
    copyFileSync(join(dir, 'evident.db'), join(dir, 'newer.db'));
  });

  after(async () => {
    if (witness) await witness.stop();
    removeTempDirs();
  });

  it('a database restored to an older copy is fenced before it signs: /readyz, LOG_FENCED, the metric', async () => {
    restore(dir, 'older.db');
    const serve = await startServe();
    try {
      const r = await until('the log fenced', async () => {
        const f = (await readyz(serve.url)).fenced;
        return f && f.length > 0 ? f : undefined;
      });
      assert.deepEqual(r[0], {
        ...r[0],
        log: 'default',
        source: 'witness',
        rule: 'witness_checkpoint_missing',
        published_size: n,
        tree_size: m,
      });
      const a = await append(serve.url, 5, 100, 'fork');
      assert.equal(a.status, 503);
      const body = (await a.json()) as { code: string };
      assert.equal(body.code, 'LOG_FENCED');
      const metrics = await (await fetch(`${serve.url}/metrics`)).text();
      assert.match(
        metrics,
        /evident_logs_fenced_total\{log="default",source="witness",rule="witness_checkpoint_missing"\} 1/,
      );
    } finally {
      await serve.stop();
    }
    const s = await stored(join(dir, 'evident.db'));
    assert.equal(s.size, m, 'nothing was appended');
    assert.ok(Math.max(...s.checkpoints) <= m, `no checkpoint beyond ${m}: ${s.checkpoints}`);
  });

  it('a copy grown past N with other events is fenced before any checkpoint of it is signed', async () => {
    restore(dir, 'older.db');
    const grower = await openLedger({
      db: join(dir, 'evident.db'),
      key: join(dir, 'evident.key'),
      checkpointIntervalMs: Number.MAX_SAFE_INTEGER,
    });
    await grower.appendMany(Array.from({ length: n - m + 3 }, (_, i) => event(i, 'fork')));
    await grower.flush();
    await grower.store.close(); // not close(): that would sign
    const serve = await startServe();
    try {
      const r = await until('the log fenced', async () => {
        const f = (await readyz(serve.url)).fenced;
        return f && f.length > 0 ? f : undefined;
      });
      assert.equal(r[0]!.source, 'witness');
      assert.equal(r[0]!.published_size, n);
      assert.equal(r[0]!.tree_size, n + 3);
      // Several checkpoint ticks: the fenced log is never signed.
      await new Promise((res) => setTimeout(res, 500));
    } finally {
      await serve.stop();
    }
    const s = await stored(join(dir, 'evident.db'));
    assert.equal(s.size, n + 3);
    assert.ok(Math.max(...s.checkpoints) <= m, `no checkpoint of the forked tree: ${s.checkpoints}`);
  });

  it('CONTROL (no floor source): the same grown copy served without the witness signs the fork', async () => {
    // Shows that the test above can fail: nothing else stops the signer (one more event opens
    // the log, and its batch signs).
    const serve = await startServe(false);
    try {
      assert.equal((await append(serve.url, 1, 300, 'fork')).status, 201);
      await until('a checkpoint of the forked tree', async () => {
        const s = await stored(join(dir, 'evident.db'));
        return Math.max(...s.checkpoints) >= n ? true : undefined;
      });
    } finally {
      await serve.stop();
    }
  });

  it('the database that holds N put back: not fenced, appends are witnessed again', async () => {
    restore(dir, 'newer.db');
    const serve = await startServe();
    try {
      assert.equal((await append(serve.url, 2, 200)).status, 201);
      await cosignedAt(serve.url, n + 2);
      assert.equal((await readyz(serve.url)).fenced, undefined);
    } finally {
      await serve.stop();
    }
  });
});
