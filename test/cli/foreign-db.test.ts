/**
 * `init`, `serve` and `keys create` never write evident's tables into another
 * application's database, and only `init` creates a store. Real SQLite files, real PostgreSQL
 * schemas, the built bin.
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import Database from 'better-sqlite3';
import { withSchema } from '../server/cluster.ts';
import { admin, dropSchema, PG_URL, randomName, withPostgres } from '../store/pg-support.ts';
import { ensureBuilt, errorOf, removeTempDirs, run, tempDir } from './helpers.ts';

before(ensureBuilt);
after(removeTempDirs);

function tables(path: string): string[] {
  const db = new Database(path, { readonly: true });
  try {
    return (
      db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").all() as {
        name: string;
      }[]
    ).map((r) => r.name);
  } finally {
    db.close();
  }
}

/** An application's own database: one table with a row. */
function appDatabase(dir: string): string {
  const path = join(dir, 'app.db');
  const db = new Database(path);
  db.exec(
    "CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT); INSERT INTO users (email) VALUES ('a@example.com')",
  );
  db.close();
  return path;
}

describe('SQLite: a file that is not an evident store', () => {
  test('init refuses an application database (STORE_FOREIGN, exit 2) and writes nothing to it', async () => {
    const dir = tempDir();
    const db = appDatabase(dir);
    const r = await run(['init', '--db', db, '--origin', 'audit.test/default', '--json'], { cwd: dir });
    assert.equal(r.code, 2, r.stderr);
    assert.equal(errorOf(r).code, 'STORE_FOREIGN');
    assert.deepEqual(errorOf(r)['tables'], ['users']);
    assert.deepEqual(tables(db), ['users']);
  });

  test('init --allow-foreign adds evident beside the application tables', async () => {
    const dir = tempDir();
    const db = appDatabase(dir);
    const r = await run(['init', '--db', db, '--origin', 'audit.test/default', '--allow-foreign', '--json'], {
      cwd: dir,
    });
    assert.equal(r.code, 0, r.stderr);
    assert.ok(tables(db).includes('users') && tables(db).includes('entries'));
    // once evident's store is there, the file is evident's: other commands open it
    const k = await run(['keys', 'create', '--db', db, '--log', 'default', '--scope', 'ingest', '--json'], {
      cwd: dir,
    });
    assert.equal(k.code, 0, k.stderr);
  });

  test('keys create and serve refuse an application database (STORE_FOREIGN) and write nothing', async () => {
    const dir = tempDir();
    const db = appDatabase(dir);
    const k = await run(['keys', 'create', '--db', db, '--log', '*', '--scope', 'admin', '--json'], {
      cwd: dir,
    });
    assert.equal(k.code, 2, k.stderr);
    assert.equal(errorOf(k).code, 'STORE_FOREIGN');
    await run(['init', '--db', join(dir, 'other.db'), '--origin', 'audit.test/x', '--json'], { cwd: dir });
    const s = await run(['serve', '--db', db, '--port', '0', '--json'], { cwd: dir });
    assert.equal(s.code, 2, s.stderr);
    assert.equal(errorOf(s).code, 'STORE_FOREIGN');
    assert.deepEqual(tables(db), ['users']);
  });

  test('serve and keys create on an empty file say run init (STORE_NOT_INITIALIZED) and create nothing', async () => {
    const dir = tempDir();
    const db = join(dir, 'empty.db');
    writeFileSync(db, '');
    await run(['init', '--db', join(dir, 'other.db'), '--origin', 'audit.test/x', '--json'], { cwd: dir });
    const s = await run(['serve', '--db', db, '--port', '0', '--json'], { cwd: dir });
    assert.equal(s.code, 2, s.stderr);
    assert.equal(errorOf(s).code, 'STORE_NOT_INITIALIZED');
    const k = await run(['keys', 'create', '--db', db, '--log', '*', '--scope', 'admin', '--json'], {
      cwd: dir,
    });
    assert.equal(errorOf(k).code, 'STORE_NOT_INITIALIZED');
    const a = await run(['append', '--db', db, '--json'], { cwd: dir, input: '' });
    assert.equal(errorOf(a).code, 'STORE_NOT_INITIALIZED');
    assert.deepEqual(tables(db), []);
  });

  test('the first command of the README still works: init, append, verify in a new folder', async () => {
    const dir = tempDir();
    assert.equal((await run(['init', '--origin', 'audit.test/default'], { cwd: dir })).code, 0);
    const event = {
      actor_id: 'u1',
      actor_type: 'user',
      action: 'read',
      resource_type: 'doc',
      resource_id: 'd1',
      result: 'success',
      ip_address: '192.0.2.1',
    };
    const a = await run(['append'], { cwd: dir, input: JSON.stringify(event) });
    assert.equal(a.code, 0, a.stderr);
    const v = await run(['verify'], { cwd: dir });
    assert.equal(v.code, 0, v.stderr);
  });
});

describe('PostgreSQL: a schema that is not an evident store', () =>
  withPostgres('PostgreSQL foreign-schema tests', () => {
    const relations = (schema: string) =>
      admin(async (c) =>
        (
          await c.query<{ relname: string }>(
            'SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = $1 ORDER BY 1',
            [schema],
          )
        ).rows.map((r) => r.relname),
      );
    const schemaExists = async (schema: string) =>
      admin(
        async (c) =>
          (await c.query('SELECT 1 FROM pg_namespace WHERE nspname = $1', [schema])).rowCount === 1,
      );

    test('init refuses a schema holding an application table (STORE_FOREIGN); --allow-foreign adds evident', async () => {
      const schema = randomName('app_');
      await admin((c) => c.query(`CREATE SCHEMA "${schema}"; CREATE TABLE "${schema}".orders (id int)`));
      try {
        const dir = tempDir();
        const url = withSchema(PG_URL, schema);
        const r = await run(['init', '--db', url, '--origin', 'audit.test/default', '--json'], { cwd: dir });
        assert.equal(r.code, 2, r.stderr);
        assert.equal(errorOf(r).code, 'STORE_FOREIGN');
        assert.deepEqual(await relations(schema), ['orders']);
        const ok = await run(
          ['init', '--db', url, '--origin', 'audit.test/default', '--allow-foreign', '--json'],
          {
            cwd: dir,
          },
        );
        assert.equal(ok.code, 0, ok.stderr);
        assert.ok((await relations(schema)).includes('entries'));
      } finally {
        await dropSchema(schema);
      }
    });

    test('serve and keys create where init never ran: STORE_NOT_INITIALIZED, and no schema is created', async () => {
      const schema = randomName('none_');
      const dir = tempDir();
      const url = withSchema(PG_URL, schema);
      await run(['init', '--db', join(dir, 'other.db'), '--origin', 'audit.test/x', '--json'], { cwd: dir });
      try {
        const s = await run(['serve', '--db', url, '--port', '0', '--json'], { cwd: dir });
        assert.equal(s.code, 2, s.stderr);
        assert.equal(errorOf(s).code, 'STORE_NOT_INITIALIZED');
        const k = await run(['keys', 'create', '--db', url, '--log', '*', '--scope', 'admin', '--json'], {
          cwd: dir,
        });
        assert.equal(errorOf(k).code, 'STORE_NOT_INITIALIZED');
        const q = await run(['query', '--db', url, '--json'], { cwd: dir });
        assert.equal(errorOf(q).code, 'STORE_NOT_INITIALIZED');
        assert.equal(await schemaExists(schema), false);
      } finally {
        await dropSchema(schema);
      }
    });

    test('serve refuses a foreign schema (STORE_FOREIGN) and adds nothing to it', async () => {
      const schema = randomName('app_');
      await admin((c) => c.query(`CREATE SCHEMA "${schema}"; CREATE TABLE "${schema}".orders (id int)`));
      const dir = tempDir();
      await run(['init', '--db', join(dir, 'other.db'), '--origin', 'audit.test/x', '--json'], { cwd: dir });
      try {
        const s = await run(['serve', '--db', withSchema(PG_URL, schema), '--port', '0', '--json'], {
          cwd: dir,
        });
        assert.equal(s.code, 2, s.stderr);
        assert.equal(errorOf(s).code, 'STORE_FOREIGN');
        assert.deepEqual(await relations(schema), ['orders']);
      } finally {
        await dropSchema(schema);
      }
    });
  }));
