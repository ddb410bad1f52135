/**
 * Durable append throughput through the Ledger, SQLite against PostgreSQL, in one run: C
 * callers each awaiting their append before the next (bench/ingest.ts's shape). Not a test:
 *
 *   node --import tsx bench/store-append.ts [events] [concurrency]
 *
 * PostgreSQL is EVIDENT_TEST_PG (a throwaway schema, dropped after).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateSigner } from '../src/core/note-keys.ts';
import { Ledger } from '../src/ledger/ledger.ts';
import { createLog } from '../src/ledger/open.ts';
import { openPostgresStore } from '../src/store/postgres/store.ts';
import { openSqliteStore } from '../src/store/sqlite/store.ts';
import type { Store } from '../src/store/types.ts';
import { dropSchema, PG_URL, randomName } from '../test/store/pg-support.ts';
import { drive } from './ingest.ts';
import { percentile, sampleEvent } from './support.ts';

const events = Number(process.argv[2] ?? 20_000);
const concurrency = Number(process.argv[3] ?? 64);

async function run(name: string, store: Store): Promise<void> {
  const { signer } = generateSigner('bench.local/default');
  await createLog(store, { name: 'default', origin: signer.name, signer });
  const ledger = await Ledger.open({ store, signer });
  const r = await drive(name, concurrency, events, (i) => ledger.append(sampleEvent(i)));
  const verifyStart = performance.now();
  const report = await ledger.verify();
  const verifySeconds = (performance.now() - verifyStart) / 1000;
  await ledger.close();
  console.log(
    `${name.padEnd(10)} ${events} events, c=${concurrency}: ${Math.round(events / r.seconds)} events/s, ` +
      `p50 ${percentile(r.latencies, 50).toFixed(1)} ms, p99 ${percentile(r.latencies, 99).toFixed(1)} ms; ` +
      `verify ${report.ok ? 'ok' : 'FAILED'} in ${verifySeconds.toFixed(2)} s`,
  );
}

const dir = mkdtempSync(join(tmpdir(), 'evident-throughput-'));
try {
  await run('SQLite', await openSqliteStore(join(dir, 'bench.db')));
} finally {
  rmSync(dir, { recursive: true, force: true });
}
const schema = randomName('evident_bench_');
try {
  await run('PostgreSQL', await openPostgresStore(PG_URL, { schema }));
} finally {
  await dropSchema(schema);
}
