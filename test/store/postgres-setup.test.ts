/**
 * Every role set-up docs/postgres.md offers works step by step as written.
 * The SQL is read from the page itself (each block after its `<!-- setup: NAME -->` comment),
 * and so are the shell steps (the `sh` blocks after `setup: init` and `setup: service`), so the
 * page and this test cannot drift apart. Role and schema names are made random (parallel runs
 * share one server); the database is the test server's; passwords are dropped (trust auth).
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { serviceRoleGrants } from '../../src/store/postgres/roles.ts';
import { ensureBuilt, ROOT, removeTempDirs, run, tempDir } from '../cli/helpers.ts';
import { startServe, stopServe } from '../server/cluster.ts';
import { admin, PG_URL, postgresUnreachable, probePostgres, randomName } from './pg-support.ts';

const DOC = readFileSync(join(ROOT, 'docs', 'postgres.md'), 'utf8');

/** The fenced block (of `lang`) right after `<!-- setup: name -->`. */
function block(name: string, lang: 'sql' | 'sh'): string {
  const m = new RegExp(`<!-- setup: ${name} -->\\n\`\`\`${lang}\\n([\\s\\S]*?)\`\`\``).exec(DOC);
  assert.ok(m, `docs/postgres.md has no ${lang} block after <!-- setup: ${name} -->`);
  return m[1]!;
}

interface Names {
  owner: string;
  service: string;
  schema: string;
}

const TEST_DB = new URL(PG_URL).pathname.slice(1);

/** The page's names, made this run's: roles, schema, and the database `audit`. */
function rename(text: string, n: Names): string {
  return text
    .replace(/\bevident_owner\b/g, n.owner)
    .replace(/\bevident_service\b/g, n.service)
    .replace(/(SCHEMA |")evident\b/g, `$1${n.schema}`)
    .replace(/\bDATABASE audit\b/g, `DATABASE "${TEST_DB}"`);
}

/** A URL of the page (`postgres://ROLE:PASSWORD@db.example/audit`), pointed at the test server. */
function localUrl(docUrl: string, n: Names): string {
  const doc = new URL(docUrl);
  assert.equal(doc.pathname, '/audit');
  const u = new URL(PG_URL);
  u.username = rename(doc.username, n);
  u.password = '';
  u.searchParams.set('schema', n.schema);
  return u.toString();
}

/** Runs the shell lines of a block: `[export] EVIDENT_DB=URL [evident ARGS]` or `evident ARGS`. */
async function shell(text: string, n: Names, dir: string, env: Record<string, string>): Promise<void> {
  for (const line of text.split('\n').filter((l) => l.trim() !== '')) {
    const m = /^(?:export )?(?:EVIDENT_DB=(\S+)\s*)?(?:evident (.*))?$/.exec(line.trim());
    assert.ok(m, `a shell step this test cannot run: ${line}`);
    if (m[1]) env['EVIDENT_DB'] = localUrl(m[1], n);
    if (!m[2]) continue;
    const args = m[2].split(/\s+/);
    if (args[0] === 'serve') {
      // started, shown to listen (it opened the store as this role), and stopped
      const served = await startServe({
        name: 'serve',
        cwd: dir,
        db: env['EVIDENT_DB']!,
        key: join(dir, 'evident.key'),
      });
      const ready = await fetch(`${served.url}/readyz`);
      assert.equal(ready.status, 200, `serve as ${n.service}: ${await ready.text()}`);
      const exit = await stopServe(served);
      assert.equal(exit.code, 0, served.tail());
      continue;
    }
    const r = await run([...args, '--json'], { cwd: dir, env });
    assert.equal(r.code, 0, `evident ${args.join(' ')}: ${r.stderr}`);
  }
}

before(ensureBuilt);
after(removeTempDirs);

describe('docs/postgres.md: role set-ups, step by step', async () => {
  test('the grants block is what serviceRoleGrants returns', () => {
    const doc = block('grants', 'sql').trim().split('\n');
    assert.deepEqual(
      doc,
      serviceRoleGrants('evident', 'evident_service').map((s) => `${s};`),
    );
  });

  const why = await probePostgres();
  if (why) return postgresUnreachable('docs/postgres.md set-ups', why);

  for (const way of ['schema-by-admin', 'create-on-database']) {
    test(`set-up "${way}": administrator, init as the owner, grants, keys and serve as the service role`, async () => {
      const n: Names = { owner: randomName('own_'), service: randomName('svc_'), schema: randomName('ev_') };
      const dir = tempDir();
      try {
        // 1. as a database administrator
        await admin((c) => c.query(rename(block(way, 'sql'), n)));
        // 2. as the owner
        await shell(block('init', 'sh'), n, dir, {});
        // 3. as the owner, with psql: the grants
        await admin(async (c) => {
          await c.query(`SET ROLE ${n.owner}`);
          await c.query(rename(block('grants', 'sql'), n));
        });
        // 4. as the service role
        await shell(block('service', 'sh'), n, dir, {});
        // the service role appends; what it wrote verifies (read as the owner)
        const env = { EVIDENT_DB: localUrl(`postgres://evident_service@db.example/audit`, n) };
        const event = {
          actor_id: 'u1',
          actor_type: 'user',
          action: 'read',
          resource_type: 'doc',
          resource_id: 'd1',
          result: 'success',
          ip_address: '192.0.2.1',
        };
        const a = await run(['append', '--log', 'prod', '--json'], {
          cwd: dir,
          env,
          input: JSON.stringify(event),
        });
        assert.equal(a.code, 0, a.stderr);
        const v = await run(['verify', '--log', 'prod', '--json'], {
          cwd: dir,
          env: { EVIDENT_DB: localUrl(`postgres://evident_owner@db.example/audit`, n) },
        });
        assert.equal(v.code, 0, v.stderr);
      } finally {
        await admin(async (c) => {
          await c.query(`DROP SCHEMA IF EXISTS "${n.schema}" CASCADE`);
          await c.query(`REVOKE ALL ON DATABASE "${TEST_DB}" FROM ${n.owner}`).catch(() => undefined);
          for (const r of [n.owner, n.service]) {
            await c.query(`DROP OWNED BY ${r}`).catch(() => undefined);
            await c.query(`DROP ROLE IF EXISTS ${r}`);
          }
        });
      }
    });
  }
});
