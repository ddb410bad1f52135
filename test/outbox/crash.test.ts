/**
 * Relays killed with SIGKILL, as real processes: between the append to the log and the delete
 * from the outbox, and at random moments while an application writes. After a restart every
 * committed event is in the log exactly once, in commit order, and `evident verify` passes.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { recordInTransaction } from '../../src/outbox/record.ts';
import { ensureBuilt } from '../cli/helpers.ts';
import { verifyLog } from '../server/cluster.ts';
import { withPostgres } from '../store/pg-support.ts';
import {
  type AppDb,
  appDb,
  type LedgerKind,
  type LedgerSide,
  ledgerSide,
  patientEvent,
  updatePatient,
} from './support.ts';

const CHILD = fileURLToPath(new URL('./fixtures/relay-child.ts', import.meta.url));
const children = new Set<ChildProcess>();

interface Child {
  child: ChildProcess;
  lines: () => Record<string, unknown>[];
  exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Resolves once a stdout line satisfies `pred`. */
  seen(pred: (line: string) => boolean): Promise<void>;
  output(): string;
}

function spawnChild(args: readonly string[]): Child {
  const child = spawn(process.execPath, ['--import', 'tsx', CHILD, ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.add(child);
  let out = '';
  const waiters: { pred: (l: string) => boolean; resolve: () => void }[] = [];
  child.stdout!.setEncoding('utf8');
  child.stderr!.setEncoding('utf8');
  child.stderr!.on('data', (d: string) => {
    out += d;
  });
  child.stdout!.on('data', (d: string) => {
    out += d;
    for (const w of [...waiters]) {
      if (out.split('\n').some(w.pred)) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve();
      }
    }
  });
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on('close', (code, signal) => {
      children.delete(child);
      resolve({ code, signal });
    }),
  );
  return {
    child,
    exit,
    output: () => out,
    lines: () =>
      out
        .split('\n')
        .filter((l) => l.startsWith('{'))
        .map((l) => JSON.parse(l) as Record<string, unknown>),
    seen: (pred) =>
      new Promise<void>((resolve, reject) => {
        if (out.split('\n').some(pred)) return resolve();
        waiters.push({ pred, resolve });
        void exit.then(() => reject(new Error(`the relay exited:\n${out}`)));
      }),
  };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until(what: string, cond: () => Promise<boolean>, ms = 30_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) assert.fail(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

await withPostgres('outbox relay crashes', () => {
  after(() => {
    for (const c of children) c.kill('SIGKILL');
  });
  for (const kind of ['sqlite', 'postgres'] as const) suite(kind);
  test('evident relay refuses a missing or non-PostgreSQL --outbox, and bad numbers, with USAGE (exit 2)', async () => {
    for (const args of [
      [],
      ['--outbox', 'mysql://x/y'],
      ['--outbox', 'postgres://x/y', '--batch-size', '0'],
    ]) {
      const c = spawnChild(['cli', ...args, '--db', '/nonexistent/audit.db']);
      const exit = await c.exit;
      assert.equal(exit.code, 2, c.output());
      const err = JSON.parse(c.output().trim().split('\n').pop()!);
      assert.equal(err.code, 'USAGE');
    }
  });
});

function suite(kind: LedgerKind): void {
  describe(`relay crashes, ledger on ${kind}`, () => {
    let app: AppDb;
    let side: LedgerSide;
    const ids = async () => (await side.entries('default')).map((e) => e['id'] as string);
    const cliArgs = () => [
      'cli',
      '--outbox',
      app.url,
      '--db',
      side.db,
      '--key',
      side.keyPath,
      '--poll-ms',
      '200',
    ];

    before(async () => {
      ensureBuilt();
      app = await appDb();
      side = await ledgerSide(kind);
    });
    after(async () => {
      await side.close();
      await app.close();
    });

    test('killed between the append and the delete: restarted, each event is in the log once', async () => {
      const queued: string[] = [];
      const client = await app.pool.connect();
      try {
        await client.query('BEGIN');
        for (let i = 0; i < 300; i++) {
          queued.push(
            (await recordInTransaction(client, patientEvent(i), { log: 'default', schema: app.schema })).id,
          );
        }
        await client.query('COMMIT');
      } finally {
        client.release();
      }
      const crashing = spawnChild(['crash', app.url, side.db, side.keyPath, '50', '3']);
      const died = await crashing.exit;
      assert.equal(died.signal, 'SIGKILL', crashing.output());
      // two passes committed; the third appended its 50 events and died before deleting them
      assert.equal((await ids()).length, 150);
      assert.equal(await app.outboxCount(), 200);

      const relay = spawnChild(cliArgs());
      await relay.seen((l) => l.includes('"relay started"'));
      await until('the outbox to empty', async () => (await app.outboxCount()) === 0);
      relay.child.kill('SIGTERM');
      const exit = await relay.exit;
      assert.equal(exit.code, 0, relay.output());
      const last = relay.lines().find((l) => l['msg'] === 'exiting')!;
      assert.equal(last['moved'], 200);
      assert.equal(last['duplicates'], 50, 'the 50 appended before the kill came back as duplicates');
      assert.deepEqual(await ids(), queued);
    });

    test('SIGKILLed at random moments while the application writes: every committed event exactly once', async (t) => {
      const before = await ids();
      const produced: string[] = [];
      let producing = true;
      const producer = (async () => {
        for (let i = 0; i < 300; i++) {
          const id = await updatePatient(app, 10_000 + i, { fail: i % 10 === 9 });
          if (id) produced.push(id);
          await sleep(5);
        }
        producing = false;
      })();
      let kills = 0;
      while (producing || kills < 3) {
        const relay = spawnChild(cliArgs());
        await relay.seen((l) => l.includes('"relay started"'));
        await sleep(100 + Math.floor(Math.random() * 300));
        relay.child.kill('SIGKILL');
        await relay.exit;
        kills++;
      }
      await producer;
      const relay = spawnChild(cliArgs());
      await relay.seen((l) => l.includes('"relay started"'));
      await until('the outbox to empty', async () => (await app.outboxCount()) === 0);
      relay.child.kill('SIGTERM');
      const exit = await relay.exit;
      assert.equal(exit.code, 0, `${exit.signal}: ${relay.output()}`);
      t.diagnostic(`relay SIGKILLed ${kills} times while 300 transactions ran`);
      assert.equal(produced.length, 270);
      assert.deepEqual(await ids(), [...before, ...produced]);
      const v = await verifyLog(side.dir, side.db, side.keyPath, 'default');
      assert.equal(v.code, 0, v.out);
      assert.equal(v.report?.ok, true);
    });
  });
}
