/**
 * The one store contract suite (contract.ts), run against SQLite (a temp file) and PostgreSQL
 * (a throwaway schema on EVIDENT_TEST_PG, dropped at the end; skipped when no server answers,
 * except in CI).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openPostgresStore } from '../../src/store/postgres/store.ts';
import { openSqliteStore } from '../../src/store/sqlite/store.ts';
import { storeContract } from './contract.ts';
import { dropSchema, PG_URL, postgresUnreachable, probePostgres, randomName } from './pg-support.ts';

storeContract('SQLite', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'evident-store-'));
  const path = join(dir, 'contract.db');
  return {
    open: () => openSqliteStore(path),
    dispose: async () => rmSync(dir, { recursive: true, force: true }),
  };
});

const unreachable = await probePostgres();
if (unreachable === undefined) {
  storeContract('PostgreSQL', async () => {
    const schema = randomName('evident_contract_');
    return {
      open: () => openPostgresStore(PG_URL, { schema }),
      dispose: () => dropSchema(schema),
    };
  });
} else {
  postgresUnreachable('store contract: PostgreSQL', unreachable);
}
