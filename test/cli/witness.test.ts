/**
 * Witnesses both ways, as real processes: two `evident witness` children and an `evident serve`
 * child whose --witness-policy names them. The log reaches its 2-of-2 quorum; a witness killed
 * with SIGKILL mid-round and restarted loses no state and the quorum comes back; with one
 * witness away, 1-of-2 holds and 2-of-2 does not; a log whose history was forked behind the
 * server (a copied database with another tail, re-signed with the same key) is refused by both
 * witnesses (409) and fails `evident verify --witness ... --witness-quorum 2` with
 * WITNESS_QUORUM_UNMET, exit 1.
 */
import assert from 'node:assert/strict';
import { copyFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { type ServeProcess, startServeProcess, startWitnessProcess, until } from '../server/serve-process.ts';
import { ensureBuilt, errorOf, removeTempDirs, run, tempDir } from './helpers.ts';

interface Ready {
  status: string;
  witnesses: { name: string; up: boolean; cosigned_size?: number; last_error?: string }[];
}

async function readyz(url: string): Promise<Ready> {
  return (await (await fetch(`${url}/readyz`)).json()) as Ready;
}

const event = (i: number, tag = 'a') => ({
  actor_id: `user-${i % 3}`,
  actor_type: 'user',
  action: 'read',
  resource_type: 'record',
  resource_id: `${tag}-${i}`,
  result: 'success',
  ip_address: '192.0.2.7',
});

describe('witnesses and a witnessed log (real processes)', () => {
  let dir: string;
  let logVkey: string;
  const vkeys: string[] = [];
  const ports: number[] = [];
  const witnesses: ServeProcess[] = [];
  let serve: ServeProcess | undefined;
  let apiKey: string;

  const startWitness = async (i: number, port = 0) =>
    startWitnessProcess(dir, [
      '--config',
      'logs.policy',
      '--db',
      `w${i}.db`,
      '--key',
      `w${i}.key`,
      '--port',
      String(port),
    ]);
  const startServe = (db = 'evident.db', extra: string[] = []) =>
    startServeProcess(dir, [
      '--db',
      db,
      '--key',
      'evident.key',
      '--port',
      '0',
      '--witness-policy',
      'serve.policy',
      '--witness-interval-ms',
      '100',
      '--checkpoint-interval-ms',
      '100',
      '--public-verify',
      'default',
      ...extra,
    ]);
  const append = async (url: string, n: number, from: number, tag = 'a') => {
    const r = await fetch(`${url}/v1/logs/default/events`, {
      method: 'POST',
      headers: { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json' },
      body: JSON.stringify(Array.from({ length: n }, (_, i) => event(from + i, tag))),
    });
    const text = await r.text();
    assert.equal(r.status, 201, text);
    const { receipts } = JSON.parse(text) as { receipts: { index: number }[] };
    return receipts.at(-1)!.index + 1;
  };
  /** Waits until both witnesses cosigned the same size, at least `min`; returns it. */
  const bothAt = (url: string, min: number) =>
    until(`both witnesses at ${min}+`, async () => {
      const r = await readyz(url);
      const [a, b] = r.witnesses.map((w) => w.cosigned_size ?? -1);
      return a === b && a! >= min ? a : undefined;
    });
  const verify = (args: string[], db = 'evident.db') =>
    run(['verify', '--db', db, '--vkey', logVkey, '--json', ...args], { cwd: dir });

  before(async () => {
    ensureBuilt();
    dir = tempDir();
    const init = await run(['init', '--origin', 'audit.test/default'], { cwd: dir });
    assert.equal(init.code, 0, init.stderr);
    logVkey = (await run(['key'], { cwd: dir })).stdout.trim();
    for (const i of [1, 2]) {
      const w = await run(['witness', 'init', '--name', `witness.test/w${i}`, '--key', `w${i}.key`], {
        cwd: dir,
      });
      assert.equal(w.code, 0, w.stderr);
      vkeys.push(w.stdout.trim());
    }
    writeFileSync(join(dir, 'logs.policy'), `# the logs these witnesses check\nlog ${logVkey}\n`);
    for (const i of [1, 2]) {
      const w = await startWitness(i);
      witnesses.push(w);
      ports.push(Number(new URL(w.url).port));
    }
    writeFileSync(
      join(dir, 'serve.policy'),
      [
        `witness w1 ${vkeys[0]} ${witnesses[0]!.url}`,
        `witness w2 ${vkeys[1]} ${witnesses[1]!.url}`,
        'group both all w1 w2',
        'quorum both',
        '',
      ].join('\n'),
    );
    const k = await run(['keys', 'create', '--log', 'default', '--scope', 'ingest', '--json'], { cwd: dir });
    assert.equal(k.code, 0, k.stderr);
    apiKey = JSON.parse(k.stdout).key;
  });

  after(async () => {
    if (serve) await serve.stop();
    for (const w of witnesses) await w.stop();
    removeTempDirs();
  });

  let forkBase: number;

  it('reaches the 2-of-2 quorum: the checkpoint is served with both cosignatures, and verify passes', async () => {
    serve = await startServe();
    await append(serve.url, 5, 0);
    const size = await bothAt(serve.url, 5);
    const r = await fetch(`${serve.url}/v1/logs/default/checkpoint?size=${size}`);
    assert.equal(r.status, 200);
    assert.equal(r.headers.get('evident-witness-quorum'), 'met');
    const note = await r.text();
    assert.equal(note.match(/^\u2014 witness\.test\/w[12] /gm)?.length, 2, note);
    // Snapshot for the fork below: this database, stopped cleanly at a witnessed size.
    await serve.stop();
    serve = undefined;
    forkBase = size;
    copyFileSync(join(dir, 'evident.db'), join(dir, 'fork.db'));
    const v = await verify(['--witness', vkeys[0]!, '--witness', vkeys[1]!, '--witness-quorum', '2']);
    assert.equal(v.code, 0, v.stderr);
    // The export bundle carries the cosignatures: verify-bundle checks the quorum offline.
    const e = await run(['export', '--out', 'a.bundle'], { cwd: dir });
    assert.equal(e.code, 0, e.stderr);
    const b = await run(
      [
        'verify-bundle',
        'a.bundle',
        '--vkey',
        logVkey,
        '--witness',
        vkeys[0]!,
        '--witness',
        vkeys[1]!,
        '--json',
      ],
      {
        cwd: dir,
      },
    );
    assert.equal(b.code, 0, b.stderr);
  });

  it('SIGKILL of a witness mid-round: no state lost, never a cosignature the witness did not record, quorum again', async () => {
    serve = await startServe();
    const before = await bothAt(serve.url, forkBase);
    await append(serve.url, 7, 100);
    // Kill w1 while the round for the new checkpoint is under way (or about to be).
    await new Promise((r) => setTimeout(r, 60));
    await witnesses[0]!.stop('SIGKILL');
    const state = new Database(join(dir, 'w1.db'), { readonly: true });
    const witnessSize = state
      .prepare("SELECT MAX(size) AS s FROM witness_checkpoints WHERE origin = 'audit.test/default'")
      .get() as { s: number };
    state.close();
    const log = new Database(join(dir, 'evident.db'), { readonly: true });
    const logSide = log
      .prepare("SELECT MAX(size) AS s FROM checkpoint_cosignatures WHERE name = 'witness.test/w1'")
      .get() as { s: number };
    log.close();
    assert.ok(witnessSize.s >= before, 'the witness kept every size it cosigned');
    assert.ok(logSide.s <= witnessSize.s, 'the log holds no cosignature the witness had not recorded first');
    // The round may have ended before the kill, with w1's cosignature: a new checkpoint makes the
    // next round ask w1 again, so that it is found down.
    await append(serve.url, 1, 150);
    const down = await until('w1 down in /readyz', async () => {
      const r = await readyz(serve!.url);
      const w1 = r.witnesses.find((w) => w.name === 'w1')!;
      return w1.up ? undefined : w1;
    });
    assert.match(down.last_error ?? '', /^unreachable/);
    const metrics = await (await fetch(`${serve.url}/metrics`)).text();
    assert.match(metrics, /evident_witness_up\{witness="w1"\} 0/);
    const killed = witnesses[0]!;
    witnesses[0] = await startWitness(1, ports[0]);
    const size = await bothAt(serve.url, before + 7);
    const r = await fetch(`${serve.url}/v1/logs/default/checkpoint?size=${size}`);
    assert.equal(r.headers.get('evident-witness-quorum'), 'met');
    await r.text();
    // Each size is recorded once (primary key), and in time order the sizes only grow: no rollback.
    const rows = new Database(join(dir, 'w1.db'), { readonly: true });
    const sizes = (
      rows.prepare('SELECT size FROM witness_checkpoints ORDER BY cosigned_at, size').all() as {
        size: number;
      }[]
    ).map((x) => x.size);
    rows.close();
    // Every state move the witness answered 200 to, across both lives: never two from one old size.
    const moves = (killed.output() + witnesses[0]!.output())
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as { status?: number; old?: number; size?: number })
      .filter((l) => l.status === 200 && l.old! < l.size!)
      .map((l) => l.old);
    assert.ok(moves.length >= 2, JSON.stringify(moves));
    assert.equal(new Set(moves).size, moves.length, `no old size moved twice: ${JSON.stringify(moves)}`);
    assert.deepEqual(
      sizes,
      [...sizes].sort((a, b) => a - b),
    );
  });

  it('with w2 away: 1-of-2 passes, 2-of-2 fails with WITNESS_QUORUM_UNMET (exit 1); the checkpoint says unmet', async () => {
    await witnesses[1]!.stop();
    // The witness_failure alert (one per window of an hour, whichever witness failed first: w1,
    // killed in the test before, or w2) is an entry of the log, raised by the server when its
    // alert runner next passes: wait for it, or it could land after the events below and leave
    // the last checkpoint without w1's cosignature.
    await until('the witness_failure alert', async () => {
      const db = new Database(join(dir, 'evident.db'), { readonly: true });
      try {
        const alerts = db
          .prepare("SELECT metadata FROM entries WHERE action = 'evident.alert'")
          .pluck()
          .all() as string[];
        return alerts.some((m) => JSON.parse(m).rule === 'witness_failure') ? true : undefined;
      } finally {
        db.close();
      }
    });
    // Wait for w1 to cosign the whole tree: a checkpoint of a part of it would leave a later one,
    // signed before or at shutdown, without w1's cosignature.
    const treeSize = await append(serve!.url, 3, 200);
    const size = await until('w1 alone at the tree size', async () => {
      const r = await readyz(serve!.url);
      const s = r.witnesses[0]!.cosigned_size!;
      return s >= treeSize ? s : undefined;
    });
    const r = await fetch(`${serve!.url}/v1/logs/default/checkpoint?size=${size}`);
    assert.equal(r.headers.get('evident-witness-quorum'), 'unmet');
    assert.equal(r.headers.get('evident-witness-cosigned'), 'w1');
    await r.text();
    await serve!.stop();
    serve = undefined;
    const one = await verify(['--witness', vkeys[0]!, '--witness', vkeys[1]!, '--witness-quorum', '1']);
    assert.equal(one.code, 0, one.stderr);
    const two = await verify(['--witness', vkeys[0]!, '--witness', vkeys[1]!, '--witness-quorum', '2']);
    assert.equal(two.code, 1, two.stderr);
    assert.equal(errorOf(two).code, 'WITNESS_QUORUM_UNMET');
    assert.deepEqual(errorOf(two)['missing'], ['witness.test/w2']);
    const e = await run(['export', '--out', 'b.bundle'], { cwd: dir });
    assert.equal(e.code, 0, e.stderr);
    const bundle = (k: string) =>
      run(
        [
          'verify-bundle',
          'b.bundle',
          '--vkey',
          logVkey,
          '--witness',
          vkeys[0]!,
          '--witness',
          vkeys[1]!,
          '--witness-quorum',
          k,
          '--json',
        ],
        {
          cwd: dir,
        },
      );
    assert.equal((await bundle('1')).code, 0);
    const b2 = await bundle('2');
    assert.equal(b2.code, 1, b2.stderr);
    assert.equal(errorOf(b2).code, 'WITNESS_QUORUM_UNMET');
    // Flags are checked: a quorum beyond the keys given is a usage error, and a log key is no witness key.
    const bad = await verify(['--witness', vkeys[0]!, '--witness-quorum', '2']);
    assert.deepEqual([bad.code, errorOf(bad).code], [2, 'USAGE']);
    const notCosigner = await verify(['--witness', logVkey]);
    assert.deepEqual([notCosigner.code, errorOf(notCosigner).code], [2, 'KEY_INVALID']);
    witnesses[1] = await startWitness(2, ports[1]);
  });

  it('a forked history (a copy with another tail, re-signed with the same key) is refused by both witnesses', async () => {
    // Bring w2 back to the latest size first, so both witnesses hold the same size S.
    serve = await startServe();
    const s = await bothAt(serve.url, forkBase + 10);
    await serve.stop();
    serve = undefined;
    // The fork: the snapshot at forkBase, grown to S with other events and re-signed.
    const lines = Array.from({ length: s - forkBase }, (_, i) => JSON.stringify(event(i, 'forged'))).join(
      '\n',
    );
    const a = await run(['append', '--db', 'fork.db', '--key', 'evident.key'], {
      cwd: dir,
      input: `${lines}\n`,
    });
    assert.equal(a.code, 0, a.stderr);
    const fork = await startServe('fork.db');
    try {
      const refused = await until('both witnesses refuse the fork', async () => {
        const r = await readyz(fork.url);
        return r.witnesses.every((w) => /^conflict/.test(w.last_error ?? '')) ? r : undefined;
      });
      assert.equal(refused.witnesses.length, 2);
      const cp = await fetch(`${fork.url}/v1/logs/default/checkpoint`);
      assert.equal(cp.headers.get('evident-witness-quorum'), 'unmet');
      await cp.text();
    } finally {
      await fork.stop();
    }
    const v = await verify(
      ['--witness', vkeys[0]!, '--witness', vkeys[1]!, '--witness-quorum', '2'],
      'fork.db',
    );
    assert.equal(v.code, 1, v.stderr);
    assert.equal(errorOf(v).code, 'WITNESS_QUORUM_UNMET');
    // The witnesses' state did not move to the fork.
    for (const i of [1, 2]) {
      const db = new Database(join(dir, `w${i}.db`), { readonly: true });
      const max = db.prepare('SELECT MAX(size) AS m FROM witness_checkpoints').get() as { m: number };
      db.close();
      assert.equal(max.m, s);
    }
  });
});
