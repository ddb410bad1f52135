/**
 * No secret printed: a PostgreSQL URL's password never reaches stdout, stderr or the server's
 * logs (src/core/redact.ts). Real PostgreSQL (trust authentication accepts any password).
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import { dropSchema, PG_URL, randomName, withPostgres } from '../store/pg-support.ts';
import { BIN, ensureBuilt, removeTempDirs, run, tempDir } from './helpers.ts';

const SECRET = 'Sup3r-s3cret-pw';

/** PG_URL with a password, and evident's schema parameter. */
function withPassword(url: string, schema: string): string {
  const u = new URL(url);
  if (u.username === '') u.username = 'postgres';
  u.password = SECRET;
  u.searchParams.set('schema', schema);
  return u.toString();
}

await withPostgres('secrets: PostgreSQL URLs are printed redacted', () => {
  describe('secrets: PostgreSQL URLs are printed redacted', () => {
    const schema = randomName('evident_secrets_');
    const db = withPassword(PG_URL, schema);
    before(ensureBuilt);
    after(async () => {
      removeTempDirs();
      await dropSchema(schema);
    });

    it('init prints the URL without its password (text and --json)', async () => {
      const dir = tempDir();
      const r = await run(['init', '--db', db, '--origin', 'test.example/default', '--json'], { cwd: dir });
      assert.equal(r.code, 0, r.stderr);
      assert.ok(!`${r.stdout}${r.stderr}`.includes(SECRET), r.stdout);
      assert.match(JSON.parse(r.stdout).db as string, /:\*\*\*@/);
      const again = await run(['init', '--db', db, '--log', 'second', '--origin', 'test.example/second'], {
        cwd: dir,
      });
      assert.equal(again.code, 0, again.stderr);
      assert.ok(!`${again.stdout}${again.stderr}`.includes(SECRET), again.stdout);
      const dup = await run(['init', '--db', db, '--origin', 'test.example/default'], { cwd: dir });
      assert.equal(dup.code, 2);
      assert.ok(!dup.stderr.includes(SECRET), dup.stderr);
      const append = await run(['append', '--db', db], {
        cwd: dir,
        input:
          '{"actor_id":"a","actor_type":"system","action":"x","resource_type":"r","resource_id":"1","result":"success"}',
      });
      assert.equal(append.code, 0, append.stderr);
      assert.ok(!`${append.stdout}${append.stderr}`.includes(SECRET), append.stderr);
    });

    it('a database that cannot be reached: the error names the URL without its password', async () => {
      const u = new URL(db);
      u.port = '1';
      for (const json of [[], ['--json']]) {
        const r = await run(['query', '--db', u.toString(), ...json], { cwd: tempDir() });
        assert.equal(r.code, 2, r.stderr);
        assert.ok(!r.stderr.includes(SECRET), r.stderr);
      }
    });

    it('a URL that is not valid: the error quotes it without its password', async () => {
      const bad = db.replace('/test', ':99999999/test');
      const r = await run(['query', '--db', bad, '--json'], { cwd: tempDir() });
      assert.equal(r.code, 2, r.stderr);
      assert.ok(!r.stderr.includes(SECRET), r.stderr);
    });

    it("evident serve's logs name the database without its password", async () => {
      const dir = tempDir();
      const init = await run(['init', '--db', db, '--log', 'served', '--origin', 'test.example/served'], {
        cwd: dir,
      });
      assert.equal(init.code, 0, init.stderr);
      const child = spawn(process.execPath, [BIN, 'serve', '--db', db, '--port', '0'], {
        cwd: dir,
        env: Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('EVIDENT_'))),
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let out = '';
      child.stdout.on('data', (d) => {
        out += d;
      });
      child.stderr.on('data', (d) => {
        out += d;
      });
      const exit = new Promise<number | null>((resolve) => child.on('exit', resolve));
      const deadline = Date.now() + 15_000;
      while (!/Server listening/.test(out) && Date.now() < deadline && child.exitCode === null) {
        await new Promise((r) => setTimeout(r, 50));
      }
      assert.match(out, /Server listening/, out);
      child.kill('SIGTERM');
      assert.equal(await exit, 0, out);
      assert.ok(!out.includes(SECRET), out);
      assert.match(out, /"db":"postgres(ql)?:\/\/[^"]*:\*\*\*@/, 'the start line names the database');
    });
  });
});
