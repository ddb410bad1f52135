/**
 * evident doctor on PostgreSQL: the append-only check passes with the service role's grants as
 * roles.ts gives them, and fails (exit 2) once that role may UPDATE the entries.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ensureBuilt, event, lines, removeTempDirs, run, tempDir } from '../cli/helpers.ts';
import { withSchema } from '../server/cluster.ts';
import {
  admin,
  createServiceRole,
  dropSchema,
  PG_URL,
  randomName,
  withPostgres,
} from '../store/pg-support.ts';

interface Doctor {
  checks: { id: string; status: string; reason: string }[];
}
const check = (stdout: string, id: string) => (JSON.parse(stdout) as Doctor).checks.find((c) => c.id === id)!;

await withPostgres('evident doctor on PostgreSQL', () => {
  describe('evident doctor on PostgreSQL', () => {
    const schema = randomName('ev_doctor_');
    const role = randomName('ev_svc_');
    const owner = withSchema(PG_URL, schema);
    let dir: string;

    before(async () => {
      ensureBuilt();
      dir = tempDir();
      const init = await run(['init', '--db', owner, '--origin', 'pg.example/default'], { cwd: dir });
      assert.equal(init.code, 0, init.stderr);
      await run(['append', '--db', owner], { cwd: dir, input: lines([event(1)]) });
      await createServiceRole(schema, role);
    });
    after(async () => {
      await dropSchema(schema);
      await admin((c) => c.query(`DROP ROLE IF EXISTS "${role}"`));
      removeTempDirs();
    });

    it("passes append-only with the service role's grants, fails when it may update entries", async () => {
      const ok = await run(['doctor', '--db', owner, '--json'], { cwd: dir });
      assert.equal(check(ok.stdout, 'append-only').status, 'pass', ok.stdout + ok.stderr);
      await admin((c) => c.query(`GRANT UPDATE ON "${schema}".entries TO "${role}"`));
      const bad = await run(['doctor', '--db', owner, '--json'], { cwd: dir });
      assert.equal(bad.code, 2);
      const c = check(bad.stdout, 'append-only');
      assert.equal(c.status, 'fail');
      assert.match(c.reason, /entries/);
    });
  });
});
