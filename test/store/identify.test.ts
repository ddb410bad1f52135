/**
 * In the library: opening a store never writes evident's tables into another
 * application's SQLite file unless asked (allowForeign), and `create: false` never makes one.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import Database from 'better-sqlite3';
import { isEvidentError } from '../../src/core/errors.ts';
import { openLedger } from '../../src/ledger/open.ts';
import { openSqliteStore } from '../../src/store/sqlite/store.ts';

const dir = mkdtempSync(join(tmpdir(), 'evident-identify-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function appDb(name: string): string {
  const path = join(dir, name);
  const db = new Database(path);
  db.exec('CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT); CREATE TABLE orders (id INTEGER)');
  db.exec("INSERT INTO meta VALUES ('schema_version', '7')"); // an application's own meta table
  db.close();
  return path;
}

const tables = (path: string) => {
  const db = new Database(path, { readonly: true });
  const t = (
    db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").all() as {
      name: string;
    }[]
  ).map((r) => r.name);
  db.close();
  return t;
};

describe('opening a SQLite store', () => {
  test("an application's database (even with its own meta table) is STORE_FOREIGN; nothing written", async () => {
    const path = appDb('app.db');
    await assert.rejects(openSqliteStore(path), (e) => isEvidentError(e, 'STORE_FOREIGN'));
    await assert.rejects(openLedger({ db: path }), (e) => isEvidentError(e, 'STORE_FOREIGN'));
    await assert.rejects(openSqliteStore(path, { readonly: true }), (e) =>
      isEvidentError(e, 'STORE_FOREIGN'),
    );
    assert.deepEqual(tables(path), ['meta', 'orders']);
  });

  test('allowForeign: true adds evident beside them, and the file then opens as a store', async () => {
    const path = join(dir, 'beside.db');
    const db = new Database(path);
    db.exec('CREATE TABLE orders (id INTEGER)');
    db.close();
    // openLedger passes the option on: past the store, what is missing is the log
    await assert.rejects(openLedger({ db: path, allowForeign: true }), (e) => isEvidentError(e, 'NOT_FOUND'));
    assert.ok(tables(path).includes('entries') && tables(path).includes('orders'));
    await (await openSqliteStore(path, { create: false })).close();
  });

  test('create: false on an empty or missing file is STORE_NOT_INITIALIZED, and creates nothing', async () => {
    const empty = join(dir, 'empty.db');
    writeFileSync(empty, '');
    await assert.rejects(openSqliteStore(empty, { create: false }), (e) =>
      isEvidentError(e, 'STORE_NOT_INITIALIZED'),
    );
    assert.deepEqual(tables(empty), []);
    await assert.rejects(openSqliteStore(join(dir, 'missing.db'), { create: false }), (e) =>
      isEvidentError(e, 'STORE_NOT_INITIALIZED'),
    );
  });
});
