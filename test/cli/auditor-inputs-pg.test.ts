/**
 * A replaced verifier key on PostgreSQL: the service role cannot replace it (column grants),
 * the owner can, and `evident verify` run as the service role with the operator's key file
 * reports it as evidence (exit 1); the auditor's mistakes stay exit 2 on this store too.
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { parseNote, signNote } from '../../src/core/note.ts';
import { generateSigner } from '../../src/core/note-keys.ts';
import type { VerifyReport } from '../../src/core/verify/report.ts';
import { withSchema } from '../server/cluster.ts';
import {
  admin,
  createServiceRole,
  dropSchema,
  PG_URL,
  randomName,
  urlAs,
  withPostgres,
} from '../store/pg-support.ts';
import { ensureBuilt, errorOf, event, lines, removeTempDirs, run, tempDir } from './helpers.ts';

const ORIGIN = 'pg.example/default';
await withPostgres('a replaced verifier key on PostgreSQL', () => {
  describe('a replaced verifier key on PostgreSQL', () => {
    const schema = randomName('ev_keys_');
    const role = randomName('ev_svc_');
    const owner = withSchema(PG_URL, schema);
    const service = withSchema(urlAs(role), schema);
    let dir: string;
    let note: string;

    before(async () => {
      ensureBuilt();
      dir = tempDir();
      const init = await run(['init', '--db', owner, '--origin', ORIGIN, '--json'], { cwd: dir });
      assert.equal(init.code, 0, init.stderr);
      const app = await run(['append', '--db', owner], {
        cwd: dir,
        input: lines([event(1), event(2), event(3)]),
      });
      assert.equal(app.code, 0, app.stderr);
      note = (await run(['checkpoint', '--db', owner], { cwd: dir })).stdout;
      await createServiceRole(schema, role);
    });
    after(async () => {
      await dropSchema(schema);
      await admin((c) => c.query(`DROP ROLE IF EXISTS "${role}"`));
      removeTempDirs();
    });

    it("the service role cannot replace the key; the auditor's mistakes are exit 2", async () => {
      await assert.rejects(
        admin(async (c) => {
          await c.query(`SET ROLE "${role}"`);
          await c.query(`UPDATE "${schema}".logs SET vkey = 'x'`);
        }),
        (e: { code?: string }) => e.code === '42501',
      );
      const other = generateSigner('other.example/default');
      const wrongKey = await run(['verify', '--json', '--db', service, '--vkey', other.verifierKey], {
        cwd: dir,
      });
      assert.equal(wrongKey.code, 2, wrongKey.stdout);
      assert.equal(errorOf(wrongKey)['reason'], 'key-name-mismatch');
      const crlf = join(tempDir(), 'cp.txt');
      writeFileSync(crlf, note.replace(/\n/g, '\r\n'));
      const ok = await run(['verify', '--json', '--db', service, '--trusted-checkpoint', crlf], { cwd: dir });
      assert.equal(ok.code, 0, ok.stdout + ok.stderr);
    });

    it("the owner replaces it and signs every checkpoint again: exit 1 with the operator's key file", async () => {
      const attacker = generateSigner(ORIGIN);
      await admin(async (c) => {
        await c.query(`ALTER TABLE "${schema}".logs DISABLE TRIGGER USER`);
        await c.query(`ALTER TABLE "${schema}".checkpoints DISABLE TRIGGER USER`);
        await c.query(`UPDATE "${schema}".logs SET vkey = $1`, [attacker.verifierKey]);
        const rows = await c.query(`SELECT log_id, size, note FROM "${schema}".checkpoints`);
        for (const r of rows.rows as { log_id: number; size: number; note: string }[]) {
          await c.query(`UPDATE "${schema}".checkpoints SET note = $1 WHERE log_id = $2 AND size = $3`, [
            signNote(parseNote(r.note).text, [attacker.signer]),
            r.log_id,
            r.size,
          ]);
        }
      });
      const r = await run(['verify', '--json', '--db', service], { cwd: dir });
      assert.equal(r.code, 1, r.stdout + r.stderr);
      const kinds = (JSON.parse(r.stdout) as VerifyReport).faults.map((f) => f.kind);
      assert.ok(kinds.includes('checkpoint_signature_invalid'), kinds.join());
      assert.ok(kinds.includes('verifier_key_replaced'), kinds.join());
    });
  });
});
