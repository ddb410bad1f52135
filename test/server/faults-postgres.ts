/**
 * PostgreSQL, three processes on a schema of their own each time:
 *
 * - one is SIGKILLed mid-ingest; the others take its clients.
 * - through a proxy (pg-proxy.ts): every connection cut, then the next 30 new ones ended by the
 *   "server" (FATAL 57P01) in the very packet that completes their startup, the moment
 *   pg_terminate_backend hits only by chance: 503, never a crash, then recovery.
 * - the service's connections terminated again and again for a few seconds
 *   (pg_terminate_backend, also mid-COMMIT): 503 with Retry-After, never 500, then recovery.
 */
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import pg from 'pg';
import { dropSchema, PG_URL, randomName, withPostgres } from '../store/pg-support.ts';
import { withSchema } from './cluster.ts';
import {
  assertAlive,
  delays,
  finish,
  firstAcks,
  loadUntil,
  sleep,
  startCluster,
  suiteHooks,
  tally,
} from './faults-support.ts';
import { secs } from './load.ts';
import { type PgProxy, startPgProxy } from './pg-proxy.ts';

/** Registers the suite, or the one test that says PostgreSQL is not reachable. */
export async function postgresFaults(): Promise<void> {
  await withPostgres('faults: evident serve on PostgreSQL', postgresSuite);
}

function postgresSuite(): void {
  describe('faults: evident serve on PostgreSQL', () => {
    const schemas: string[] = [];
    const suite = suiteHooks(async () => {
      for (const s of schemas) await dropSchema(s);
    });

    /** A fresh schema and folder, and three processes on it (through `proxy`, if given). */
    const cluster = async (name: string, params: Record<string, string> = {}, proxy?: PgProxy) => {
      const schema = randomName(`evident_${name}_`);
      schemas.push(schema);
      const db = withSchema(PG_URL, schema, params);
      const sub = join(suite.dir, name);
      mkdirSync(sub);
      return startCluster(sub, db, `${name}.test`, proxy ? proxy.via(db) : db);
    };

    test('one of three processes SIGKILLed mid-ingest: the others take its clients, nothing is lost or doubled', {
      timeout: 300_000,
    }, async (t) => {
      const c = await cluster('kill');
      const urls = c.servers.map((s) => s.url);
      const { load, running } = await loadUntil(t, { urls, key: c.ingestKey, seed: 11 }, 0.3);
      const victim = c.servers[1]!;
      const killedAt = Date.now() - load.started;
      let deadAt = Number.POSITIVE_INFINITY;
      void victim.exit.then(() => {
        deadAt = Date.now() - load.started;
      });
      victim.child.kill('SIGKILL');
      await running;

      const atVictim = load.answers.filter((a) => a.server === 1 && a.t >= killedAt);
      t.diagnostic(
        `serve-1 SIGKILLed at ${secs(killedAt)}; answers from its address afterwards: ${JSON.stringify(tally(atVictim))}`,
      );
      assert.equal((await victim.exit).signal, 'SIGKILL');
      // Judged by when a request was sent, not when its answer was read: on a loaded machine an
      // answer sent just before the kill can be read well after it.
      const sentToTheDead = atVictim.filter((a) => a.sent > deadAt);
      assert.ok(
        sentToTheDead.length > 0 && sentToTheDead.every((a) => a.status === 0),
        `after the kill its address only refuses: ${JSON.stringify(tally(sentToTheDead))}`,
      );
      assert.ok(
        load.answers.some((a) => a.t > killedAt && a.status === 201 && a.server !== 1),
        'the survivors went on',
      );
      await finish(t, c, load, [c.servers[0]!, c.servers[2]!]);
    });

    test('connections cut, and new ones ended by the server right after startup: 503, never a crash', {
      timeout: 300_000,
    }, async (t) => {
      const proxy = await startPgProxy(PG_URL);
      try {
        const c = await cluster('cut', {}, proxy);
        const urls = c.servers.map((s) => s.url);
        const { load, running } = await loadUntil(t, { urls, key: c.ingestKey, seed: 19 }, 0.3);
        // Every pooled connection is cut; the next 30 connections the processes open are ended
        // (FATAL 57P01) in the same packet that completes their startup.
        const cutAt = Date.now() - load.started;
        proxy.killAtStartup(30);
        proxy.cutAll();
        const until = Date.now() + 10_000;
        while (proxy.stats.killedAtStartup < 30 && Date.now() < until && load.elapsedMs === 0)
          await sleep(20);
        const doneAt = Date.now() - load.started;
        await sleep(300);
        await assertAlive(c.servers);
        await running;

        const during = load.answers.filter((a) => a.t >= cutAt && a.t <= doneAt + 1000);
        const recovered = firstAcks(load, c.servers, doneAt);
        t.diagnostic(
          `cut ${proxy.stats.cut} connections at ${secs(cutAt)}; ${proxy.stats.killedAtStartup} new ones ended at startup by ${secs(doneAt)}; ` +
            `answers meanwhile (+1 s): ${JSON.stringify(tally(during))}`,
        );
        t.diagnostic(`first 201 afterwards, per process: ${delays(recovered, doneAt)}`);
        assert.equal(
          proxy.stats.killedAtStartup,
          30,
          'the processes reconnected (and were refused) 30 times',
        );
        assert.ok(
          recovered.every((a) => a !== undefined),
          'every process recovered by itself',
        );
        await finish(t, c, load, c.servers);
      } finally {
        await proxy.close();
      }
    });

    test("the service's connections terminated repeatedly mid-ingest: 503 with Retry-After, never 500, then recovery", {
      timeout: 300_000,
    }, async (t) => {
      const app = randomName('evident_storm_');
      const c = await cluster('storm', { application_name: app });
      const urls = c.servers.map((s) => s.url);
      const { load, running } = await loadUntil(t, { urls, key: c.ingestKey, seed: 13 }, 0.3);

      // For 3 s, every 50 ms: end every connection of these three processes (and only theirs).
      const killer = new pg.Client({ connectionString: PG_URL });
      await killer.connect();
      let terminated = 0;
      let rounds = 0;
      const stormFrom = Date.now() - load.started;
      try {
        while (Date.now() - load.started < stormFrom + 3000) {
          const { rows } = await killer.query<{ ok: boolean }>(
            `SELECT pg_terminate_backend(pid) AS ok FROM pg_stat_activity
              WHERE datname = current_database() AND pid <> pg_backend_pid() AND application_name = $1`,
            [app],
          );
          terminated += rows.filter((r) => r.ok).length;
          rounds++;
          await sleep(50);
        }
      } finally {
        await killer.end();
      }
      const stormTo = Date.now() - load.started;
      await running;

      const during = load.answers.filter((a) => a.t >= stormFrom && a.t <= stormTo + 1000);
      const recovered = firstAcks(load, c.servers, stormTo);
      t.diagnostic(
        `storm ${secs(stormFrom)}..${secs(stormTo)}: ${rounds} rounds, ${terminated} backends terminated; ` +
          `answers meanwhile (+1 s): ${JSON.stringify(tally(during))}`,
      );
      t.diagnostic(`first 201 after the storm, per process: ${delays(recovered, stormTo)}`);
      assert.ok(terminated > 0, 'connections were terminated');
      await assertAlive(c.servers);
      assert.ok(
        during.some((a) => a.status === 503),
        'the storm was answered with pushback',
      );
      assert.ok(
        recovered.every((a) => a !== undefined),
        'every process recovered by itself',
      );
      await finish(t, c, load, c.servers);
    });
  });
}
